"""A real ingest process killed with SIGKILL at random moments: after recovery the store holds
exactly the rows of whole committed batches, and running the ingest again completes it, with
nothing lost and nothing twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custodes.store.store import writer
from tests.conftest import EVENTS_HEADER, rows

EVENTS = 12_000
BATCH = 500
TRIALS = 20


def _is_bad(i: int) -> bool:
    return i % 97 == 0


def _write_bundle(bundle: Path) -> None:
    bundle.mkdir()
    lines = [EVENTS_HEADER]
    for i in range(1, EVENTS + 1):
        ts = "not-a-time" if _is_bad(i) else f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
        lines.append(f"E{i},{ts},P{i % 300},consult,PNC,S{i % 5000},\n")
    (bundle / "access_events.csv").write_text("".join(lines))


def _command(bundle: Path, home: Path) -> list[str]:
    command = [sys.executable, "-m", "custodes", "ingest", str(bundle), "--home", str(home)]
    return [*command, "--batch-rows", str(BATCH), "--quiet"]


def _run_to_end(bundle: Path, home: Path) -> None:
    done = subprocess.run(_command(bundle, home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _committed_ids(home: Path) -> set[str]:
    """Event ids the committed batches hold, from the catalog's record ranges."""
    with writer(home) as store:  # opening as a writer runs crash recovery
        ranges = store.catalog.db.execute(
            "SELECT first_record, last_record FROM batches WHERE status = 'committed'"
        ).fetchall()
    return {f"E{i}" for first, last in ranges for i in range(first, last + 1) if not _is_bad(i)}


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    _write_bundle(bundle)
    started = time.monotonic()
    _run_to_end(bundle, tmp_path / "timing")
    duration = time.monotonic() - started
    expected = {f"E{i}" for i in range(1, EVENTS + 1) if not _is_bad(i)}
    bad = EVENTS - len(expected)

    chance = random.Random(2026)
    killed_mid_way = 0
    for trial in range(TRIALS):
        home = tmp_path / f"home{trial}"
        process = subprocess.Popen(
            _command(bundle, home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(chance.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.returncode == -signal.SIGKILL and (home / "catalog.sqlite").exists():
            killed_mid_way += 1
            stored = rows(home, "SELECT event_id FROM access_events")
            ids = [event_id for (event_id,) in stored]
            assert len(ids) == len(set(ids)), "an event stored twice"
            assert set(ids) == _committed_ids(home), "store is not a set of whole batches"
        _run_to_end(bundle, home)
        ids = [event_id for (event_id,) in rows(home, "SELECT event_id FROM access_events")]
        assert len(ids) == len(expected), f"trial {trial}: {len(ids)} events stored"
        assert set(ids) == expected
        assert rows(home, "SELECT count(*) FROM quarantine") == [(bad,)]
        assert not any((home / ".pending").iterdir())
    assert killed_mid_way >= TRIALS // 2, "too few kills landed during the ingest"
