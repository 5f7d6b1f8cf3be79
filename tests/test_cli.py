"""The command line as a user meets it: tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from custodes.cli import app
from tests.conftest import EVENTS, UNITS, WORKFORCE, BundleFactory

runner = CliRunner()


def test_ingest_prints_the_reconciliation(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS)
    result = runner.invoke(app, ["ingest", str(bundle), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "rows read = stored + quarantined + duplicates" in result.output
    assert "access_events" in result.output
    assert "total" in result.output


def test_ingest_json_is_the_reconciliation(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(access_events=EVENTS + "E9,bad-time,P1,consult,PNC,S1,\n")
    result = runner.invoke(app, ["ingest", str(bundle), "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["balanced"] is True
    [events] = report["files"]
    assert (events["read"], events["stored"], events["quarantined"]) == (4, 3, 1)
    assert len(events["sha256"]) == 64


def test_quiet_prints_nothing(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(access_events=EVENTS)
    result = runner.invoke(app, ["ingest", str(bundle), "--home", str(home), "--quiet"])
    assert result.exit_code == 0
    assert result.stdout == ""


def test_status_shows_tables_ranges_and_the_last_reconciliation(
    make_bundle: BundleFactory, home: Path
) -> None:
    runner.invoke(app, ["ingest", str(make_bundle(access_events=EVENTS)), "--home", str(home)])
    result = runner.invoke(app, ["status", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    events = next(t for t in status["tables"] if t["table"] == "access_events")
    assert events["rows"] == 3
    assert events["first"].startswith("2026-01-05 08:00:00")
    assert events["last"].startswith("2026-02-01 09:00:00")
    assert status["last_ingest"]["status"] == "complete"
    assert status["last_ingest"]["report"]["total"]["read"] == 3
    text = runner.invoke(app, ["status", "--home", str(home)])
    assert "access_events" in text.output
    assert "last ingest" in text.output


def test_quarantine_lists_rows_with_reasons(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(access_events=EVENTS + "E9,bad-time,P1,consult,PNC,S1,\n")
    runner.invoke(app, ["ingest", str(bundle), "--home", str(home), "--quiet"])
    result = runner.invoke(app, ["quarantine", "--home", str(home), "--json"])
    [row] = json.loads(result.stdout)
    assert row["line"] == 5
    assert row["column"] == "ts"
    assert "is not an ISO 8601 timestamp" in row["reason"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "custodes", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_wrong_header_is_one_line_and_no_traceback(
    make_bundle: BundleFactory, home: Path
) -> None:
    bundle = make_bundle(access_events="id,when\nE1,2026-01-05T08:00:00Z\n")
    result = _run("ingest", str(bundle), "--home", str(home))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "access_events.csv: wrong header" in line


def test_a_missing_bundle_is_one_line(tmp_path: Path, home: Path) -> None:
    result = _run("ingest", str(tmp_path / "nowhere"), "--home", str(home))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no such bundle directory" in result.stderr


def test_status_of_a_home_without_a_store(tmp_path: Path) -> None:
    result = _run("status", "--home", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "no Custodes store here" in result.stderr
    assert "Traceback" not in result.stderr
