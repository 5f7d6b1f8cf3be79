"""One logic, two engines: explanation and detection give identical results on DuckDB (the
embedded default) and on PySpark (local mode here; a cluster in production)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from custodes.detect import detect_home, export_alerts
from custodes.store import ingest
from custodes.synth import generate

pytestmark = [
    pytest.mark.slow,
    # py4j (PySpark's bridge to the JVM) leaves its sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


def test_detection_is_identical_on_duckdb_and_spark(tmp_path: Path) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    bundle, home = tmp_path / "bundle", tmp_path / "home"
    generate(bundle, workforce=200, days=2, seed=77)
    ingest(bundle, home)
    explanations = home / "derived" / "explain" / "explanations.parquet"

    on_duckdb = detect_home(home)
    duckdb_explanations = pq.read_table(explanations)
    duckdb_alerts = export_alerts(home, "csv")

    # everything again on Spark, linkage (Splink's Spark backend) included
    on_spark = detect_home(home, engine="spark", full=True, relink=True)
    assert on_spark.relinked
    assert pq.read_table(explanations).equals(duckdb_explanations)
    assert same_alerts(export_alerts(home, "csv"), duckdb_alerts)
    assert on_spark.to_dict()["by_rule"] == on_duckdb.to_dict()["by_rule"]
    assert on_duckdb.alerts > 0 and on_duckdb.explained > 0.9 * on_duckdb.events


WEIGHT = re.compile(r"weight (-?[0-9]+(?:\.[0-9]+)?)")


def same_alerts(these: str, those: str) -> bool:
    """The same alerts, field for field, but for the linkage's match weights quoted in the
    evidence, which may differ in the first decimal: Splink estimates its u probabilities
    from a seeded random sample of pairs, and each engine draws its own sample."""
    assert WEIGHT.sub("weight W", these) == WEIGHT.sub("weight W", those)
    ours, theirs = WEIGHT.findall(these), WEIGHT.findall(those)
    assert len(ours) == len(theirs) and ours, "the force has relationship alerts with weights"
    differences = [abs(float(a) - float(b)) for a, b in zip(ours, theirs, strict=True)]
    assert max(differences) <= 0.5, differences
    return True
