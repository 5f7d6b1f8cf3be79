"""Leaf hashes of access events: from the rows being staged (ingest) or from stored Parquet
(the audit).

There is one definition of how an event becomes a leaf, whichever the source of its rows:

    encoding = event_pieces(rows), end to end         (the canonical encoding, v1)
    leaf     = SHA-256(0x00 || SHA-256(TAG || _salt || encoding))

* **Ingest** (:class:`StagedLeaves`) computes the leaves of an events file piece by piece while
  the file is being read and checked, from the staged rows it already holds in memory, in
  threads beside staging, so the events are never read back. Each batch then appends the
  leaves of the rows it stores.
* **The audit** (``custodes ledger verify``, :func:`event_leaves`) recomputes them from what is
  stored, a range of record numbers (``_rec``) at a time, and compares.

Both steps work a column at a time: the encoding's pieces are prepared in Arrow
(:mod:`custodes.store.encoding_columns`), then concatenated and hashed in one pass with the
CPU's SHA instructions (:func:`custodes.ledger.bulk.commitment_leaves_of_pieces`). Large jobs
go to a :class:`LeafPool`, threads at ingest and worker *processes* for the audit (each reads
Parquet with its own DuckDB), while the caller appends or compares the results in order.

An event whose ``_salt`` is NULL has had its content erased: its leaf cannot be recomputed, and
it is reported as such (the ledger's tombstones say whether that was lawful).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import feather

from custodes.ledger.bulk import commitment_leaves_of_pieces
from custodes.ledger.receipt import TAG
from custodes.store.encoding_columns import encoded_columns_sql, event_pieces
from custodes.store.store import parquet_listing

T = TypeVar("T")
HASH = 32
ERASED = bytes(HASH)  # stands in for the leaf of an erased event
PARALLEL_FROM = 200_000  # events: below this, workers cost more than they save
JOB_RECORDS = 262_144  # records per job handed to a worker
WORKER_MEMORY = "512MB"


@dataclass(frozen=True)
class Leaves:
    """The leaves of the events of a record range, in record order."""

    recs: npt.NDArray[np.int64]  # the events' ``_rec``, ascending
    packed: bytes  # their leaf hashes, 32 bytes each; :data:`ERASED` where erased
    erased: npt.NDArray[np.bool_]  # events whose content (and salt) is gone

    def __len__(self) -> int:
        return int(self.recs.size)

    @classmethod
    def concat(cls, parts: Sequence[Leaves]) -> Leaves:
        if not parts:
            return cls(np.zeros(0, np.int64), b"", np.zeros(0, np.bool_))
        return cls(
            np.concatenate([p.recs for p in parts]),
            b"".join(p.packed for p in parts),
            np.concatenate([p.erased for p in parts]),
        )


_connection: duckdb.DuckDBPyConnection | None = None


def _db() -> duckdb.DuckDBPyConnection:
    """One single-threaded DuckDB connection per process (a worker is one core's worth)."""
    global _connection
    if _connection is None:
        _connection = duckdb.connect(
            config={"threads": 1, "memory_limit": WORKER_MEMORY, "preserve_insertion_order": False}
        )
        _connection.execute("SET TimeZone = 'UTC'")
        _connection.execute("SET enable_progress_bar = false")
    return _connection


def event_leaves(files: Sequence[str], first_rec: int, last_rec: int) -> Leaves:
    """The leaves of the events with ``first_rec <= _rec <= last_rec`` stored in ``files``."""
    if not files:
        return Leaves.concat([])
    reader = (
        _db()
        .execute(
            f"SELECT _rec, _salt, {encoded_columns_sql()} "
            f"FROM read_parquet({parquet_listing(files)}, hive_partitioning = false, union_by_name = true) "
            f"WHERE _rec BETWEEN {int(first_rec)} AND {int(last_rec)}"
        )
        .to_arrow_reader(65_536)
    )
    return _in_order(Leaves.concat([_hash_rows(pa.Table.from_batches([b])) for b in reader]))


def staged_leaves(rows: pa.Table, path: str) -> int:
    """Compute the leaves of the valid rows of a staged piece of an events file (still in
    memory, salts drawn) and write them to ``path``; return how many.

    Ingest calls this while the file is being staged, so that the events are encoded from the
    rows it already holds, not read back from the Parquet it writes. Which of these rows are
    stored is decided later, per batch: :func:`read_staged_leaves` picks theirs.
    """
    if "_problem" in rows.column_names:
        rows = rows.filter(pc.is_null(rows.column("_problem")))
    leaves = _in_order(_hash_rows(rows))
    hashes = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(HASH), len(leaves), [None, pa.py_buffer(leaves.packed)]
    )
    table = pa.table({"_rec": pa.array(leaves.recs, pa.int64()), "leaf": hashes})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(table, path, compression="uncompressed")
    return len(leaves)


def read_staged_leaves(paths: Sequence[Path], recs: npt.NDArray[np.int64] | None) -> Leaves:
    """The leaves written by :func:`staged_leaves` to ``paths``, in record order: all of them,
    or those of the records ``recs`` (ascending), each of which must be there."""
    tables = [feather.read_table(path) for path in paths]
    if not tables:
        leaves = Leaves.concat([])
    else:
        table = pa.concat_tables(tables)
        hashes = table.column("leaf").combine_chunks()
        packed = hashes.buffers()[1].to_pybytes()[: HASH * len(hashes)]
        found = table.column("_rec").to_numpy()
        leaves = _in_order(Leaves(found, packed, np.zeros(found.size, np.bool_)))
    if recs is None:
        return leaves
    at = np.searchsorted(leaves.recs, recs)
    if at.size and (at.max() >= leaves.recs.size or not np.array_equal(leaves.recs[at], recs)):
        raise RuntimeError("a stored record has no staged leaf")
    packed = np.frombuffer(leaves.packed, dtype=f"V{HASH}")[at].tobytes()
    return Leaves(recs, packed, np.zeros(recs.size, np.bool_))


