"""A real ingest process killed with SIGKILL at random moments: after recovery the store holds
exactly the rows of whole committed batches, and running the ingest again completes it, with
nothing lost and nothing twice. The ledger holds exactly the committed events and batches, and
its full audit passes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custodes.store import LeafPool, audit, open_store
from custodes.store.store import writer
from tests.conftest import EVENTS_HEADER, rows

EVENTS = 12_000
BATCH = 500
TRIALS = int(os.environ.get("KILL_TRIALS", "20"))


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


def _committed_batches(home: Path) -> int:
    catalog = home / "catalog.sqlite"
    if not catalog.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)
        try:
            row = db.execute("SELECT count(*) FROM batches WHERE status = 'committed'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def _kill_at_random_point(bundle: Path, home: Path, chance: random.Random) -> int:
    """Start an ingest and SIGKILL it once a random number of batches is committed, after a
    further random delay; return its exit code (-9 if the kill landed)."""
    process = subprocess.Popen(
        _command(bundle, home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wanted = chance.randrange(0, EVENTS // BATCH)
    deadline = time.monotonic() + 120
    while _committed_batches(home) < wanted and process.poll() is None:
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.002)
    time.sleep(chance.uniform(0.0, 0.15))
    process.send_signal(signal.SIGKILL)
    return process.wait()


def _files_on_disk(home: Path) -> set[str]:
    store = home / "store"
    return {p.relative_to(store).as_posix() for p in store.rglob("*.parquet")}


def _files_in_catalog(home: Path) -> set[str]:
    with writer(home) as store:
        return set(store.catalog.committed_files())


def _assert_the_ledger_holds_exactly_the_store(home: Path, events: int) -> None:
    """One leaf per stored event and per committed batch, nothing else; every leaf checks."""
    with open_store(home) as store, LeafPool() as pool:
        batches = sum(store.catalog.committed_batch_count().values())
        assert store.catalog.ledger_size() == events + batches
        report = audit(store, pool)
    assert report.ok, report.first_bad
    assert (report.events, report.system_events) == (events, batches)


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    _write_bundle(bundle)
    expected = {f"E{i}" for i in range(1, EVENTS + 1) if not _is_bad(i)}
    bad = EVENTS - len(expected)

    chance = random.Random(int(os.environ.get("KILL_SEED", "2026")))
    landed = 0
    for trial in range(TRIALS * 2):
        if landed == TRIALS:
            break
        home = tmp_path / f"home{trial}"
        if _kill_at_random_point(bundle, home, chance) == -signal.SIGKILL:
            landed += 1
            if (home / "catalog.sqlite").exists():
                ids = [event_id for (event_id,) in rows(home, "SELECT event_id FROM access_events")]
                assert len(ids) == len(set(ids)), "an event stored twice"
                assert set(ids) == _committed_ids(home), "store is not a set of whole batches"
        _run_to_end(bundle, home)
        ids = [event_id for (event_id,) in rows(home, "SELECT event_id FROM access_events")]
        assert len(ids) == len(expected), f"trial {trial}: {len(ids)} events stored"
        assert set(ids) == expected
        assert rows(home, "SELECT count(*) FROM quarantine") == [(bad,)]
        assert not any((home / ".pending").iterdir())
        assert _files_on_disk(home) == _files_in_catalog(home), "files of an aborted batch left"
        _assert_the_ledger_holds_exactly_the_store(home, len(expected))
    assert landed == TRIALS, f"only {landed} kills landed during an ingest"
