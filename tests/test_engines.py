"""One logic, two engines: explanation and detection give identical results on DuckDB (the
embedded default) and on PySpark (local mode here; a cluster in production)."""

from __future__ import annotations

import os
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

    on_spark = detect_home(home, engine="spark", full=True)  # everything again, on Spark
    assert pq.read_table(explanations).equals(duckdb_explanations)
    assert export_alerts(home, "csv") == duckdb_alerts
    assert on_spark.to_dict()["by_rule"] == on_duckdb.to_dict()["by_rule"]
    assert on_duckdb.alerts > 0 and on_duckdb.explained > 0.9 * on_duckdb.events