def _in_order(leaves: Leaves) -> Leaves:
    order = np.argsort(leaves.recs, kind="stable")
    if not leaves.recs.size or np.array_equal(order, np.arange(order.size)):
        return leaves
    packed = np.frombuffer(leaves.packed, dtype=f"V{HASH}")[order].tobytes()
    return Leaves(leaves.recs[order], packed, leaves.erased[order])


def _hash_rows(rows: pa.Table) -> Leaves:
    """The leaves of stored or staged events (``_rec``, ``_salt`` and the encoded columns)."""
    recs = rows.column("_rec").to_numpy().astype(np.int64)
    salts = rows.column("_salt").combine_chunks()
    erased = ~np.asarray(salts.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    packed = commitment_leaves_of_pieces(salts, event_pieces(rows), TAG)
    if erased.any():
        leaves = np.frombuffer(packed, dtype=f"V{HASH}").copy()
        leaves[erased] = np.void(ERASED)
        packed = leaves.tobytes()
    return Leaves(recs, packed, erased)


class LeafPool:
    """Compute the leaves of large record ranges in workers, results in order.

    Workers are processes by default (the audit: each reads Parquet with its own DuckDB), or
    ``threads`` of this process (ingest: the rows are already in its memory, and the encoding
    and hashing run in native code without the GIL). Small ranges are computed in the caller:
    starting workers takes longer than hashing a few thousand events. Use as a context manager.
    """

    def __init__(self, workers: int | None = None, *, threads: bool = False) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.threads = threads
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._running: deque[Future[Any]] = deque()

    def __enter__(self) -> LeafPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor | ThreadPoolExecutor:
        if self._pool is None and self.threads:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="leaves")
        if self._pool is None:
            # Not fork: the parent runs DuckDB and Arrow threads, which fork would copy
            # mid-flight. A fork server is a fresh single-threaded process that imports the
            # hashing modules once and forks each worker from itself, so two workers do not
            # pay twice for loading DuckDB and DataFusion (about two seconds of CPU each).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["custodes.store.leaves", "datafusion"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    def ordered(
        self, calls: Iterable[tuple[Callable[..., T], tuple[Any, ...]]], *, parallel: bool
    ) -> Iterator[T]:
        """Run ``fn(*args)`` for each call, in the workers when ``parallel``, and yield the
        results in the order of the calls. A few calls run ahead, never all of them: results
        waiting to be consumed would otherwise pile up in memory."""
        if not parallel or self.workers < 2:
            for fn, args in calls:
                yield fn(*args)
            return
        pool = self._executor()
        window: deque[Future[T]] = deque()
        for fn, args in calls:
            window.append(pool.submit(fn, *args))
            if len(window) > 2 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` in a worker, waiting first while more than two calls per worker
        are unfinished (each holds its arguments in memory)."""
        while len(self._running) > 2 * self.workers:
            self._running.popleft().result()
        future = self._executor().submit(fn, *args)
        self._running.append(future)
        return future


class StagedLeaves:
    """The leaves of an events file, computed piece by piece while the file is staged.

    Each piece of staged rows goes to a worker of ``pool`` (once the file has proved large
    enough to be worth it), which encodes and hashes it and writes the piece's leaves under
    ``directory``; a batch then takes the leaves of the records it stores (:meth:`for_chunk`).
    The hashing thus runs beside the reading and checking of the rest of the file instead of
    after it, and the events are not read back from Parquet.

    Ingest gives it a pool of threads: the rows need not be copied to another process
    (handing each piece over as an Arrow file cost the ingest process about 0.2 µs an event,
    and reading the leaves back from the workers as much again), and two threads hash 1.75
    times as fast as one. Only the leaves (40 bytes an event) are kept, on disk, until their
    batch commits: a whole file's would not fit in memory at 100 M events.
    """

    def __init__(self, pool: LeafPool, directory: Path) -> None:
        self.pool = pool
        self.directory = directory
        self._rows = 0
        self._chunks: dict[int, list[tuple[Path, Future[int] | None]]] = {}

    def add(self, chunk: int, part: int, rows: pa.Table) -> None:
        path = self.directory / f"chunk_{chunk}" / f"part_{part}.arrow"
        self._rows += rows.num_rows
        future: Future[int] | None = None
        if self._rows >= PARALLEL_FROM and self.pool.workers > 1:
            future = self.pool.submit(staged_leaves, rows, path.as_posix())
        else:
            staged_leaves(rows, path.as_posix())
        self._chunks.setdefault(chunk, []).append((path, future))

    def for_chunk(self, chunk: int, recs: npt.NDArray[np.int64] | None = None) -> Leaves:
        """The leaves of ``chunk``'s valid rows, or of its records ``recs`` only."""
        pieces = self._chunks.get(chunk, [])
        for _, future in pieces:
            if future is not None:
                future.result()
        return read_staged_leaves([path for path, _ in pieces], recs)
