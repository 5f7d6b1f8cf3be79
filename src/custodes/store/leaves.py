"""Leaf hashes of stored access events, computed from their Parquet files.

Ingest computes them to append a batch to the ledger; ``custodes ledger verify`` recomputes them
to check the ledger against the events. Both run this module's :func:`event_leaves` on a range
of record numbers (``_rec``) of a batch's files, so there is one definition of how an event
becomes a leaf:

    encoding = encoding_sql(...)                      (DuckDB: the canonical encoding, v1)
    leaf     = SHA-256(0x00 || SHA-256(TAG || _salt || encoding))

Hashing is done with :mod:`hashlib` (OpenSSL uses the CPU's SHA instructions; DuckDB's own
``sha256`` does not, and costs about three times as much per event). Python holds the GIL while
it hashes small inputs, so large jobs are spread over worker *processes*
(:class:`LeafPool`); the caller appends or compares the results in order while the workers hash
the next ranges.

An event whose ``_salt`` is NULL has had its content erased: its leaf cannot be recomputed, and
it is reported as such (the ledger's tombstones say whether that was lawful).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.ledger.receipt import TAG
from custodes.store.encoding import encoding_sql
from custodes.store.store import parquet_listing

T = TypeVar("T")
HASH = 32
ERASED = bytes(HASH)  # stands in for the leaf of an erased event
PARALLEL_FROM = 200_000  # events: below this, a process pool costs more than it saves
JOB_RECORDS = 262_144  # records per job handed to a worker
WORKER_MEMORY = "512MB"

_LEAF_PREFIX = b"\x00"


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
            f"SELECT _rec, _salt, encode({encoding_sql()}) AS _encoding "
            f"FROM read_parquet({parquet_listing(files)}, hive_partitioning = false, union_by_name = true) "
            f"WHERE _rec BETWEEN {int(first_rec)} AND {int(last_rec)}"
        )
        .to_arrow_reader(65_536)
    )
    parts = [_hash_batch(batch) for batch in reader]
    leaves = Leaves.concat(parts)
    order = np.argsort(leaves.recs, kind="stable")
    if leaves.recs.size and not np.array_equal(order, np.arange(order.size)):
        packed = np.frombuffer(leaves.packed, dtype=f"V{HASH}")[order].tobytes()
        leaves = Leaves(leaves.recs[order], packed, leaves.erased[order])
    return leaves


def _hash_batch(batch: pa.RecordBatch) -> Leaves:
    recs = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64)
    salts, encodings = batch.column(1), batch.column(2)
    erased = ~np.asarray(salts.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    salt_at, salt_data = _offsets_and_data(salts)
    enc_at, enc_data = _offsets_and_data(encodings)
    primed = hashlib.sha256(TAG)
    sha256 = hashlib.sha256
    out: list[bytes] = []
    append = out.append
    gone = erased.tolist()
    for i in range(len(recs)):
        if gone[i]:
            append(ERASED)
            continue
        hasher = primed.copy()
        hasher.update(salt_data[salt_at[i] : salt_at[i + 1]])
        hasher.update(enc_data[enc_at[i] : enc_at[i + 1]])
        append(sha256(_LEAF_PREFIX + hasher.digest()).digest())
    return Leaves(recs, b"".join(out), erased)


def _offsets_and_data(array: pa.Array) -> tuple[list[int], memoryview]:
    """A binary column's value offsets and data buffer, for slicing without copies."""
    if array.type not in (pa.binary(), pa.large_binary()):
        array = array.cast(pa.binary())
    width = np.int64 if array.type == pa.large_binary() else np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + len(array) + 1]
    data = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")
    return offsets.tolist(), data


class LeafPool:
    """Compute the leaves of large record ranges in worker processes, results in order.

    Small ranges are computed in this process: starting workers takes longer than hashing a
    few thousand events. Use as a context manager.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LeafPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the parent runs DuckDB and Arrow threads, which fork would copy mid-flight.
            context = multiprocessing.get_context("spawn")
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

    def leaves(self, files: Sequence[Path], first_rec: int, last_rec: int) -> Iterator[Leaves]:
        """The leaves of records ``first_rec..last_rec`` of ``files``, in consecutive
        record ranges, in order."""
        names = [p.as_posix() for p in files]
        calls = [
            (event_leaves, (names, start, min(last_rec, start + JOB_RECORDS - 1)))
            for start in range(first_rec, last_rec + 1, JOB_RECORDS)
        ]
        yield from self.ordered(calls, parallel=last_rec - first_rec + 1 >= PARALLEL_FROM)
