"""The embedded store under HOME: Parquet files, a SQLite catalog, and DuckDB on top.

Layout::

    HOME/catalog.sqlite                       runs and batches (the truth of what is stored)
    HOME/store/access_events/month=YYYY-MM/_batch=N/   events, by month and batch
    HOME/store/<table>/_batch=N/              reference tables, by batch
    HOME/store/quarantine/b<batch>.parquet    rejected rows with file, line, column and reason
    HOME/ledger/tree/                         the ledger's Merkle tree (one leaf per recorded event)
    HOME/.pending/b<batch>/...                files of a batch not yet moved into store/
    HOME/.work/                               scratch space of a running ingest

A batch is written under ``.pending``, moved to its place in ``store/``, and then committed in
the catalog. Readers take the list of files from the catalog's committed batches, never from the
directories, so a batch becomes visible all at once, when it commits. A process killed at any
point leaves either a committed batch (complete) or an open one, whose files recovery deletes:
the store is as before or after a whole batch. Only one process writes at a time (an exclusive
lock on ``HOME/.lock``); recovery runs when a writer opens the store.

The ledger follows the same rule: a batch's leaves are appended to the tree and synced before
the batch commits, and the catalog records the ledger's committed size in the same transaction.
Recovery cuts the tree back to that size, so an event is in the store exactly when it is in the
log.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from custodes.bundle.contract import TABLES, Table
from custodes.bundle.validate import ident, literal, stored_type
from custodes.durable import fsync_paths
from custodes.errors import StoreError
from custodes.ledger import LedgerError, MerkleTree
from custodes.store.catalog import Catalog

QUARANTINE_COLUMNS = (
    ("_batch", "BIGINT"),
    ("table_name", "VARCHAR"),
    ("file", "VARCHAR"),
    ("file_sha256", "VARCHAR"),
    ("line", "BIGINT"),
    ("column_name", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("raw", "VARCHAR"),
)
# Columns every stored table carries beside the contract's.
# ``_rec`` is the record's number in its source file, ``_batch`` the batch that stored it (the
# catalog knows the file), ``_extra`` the columns outside the contract, as JSON.
SYSTEM_COLUMNS = (("_rec", "BIGINT"), ("_extra", "VARCHAR"), ("_batch", "BIGINT"))
DUCKDB_MEMORY_LIMIT = "1GB"


class Store:
    """An opened store. Use :func:`open_store` (reading) or :func:`writer` (ingesting)."""

    def __init__(self, home: Path, *, create: bool, as_of: int | None = None) -> None:
        self.home = home
        # As of a ledger size: the tables hold only what was stored when the ledger had that
        # many leaves (a report regenerated from the checkpoint it was computed at).
        self.as_of = as_of
        if not (home / "catalog.sqlite").exists() and not create:
            raise StoreError(
                f"{home}: no Custodes store here (run `custodes ingest BUNDLE --home {home}`)"
            )
        for sub in ("store", ".pending", ".work"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(home / "catalog.sqlite")
        self._db: duckdb.DuckDBPyConnection | None = None
        self._tree: MerkleTree | None = None

    # paths ------------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "store"

    @property
    def pending_dir(self) -> Path:
        return self.home / ".pending"

    @property
    def work_dir(self) -> Path:
        return self.home / ".work"

    def table_dir(self, name: str) -> Path:
        return self.data_dir / name

    @property
    def tree_dir(self) -> Path:
        return self.home / "ledger" / "tree"

    # the ledger's tree ------------------------------------------------------------------------
    @property
    def tree(self) -> MerkleTree:
        """The tree, open for appending (writers only; opened and recovered by :func:`writer`)."""
        if self._tree is None:
            raise StoreError("the ledger is open for appending only inside `writer()`")
        return self._tree

    def read_tree(self) -> MerkleTree:
        """The tree at its committed size, for reading (safe while a writer appends)."""
        try:
            return MerkleTree.reader(self.tree_dir, self.catalog.ledger_size())
        except LedgerError as error:
            raise StoreError(f"the ledger cannot be read: {error}") from None

    def _recover_tree(self) -> list[str]:
        try:
            tree = MerkleTree(self.tree_dir)
        except LedgerError as error:
            raise StoreError(f"the ledger cannot be opened: {error}") from None
        self._tree = tree
        committed = self.catalog.ledger_size()
        if tree.size < committed:
            raise StoreError(
                f"the ledger's tree holds {tree.size} leaves but {committed} were committed: it "
                "was damaged or cut back (run `custodes ledger verify`)"
            )
        done = []
        if tree.size > committed:
            done.append(f"rolled back {tree.size - committed} uncommitted ledger leaves")
            tree.truncate(committed)
            tree.sync()
        issued = self.catalog.checkpoints()
        if (
            issued
            and issued[-1].size <= committed
            and tree.root(issued[-1].size) != issued[-1].root
        ):
            raise StoreError(
                f"the ledger's tree does not match its checkpoint of size {issued[-1].size}: it "
                "was altered (run `custodes ledger verify`); nothing more is written"
            )
        return done

    # DuckDB -----------------------------------------------------------------------------------
    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per table over the stored Parquet."""
        if self._db is None:
            self._db = connect_duckdb(self.work_dir)
            self.refresh_views()
        return self._db

    def refresh_views(self) -> None:
        """(Re)create the views; call after files were added to the store."""
        db = self._db
        if db is None:  # not connected yet: the views are made on first use
            return
        for table in TABLES:
            db.execute(f"CREATE OR REPLACE VIEW {table.name}_versions AS {self._scan(table)}")
            db.execute(f"CREATE OR REPLACE VIEW {table.name} AS {current_rows(table)}")
        db.execute(f"CREATE OR REPLACE VIEW quarantine AS {self._scan_quarantine()}")

    def _scan(self, table: Table) -> str:
        files = self._files(table.name)
        if not files:
            cols = [f"NULL::{stored_type(c)} AS {ident(c.name)}" for c in table.columns]
            cols += [f"NULL::{kind} AS {name}" for name, kind in SYSTEM_COLUMNS]
            if table.immutable:
                cols.append("NULL::BLOB AS _salt")
            if table.partition_by_month_of:
                cols.append("NULL::VARCHAR AS month")
            return f"SELECT {', '.join(cols)} WHERE false"
        types = (
            "{'_batch': BIGINT, 'month': VARCHAR}"
            if table.partition_by_month_of
            else "{'_batch': BIGINT}"
        )
        return (
            "SELECT * EXCLUDE (_problem_column, _problem, _raw, _nl) "
            f"FROM read_parquet({parquet_listing(files)}, hive_partitioning = true, "
            f"union_by_name = true, hive_types = {types})"
        )

    def _scan_quarantine(self) -> str:
        files = self._files("quarantine")
        if not files:
            cols = ", ".join(f"NULL::{kind} AS {name}" for name, kind in QUARANTINE_COLUMNS)
            return f"SELECT {cols} WHERE false"
        return f"SELECT * FROM read_parquet({parquet_listing(files)}, union_by_name = true)"

    def table_files(self, name: str) -> list[Path]:
        """The Parquet files of a table's committed batches (what another engine reads)."""
        return self._files(name)

    def _files(self, name: str) -> list[Path]:
        """The files of committed batches under ``store/<name>``: the catalog, not the
        directory, says what is stored, so a reader never sees half a batch."""
        prefix = name + "/"
        return [
            self.data_dir / relative
            for relative in self.catalog.committed_files(self.as_of)
            if relative.startswith(prefix)
        ]

    # recovery ---------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Bring the files in line with the catalog after a crash; returns what was done.

        A batch's files are placed in ``store/`` before its catalog row commits, so a batch
        left open by a crash may have some files there: they are removed. Committed batches
        are complete by construction.
        """
        done: list[str] = []
        for batch_id, _ in self.catalog.batches("open"):
            for path in self._batch_paths(batch_id):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            shutil.rmtree(self.pending_dir / f"b{batch_id}", ignore_errors=True)
            self.catalog.abort_batch(batch_id)
            done.append(f"rolled back unfinished batch {batch_id}")
        for leftover in self.pending_dir.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        done += self._sweep_orphans()
        done += self._recover_tree()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.catalog.abandon_running()
        return done

    def _sweep_orphans(self) -> list[str]:
        """Delete data files no committed batch lists: a file replaced by an erasure whose
        process died before deleting it, or the replacement of one that died before
        committing."""
        listed = {self.data_dir / relative for relative in self.catalog.committed_files()}
        orphans = [p for p in self.data_dir.rglob("*.parquet") if p not in listed]
        for path in orphans:
            path.unlink(missing_ok=True)
        return [f"removed unlisted file {p.relative_to(self.data_dir)}" for p in orphans]

    def _batch_paths(self, batch_id: int) -> list[Path]:
        """Everything a batch may have placed in ``store/``."""
        paths = list(self.data_dir.glob(f"*/_batch={batch_id}"))
        paths += list(self.data_dir.glob(f"*/*/_batch={batch_id}"))
        paths.append(self.table_dir("quarantine") / f"b{batch_id}.parquet")
        return paths

    def place(self, batch_id: int, files: list[str]) -> None:
        """Move a batch's files from ``.pending`` to their places in ``store/``, before the
        batch commits (they stay invisible until then: readers list files from the catalog)."""
        pending = self.pending_dir / f"b{batch_id}"
        for relative in files:
            source, target = pending / relative, self.data_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        fsync_paths({(self.data_dir / r).parent for r in files})
        shutil.rmtree(pending, ignore_errors=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tree is not None:
            self._tree.close()
            self._tree = None
        self.catalog.close()

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params or []).fetchall()


def current_rows(table: Table) -> str:
    """SQL for a table's current rows: the newest version of each key for reference tables.

    Access events are immutable and keyed tables without versions are sets, so for them this is
    every stored row but the lawfully erased (whose content is gone: only ``event_id`` and the
    place of their ledger leaf remain); events also say whether their person is known to the
    workforce (an access by an unknown ``person_id`` is evidence, not an error).
    """
    source = f"{table.name}_versions"
    if table.name == "access_events":
        return (
            f"SELECT e.*, (e.person_id IN (SELECT person_id FROM workforce)) AS person_known "
            f"FROM {source} e WHERE e._salt IS NOT NULL"
        )
    if table.key and not table.immutable:
        keys = ", ".join(ident(k) for k in table.key)
        return f"SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _batch DESC) = 1"
    return f"SELECT * FROM {source}"


def connect_duckdb(work_dir: Path) -> duckdb.DuckDBPyConnection:
    work_dir.mkdir(parents=True, exist_ok=True)
    db = duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(work_dir / "duckdb-tmp"),
            "preserve_insertion_order": True,
        }
    )
    db.execute("SET TimeZone = 'UTC'")
    db.execute("SET enable_progress_bar = false")  # commands draw their own
    for name, body in UTC_CALENDAR_MACROS.items():
        db.execute(f"CREATE MACRO {name}(ts) AS {body}")
    return db


# The UTC day and hour of a TIMESTAMPTZ, from its microseconds since the epoch. DuckDB's own
# casts and ``hour()`` go through ICU's calendar for the session's time zone, about 70 ns a
# value: several times over every event, a few seconds of each analysis at 10 M events. In UTC
# the arithmetic is exact (floor, so that times before 1970 fall on the right day too).
# custodes.engine.utc_day and utc_hour call these on DuckDB; other engines cast.
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000
UTC_CALENDAR_MACROS = {
    "custodes_utc_day": f"DATE '1970-01-01' + CAST(floor(epoch_us(ts) / {_US_PER_DAY}.0) AS INTEGER)",
    "custodes_utc_hour": f"CAST(floor(epoch_us(ts) / {_US_PER_HOUR}.0) AS BIGINT) "
    f"- 24 * CAST(floor(epoch_us(ts) / {_US_PER_DAY}.0) AS BIGINT)",
}


def parquet_listing(files: Sequence[Path | str]) -> str:
    """A DuckDB list literal of file paths, for ``read_parquet``."""
    return "[" + ", ".join(literal(Path(path).as_posix()) for path in files) + "]"


def open_store(home: Path, *, as_of: int | None = None) -> Store:
    """Open an existing store for reading; ``as_of`` a ledger size: its tables as they were
    when the ledger had that many leaves (lawfully erased content stays erased)."""
    store = Store(home, create=False, as_of=as_of)
    if as_of is not None and not 0 <= as_of <= store.catalog.ledger_size():
        size = store.catalog.ledger_size()
        store.close()
        raise StoreError(f"the ledger has {size} leaves: as of {as_of} is not one of its sizes")
    return store


@contextmanager
def writer(home: Path) -> Iterator[Store]:
    """Open (creating if needed) the store for writing: exclusive lock, then crash recovery."""
    home.mkdir(parents=True, exist_ok=True)
    with _writer_lock(home, wait=0.0):
        store = Store(home, create=True)
        try:
            store.recover()
            yield store
        finally:
            store.close()


@contextmanager
def appender(home: Path, *, wait: float = 60.0) -> Iterator[Store]:
    """Open an existing store to append the system's own actions to its ledger (case steps,
    investigator reads), waiting up to ``wait`` seconds for a running writer to finish.

    Only the tree is recovered (uncommitted leaves cut back, the last checkpoint checked):
    that is all appending a system event needs, and it keeps a web request fast. An unfinished
    ingest's files are left for the next ingest to clear; readers never see them.
    """
    with _writer_lock(home, wait=wait):
        store = _open_to_append(home)
        try:
            yield store
        finally:
            store.close()


def _open_to_append(home: Path) -> Store:
    """The store under ``home`` with its tree recovered (the writer lock held by the caller)."""
    store = Store(home, create=False)
    try:
        store._recover_tree()
    except BaseException:
        store.close()
        raise
    return store


class KeptAppender:
    """:func:`appender` for a long-lived process that appends often (the web application's
    investigator reads): the store stays open between appends, and only the writer lock is
    taken each time.

    Opening a store for an append (the catalog's schema script, the tree's recovery) cost about
    as much as the append itself. Another process may write in between (an ingest, a case
    command), so each :meth:`open` first checks that nothing changed since this process's last
    append: the catalog file is the same one, its committed ledger size is the size of the
    tree held open, and the tree's first level is as long as that. Otherwise the tree is opened
    again and recovered (the whole store, if the catalog file was replaced): with several
    server processes taking turns, that is most appends, and reopening only the tree keeps them
    cheap. After an error the store is closed and reopened on the next use. Threads of one
    process take turns.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self._store: Store | None = None
        self._catalog_file: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def open(self, *, wait: float = 60.0) -> Iterator[Store]:
        """The store, open to append, under the writer lock (waiting up to ``wait`` seconds)."""
        with self._lock, _writer_lock(self.home, wait=wait):
            store = self._current()
            try:
                yield store
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _current(self) -> Store:
        store = self._store
        if store is not None:
            if _file_identity(self.home / "catalog.sqlite") != self._catalog_file:
                self.close()
            elif (
                store.catalog.ledger_size() == store.tree.size and not store.tree.changed_on_disk()
            ):
                return store
            else:
                # Another process appended (or crashed while appending): the catalog is the
                # same file, so only the tree is opened again and recovered. This is the
                # common case with several server processes, which take turns to append.
                try:
                    store.tree.close()
                    store._recover_tree()
                except BaseException:
                    self.close()
                    raise
                return store
        store = _open_to_append(self.home)
        self._store, self._catalog_file = store, _file_identity(self.home / "catalog.sqlite")
        return store


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


# A process waiting for the writer lock tries again after 0.5 ms, then twice as long each time
# up to 10 ms: another server process's append holds it for about a millisecond, an ingest for
# minutes. (A blocking ``flock`` cannot time out.)
_LOCK_FIRST_PAUSE = 0.0005
_LOCK_LONGEST_PAUSE = 0.01


@contextmanager
def _writer_lock(home: Path, *, wait: float) -> Iterator[None]:
    lock = (home / ".lock").open("a+")
    deadline = time.monotonic() + wait
    pause = _LOCK_FIRST_PAUSE
    try:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{home}: another Custodes process is writing to this store"
                    ) from None
                time.sleep(pause)
                pause = min(2 * pause, _LOCK_LONGEST_PAUSE)
        yield
    finally:
        lock.close()  # closing the file releases the lock
