"""The pandas benchmark of the explanation step (bench/explain_pandas.py) explains a small force
exactly as custodes does, event by event, and says so in its report."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "explain_pandas.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("explain_pandas_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def explained_force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A force with plenty of misuse (leavers, unknown recipients, fishing searches), so that
    every kind of path and most templates are met; explained by custodes."""
    from custodes.explain import explain_store
    from custodes.store import ingest, open_store
    from custodes.synth import generate

    root = tmp_path_factory.mktemp("explain-pandas")
    generate(root / "bundle", workforce=120, days=4, seed=11, misuse_scale=10)
    ingest(root / "bundle", root / "home")
    with open_store(root / "home") as store:
        explain_store(store)
    return root / "home"


def test_pandas_explains_every_event_as_custodes_does(explained_force: Path) -> None:
    ours = bench.explain(bench.load(explained_force))
    theirs, current = bench.custodes_result(explained_force)
    agreement = bench.compare(ours, theirs)

    assert current
    assert agreement["events"] == len(theirs)
    assert agreement["template_differs"] == 0
    assert agreement["same_template_other_detail"] == 0
    assert agreement["weak_explanation_differs"] == 0
    met = [name for name, n in agreement["by_template"].items() if n["custodes"] > 0]
    assert len(met) >= 8, met  # the agreement covers most templates, unexplained included
    assert theirs["weak_explanation"].notna().any()


def test_slicing_the_people_changes_nothing(explained_force: Path) -> None:
    tables = bench.load(explained_force)
    whole = bench.explain(tables).sort_values("event_id", ignore_index=True)
    sliced = bench.explain(tables, chunks=3).sort_values("event_id", ignore_index=True)
    pd.testing.assert_frame_equal(whole, sliced)


def test_the_script_reports_timings_and_agreement_as_json(explained_force: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--home", str(explained_force), "--chunks", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)

    assert report["chunks"] == 2
    assert report["agreement"]["template_differs"] == 0
    assert report["pandas"]["peak_rss_gb"] > 0
    assert {"load", "looks", "rank 1: named_operation", "result"} <= set(report["pandas"]["stages"])


def test_running_past_the_memory_limit_is_reported(explained_force: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--home", str(explained_force), "--memory-limit-gb", "0.01"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)

    assert report["error"] == "stopped: passed the memory limit of 0.01 GB"
    assert report["stage"] == "starting"  # the stage it had reached: here, still importing
