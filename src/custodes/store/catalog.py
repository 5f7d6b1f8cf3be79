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

from custodes.errors import StoreError

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
    committed_at  TEXT,
    leaf_first    INTEGER,  -- the ledger leaves of the events it stored, in _rec order
    leaf_count    INTEGER,
    batch_leaf    INTEGER   -- the leaf of the batch itself (a system event)
);
CREATE INDEX IF NOT EXISTS batches_by_table ON batches(table_name, status);
-- The ledger's committed size: a leaf is in the log once a transaction that covers it commits.
CREATE TABLE IF NOT EXISTS ledger (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    size   INTEGER NOT NULL,
    origin TEXT,            -- the log's name and verifier key, fixed by its first checkpoint
    vkey   TEXT
);
INSERT OR IGNORE INTO ledger(id, size) VALUES (1, 0);
-- The system's own actions, one leaf each, with their opening (salt and canonical encoding).
CREATE TABLE IF NOT EXISTS system_events (
    leaf_index  INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    salt        BLOB,   -- NULL once erased
    encoding    BLOB
);
-- Lawful erasures: the erased leaf and the tombstone leaf that records who, why and when.
CREATE TABLE IF NOT EXISTS erasures (
    leaf_index     INTEGER PRIMARY KEY,
    event_id       TEXT,
    tombstone_leaf INTEGER NOT NULL UNIQUE
);
-- Every checkpoint the log issued, as issued (signed note text).
CREATE TABLE IF NOT EXISTS checkpoints (
    seq       INTEGER PRIMARY KEY,
    size      INTEGER NOT NULL,
    root      BLOB NOT NULL,
    note      TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
-- Witnesses' cosignatures on those checkpoints, each checked against the witness's key before
-- it is kept (custodes ledger cosigned). The first of one witness key on one checkpoint is kept.
CREATE TABLE IF NOT EXISTS cosignatures (
    seq         INTEGER NOT NULL REFERENCES checkpoints(seq),
    witness     TEXT NOT NULL,  -- the witness's key name
    key_id      TEXT NOT NULL,  -- its cosignature/v1 key ID, 8 hex digits
    signature   TEXT NOT NULL,  -- the cosignature line, as the witness sent it
    vkey        TEXT NOT NULL,  -- the witness's verifier key it was checked with
    cosigned_at TEXT NOT NULL,  -- the time the cosignature states
    received_at TEXT NOT NULL,
    PRIMARY KEY (seq, witness, key_id)
);
"""


@dataclass(frozen=True)
class SystemEvent:
    """One action of the system itself (an ingest batch, an erasure, ...): one ledger leaf."""

    leaf_index: int
    kind: str
    recorded_at: str
    salt: bytes | None  # None once erased
    encoding: bytes | None


@dataclass(frozen=True)
class LeafSpan:
    first: int
    count: int


@dataclass(frozen=True)
class EventSpan:
    """The ledger leaves of one committed batch of access events (in ``_rec`` order)."""

    batch_id: int
    leaf_first: int
    leaf_count: int
    first_record: int
    last_record: int
    files: list[str]


@dataclass(frozen=True)
class Erasure:
    leaf_index: int
    event_id: str | None
    tombstone_leaf: int


@dataclass(frozen=True)
class IssuedCheckpoint:
    seq: int
    size: int
    root: bytes
    note: str
    issued_at: str


@dataclass(frozen=True)
class KeptCosignature:
    """A witness's cosignature on an issued checkpoint, as kept (see ``cosignatures``)."""

    seq: int  # the checkpoint it signs
    checkpoint_size: int
    witness: str
    key_id: str
    signature: str  # the cosignature line
    vkey: str
    cosigned_at: str
    received_at: str


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
        # check_same_thread=False: a kept-open appender (:class:`~custodes.store.store.
        # KeptAppender`) is used by whichever request thread writes next; its users take turns.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
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

    def commit_batch(
        self,
        batch_id: int,
        counts: Counts,
        files: list[str],
        leaves: LeafSpan,
        record: SystemEvent,
    ) -> None:
        """Commit a batch and its ledger leaves (its events', then its own) in one
        transaction: the batch is stored exactly when its leaves are in the log."""
        with self.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'committed', rows_read = ?, rows_stored = ?, "
                "rows_quarantined = ?, rows_duplicate = ?, files = ?, committed_at = ?, "
                "leaf_first = ?, leaf_count = ?, batch_leaf = ? "
                "WHERE batch_id = ? AND status = 'open'",
                (
                    counts.read,
                    counts.stored,
                    counts.quarantined,
                    counts.duplicates,
                    json.dumps(files),
                    record.recorded_at,
                    leaves.first,
                    leaves.count,
                    record.leaf_index,
                    batch_id,
                ),
            )
            if record.leaf_index != leaves.first + leaves.count:
                raise StoreError(f"batch {batch_id}: its own leaf must follow its events' leaves")
            self._add_system_event(db, record, first=leaves.first)

    # the ledger -------------------------------------------------------------------------------
    def ledger_size(self) -> int:
        row = self.db.execute("SELECT size FROM ledger WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def _add_system_event(
        self, db: sqlite3.Connection, record: SystemEvent, first: int | None = None
    ) -> None:
        """Insert a system event and extend the committed size to just past it; the new
        leaves (``first`` up to it) must start where the committed ones end."""
        size = int(db.execute("SELECT size FROM ledger WHERE id = 1").fetchone()[0])
        start = record.leaf_index if first is None else first
        if start != size:
            raise StoreError(f"ledger leaf {start} is not next: the committed size is {size}")
        db.execute(
            "INSERT INTO system_events(leaf_index, kind, recorded_at, salt, encoding) "
            "VALUES (?, ?, ?, ?, ?)",
            (record.leaf_index, record.kind, record.recorded_at, record.salt, record.encoding),
        )
        db.execute("UPDATE ledger SET size = ? WHERE id = 1", (record.leaf_index + 1,))

    def add_system_event(self, record: SystemEvent) -> None:
        self.add_system_events([record])

    def add_system_events(self, records: list[SystemEvent]) -> None:
        """Commit system events (whose leaves are already synced) in one transaction."""
        with self.transaction() as db:
            for record in records:
                self._add_system_event(db, record)

    def system_events(self, first: int = 0, end: int | None = None) -> list[SystemEvent]:
        rows = self.db.execute(
            "SELECT leaf_index, kind, recorded_at, salt, encoding FROM system_events "
            "WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
            (first, end if end is not None else 2**63 - 1),
        ).fetchall()
        return [SystemEvent(int(i), k, t, s, e) for i, k, t, s, e in rows]

    def event_spans(self) -> list[EventSpan]:
        """The leaves of every committed batch of access events, in leaf order."""
        rows = self.db.execute(
            "SELECT batch_id, leaf_first, leaf_count, first_record, last_record, files "
            "FROM batches WHERE status = 'committed' AND leaf_count > 0 ORDER BY leaf_first"
        ).fetchall()
        return [
            EventSpan(
                int(b),
                int(f),
                int(c),
                int(r1),
                int(r2),
                # its event files (the batch's quarantine file is listed with them)
                [p for p in json.loads(files or "[]") if p.startswith("access_events/")],
            )
            for b, f, c, r1, r2, files in rows
        ]

    def log_identity(self) -> tuple[str, str] | None:
        row = self.db.execute("SELECT origin, vkey FROM ledger WHERE id = 1").fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def add_checkpoint(self, size: int, root: bytes, note: str, origin: str, vkey: str) -> int:
        """Keep an issued checkpoint; the first one fixes the log's name and key."""
        with self.transaction() as db:
            known = db.execute("SELECT origin, vkey FROM ledger WHERE id = 1").fetchone()
            if known[0] is None:
                db.execute("UPDATE ledger SET origin = ?, vkey = ? WHERE id = 1", (origin, vkey))
            elif (known[0], known[1]) != (origin, vkey):
                raise StoreError(
                    f"this log signs as {known[1]}; a checkpoint by another key "
                    "would not verify for anyone holding that key"
                )
            cursor = db.execute(
                "INSERT INTO checkpoints(size, root, note, issued_at) VALUES (?, ?, ?, ?)",
                (size, root, note, now()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def checkpoints(self) -> list[IssuedCheckpoint]:
        rows = self.db.execute(
            "SELECT seq, size, root, note, issued_at FROM checkpoints ORDER BY seq"
        ).fetchall()
        return [IssuedCheckpoint(int(q), int(n), r, note, t) for q, n, r, note, t in rows]

    def add_cosignatures(self, kept: list[KeptCosignature]) -> list[bool]:
        """Keep checked cosignatures in one transaction; for each, whether it is new (a
        witness key's later cosignature of a checkpoint already cosigned is not kept)."""
        added = []
        with self.transaction() as db:
            for c in kept:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO cosignatures(seq, witness, key_id, signature, vkey, "
                    "cosigned_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (c.seq, c.witness, c.key_id, c.signature, c.vkey, c.cosigned_at, c.received_at),
                )
                added.append(cursor.rowcount == 1)
        return added

    def cosignatures(
        self, seq: int | None = None, *, latest_per_witness: bool = False
    ) -> list[KeptCosignature]:
        """Kept cosignatures, newest checkpoint first: of checkpoint ``seq`` only, or only each
        witness key's newest (what each witness has vouched for most recently)."""
        newest = (
            "AND c.seq = (SELECT max(seq) FROM cosignatures n "
            "WHERE n.witness = c.witness AND n.key_id = c.key_id)"
            if latest_per_witness
            else ""
        )
        rows = self.db.execute(
            "SELECT c.seq, k.size, c.witness, c.key_id, c.signature, c.vkey, c.cosigned_at, "
            "c.received_at FROM cosignatures c JOIN checkpoints k USING (seq) "
            f"WHERE (? IS NULL OR c.seq = ?) {newest} "
            "ORDER BY c.seq DESC, c.cosigned_at, c.witness, c.key_id",
            (seq, seq),
        ).fetchall()
        return [
            KeptCosignature(int(q), int(n), w, k, sig, vkey, at, got)
            for q, n, w, k, sig, vkey, at, got in rows
        ]

    def erasures(self) -> dict[int, Erasure]:
        rows = self.db.execute(
            "SELECT leaf_index, event_id, tombstone_leaf FROM erasures"
        ).fetchall()
        return {int(i): Erasure(int(i), e, int(t)) for i, e, t in rows}

    def commit_erasure(
        self, erasure: Erasure, tombstone: SystemEvent, batch_id: int, old: str, new: str
    ) -> None:
        """Record an erasure and its tombstone leaf, and list the batch's rewritten file
        ``new`` in place of ``old``, in one transaction."""
        with self.transaction() as db:
            self._add_system_event(db, tombstone)
            db.execute(
                "INSERT INTO erasures(leaf_index, event_id, tombstone_leaf) VALUES (?, ?, ?)",
                (erasure.leaf_index, erasure.event_id, erasure.tombstone_leaf),
            )
            (files,) = db.execute(
                "SELECT files FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
            listed = [new if f == old else f for f in json.loads(files)]
            db.execute(
                "UPDATE batches SET files = ? WHERE batch_id = ?", (json.dumps(listed), batch_id)
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

    def committed_files(self, as_of: int | None = None) -> list[str]:
        """Every file of every committed batch, relative to ``store/``, in batch order; with
        ``as_of``, only the batches already in a ledger of that many leaves."""
        rows = self.db.execute(
            "SELECT files FROM batches WHERE status = 'committed' "
            "AND (? IS NULL OR batch_leaf < ?) ORDER BY batch_id",
            (as_of, as_of),
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

    def committed_batch_ids(self) -> dict[str, list[int]]:
        """The committed batches of each table, in order: what a derived result was made from."""
        found: dict[str, list[int]] = {}
        for table, batch_id in self.db.execute(
            "SELECT table_name, batch_id FROM batches WHERE status = 'committed' ORDER BY batch_id"
        ).fetchall():
            found.setdefault(str(table), []).append(int(batch_id))
        return found

    def committed_batch_count(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT table_name, count(*) FROM batches WHERE status = 'committed' GROUP BY 1"
        ).fetchall()
        return dict(rows)
