"""The store's catalog: which batches were committed, from which files, with which counts.

SQLite (standard library) rather than a DuckDB file: it is transactional, survives SIGKILL, and
lets many processes read while one writes, which a DuckDB database file does not. The data itself
lives in Parquet; DuckDB queries it in memory (:mod:`custodes.store.store`).

A batch moves ``open`` -> ``committed`` (or ``aborted`` by recovery). Its Parquet files become
visible only once it is committed, so the catalog's ``committed`` rows are the truth of what is
stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    started     TEXT NOT NULL,
    finished    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    report      TEXT
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id      INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(run_id),
    table_name    TEXT NOT NULL,
    source_file   TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    first_record  INTEGER NOT NULL,
    last_record   INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'committed', 'aborted')),
    rows_read     INTEGER,
    rows_stored   INTEGER,
    rows_quarantined INTEGER,
    rows_duplicate   INTEGER,
    files         TEXT,
    committed_at  TEXT
);
CREATE INDEX IF NOT EXISTS batches_by_table ON batches(table_name, status);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Counts:
    """The reconciliation of one file: read = stored + quarantined + duplicates, always."""

    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    new_versions: int = 0  # of ``stored``: changed reference rows kept as a new version
    unknown_person: int = 0  # of ``stored``: events by a person_id not in the workforce

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.stored += other.stored
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates
        self.new_versions += other.new_versions
        self.unknown_person += other.unknown_person

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.quarantined + self.duplicates

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["balanced"] = self.balanced
        return out


class Catalog:
    """A thin, typed face over the catalog database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch is one transaction.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # runs -----------------------------------------------------------------------------------
    def start_run(self, kind: str, source: str) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs(kind, source, started, status) VALUES (?, ?, ?, 'running')",
                (kind, source, now()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(self, run_id: int, status: str, report: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished = ?, status = ?, report = ? WHERE run_id = ?",
                (now(), status, json.dumps(report, sort_keys=True), run_id),
            )

    def last_run(self, kind: str = "ingest") -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT run_id, source, started, finished, status, report FROM runs "
            "WHERE kind = ? AND status != 'running' ORDER BY run_id DESC LIMIT 1",
            (kind,),
        ).fetchone()
        if row is None:
            return None
        run_id, source, started, finished, status, report = row
        return {
            "run_id": run_id,
            "source": source,
            "started": started,
            "finished": finished,
            "status": status,
            "report": json.loads(report) if report else None,
        }

    # batches --------------------------------------------------------------------------------
    def open_batch(
        self, run_id: int, table: str, source: Path, sha256: str, first: int, last: int
    ) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO batches(run_id, table_name, source_file, source_sha256, "
                "first_record, last_record, status) VALUES (?, ?, ?, ?, ?, ?, 'open')",
                (run_id, table, str(source), sha256, first, last),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def commit_batch(self, batch_id: int, counts: Counts, files: list[str]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'committed', rows_read = ?, rows_stored = ?, "
                "rows_quarantined = ?, rows_duplicate = ?, files = ?, committed_at = ? "
                "WHERE batch_id = ? AND status = 'open'",
                (
                    counts.read,
                    counts.stored,
                    counts.quarantined,
                    counts.duplicates,
                    json.dumps(files),
                    now(),
                    batch_id,
                ),
            )

    def batches(self, status: str) -> list[tuple[int, list[str]]]:
        rows = self.db.execute(
            "SELECT batch_id, files FROM batches WHERE status = ?", (status,)
        ).fetchall()
        return [(batch_id, json.loads(files) if files else []) for batch_id, files in rows]

    def committed_batch(self, table: str, sha256: str, first: int, last: int) -> Counts | None:
        """The counts of a committed batch of exactly these records of this file, if any."""
        row = self.db.execute(
            "SELECT rows_read, rows_stored, rows_quarantined, rows_duplicate FROM batches "
            "WHERE status = 'committed' AND table_name = ? AND source_sha256 = ? "
            "AND first_record = ? AND last_record = ? LIMIT 1",
            (table, sha256, first, last),
        ).fetchone()
        if row is None:
            return None
        read, stored, quarantined, duplicates = (int(v) for v in row)
        return Counts(read=read, stored=stored, quarantined=quarantined, duplicates=duplicates)

    def committed_files(self) -> list[str]:
        """Every file of every committed batch, relative to ``store/``, in batch order."""
        rows = self.db.execute(
            "SELECT files FROM batches WHERE status = 'committed' ORDER BY batch_id"
        ).fetchall()
        return [path for (files,) in rows if files for path in json.loads(files)]

    def abort_batch(self, batch_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'aborted' WHERE batch_id = ? AND status = 'open'",
                (batch_id,),
            )

    def abandon_running(self) -> None:
        """Mark runs left 'running' by a killed process as failed (their batches stand)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', finished = ? WHERE status = 'running'",
                (now(),),
            )

    def committed_batch_count(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT table_name, count(*) FROM batches WHERE status = 'committed' GROUP BY 1"
        ).fetchall()
        return dict(rows)
