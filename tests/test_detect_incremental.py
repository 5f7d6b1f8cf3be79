"""Detection is incremental: a day's new access events are explained without explaining
everything again, and give exactly what a full run gives; new reference data means a full run."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from custodes.detect import detect_home, export_alerts
from custodes.errors import CustodesError
from custodes.explain.run import RESULT
from custodes.store import erase_event, ingest
from custodes.synth import generate


def _split_by_day(bundle: Path, first: Path, later: Path, cut: str) -> int:
    """``first``: every reference table and the events before ``cut``; ``later``: the rest of
    the events only (what a force sends the next day). Returns how many events come later."""
    shutil.copytree(bundle, first, ignore=shutil.ignore_patterns("truth"))
    later.mkdir()
    with (bundle / "access_events.csv").open(newline="") as source:
        rows = list(csv.reader(source))
    header, body = rows[0], rows[1:]
    ts = header.index("ts")
    early, late = [r for r in body if r[ts] < cut], [r for r in body if r[ts] >= cut]
    for path, part in ((first / "access_events.csv", early), (later / "access_events.csv", late)):
        with path.open("w", newline="") as out:
            csv.writer(out).writerows([header, *part])
    return len(late)


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    root = tmp_path_factory.mktemp("incremental")
    generate(root / "bundle", workforce=120, days=4, seed=31)
    n = _split_by_day(root / "bundle", root / "first", root / "later", "2026-01-08")
    return root / "first", root / "later", n


def _explanations(home: Path) -> object:
    return pq.read_table(home / RESULT)


def test_new_events_are_explained_alone_and_match_a_full_run(
    deliveries: tuple[Path, Path, int], tmp_path: Path
) -> None:
    first, later, n_later = deliveries
    home, full = tmp_path / "home", tmp_path / "full"
    ingest(first, home)
    assert detect_home(home).explain_mode == "full"
    ingest(later, home)
    report = detect_home(home)
    assert (report.explain_mode, report.relinked) == ("incremental", False)
    assert n_later <= report.explained_now < report.events
    ingest(first, full)
    ingest(later, full)
    detect_home(full)
    assert _explanations(home).equals(_explanations(full))
    assert export_alerts(home, "csv") == export_alerts(full, "csv")
    assert detect_home(home).explain_mode == "current"


def test_new_reference_data_means_linking_and_explaining_everything_again(
    deliveries: tuple[Path, Path, int], tmp_path: Path
) -> None:
    first, later, _ = deliveries
    home = tmp_path / "home"
    ingest(first, home)
    detect_home(home)
    refreshed = tmp_path / "refreshed"
    refreshed.mkdir()
    with (first / "assignments.csv").open() as source:  # a late assignment record
        header, row = source.readline(), source.readline().split(",")
    late = [row[0], row[1], "2026-01-08T09:00:00Z", "", "late record\n"]
    (refreshed / "assignments.csv").write_text(header + ",".join(late))
    ingest(refreshed, home)
    ingest(later, home)
    report = detect_home(home)
    assert report.explain_mode == "full" and report.relinked


def test_a_lawfully_erased_event_leaves_the_kept_explanations(
    deliveries: tuple[Path, Path, int], tmp_path: Path
) -> None:
    first, _, _ = deliveries
    home = tmp_path / "home"
    ingest(first, home)
    detect_home(home)
    erased = str(_explanations(home).column("event_id")[0])  # type: ignore[attr-defined]
    erase_event(home, erased, reason="court order", erased_by="dpo")
    report = detect_home(home)
    assert report.explain_mode == "incremental"
    assert erased not in _explanations(home).column("event_id").to_pylist()  # type: ignore[attr-defined]


def test_kept_explanations_missing_an_event_are_refused_until_a_full_run(
    deliveries: tuple[Path, Path, int], tmp_path: Path
) -> None:
    """The rules read an event without a kept explanation as explained (they join the events
    to the unexplained rows only), so a kept result that lost a row must not be used."""
    first, _, _ = deliveries
    home = tmp_path / "home"
    ingest(first, home)
    detect_home(home)
    kept = _explanations(home)
    pq.write_table(kept.slice(1), home / RESULT)  # type: ignore[attr-defined]
    with pytest.raises(CustodesError, match=r"run `custodes detect --full`"):
        detect_home(home)
    assert detect_home(home, full=True).events == kept.num_rows  # type: ignore[attr-defined]
