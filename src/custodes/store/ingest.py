"""Ingest: a bundle flows into the store, in atomic batches, and nothing is lost.

For each table file, in contract order (reference data before events):

1. the file is staged as raw text (:mod:`custodes.bundle.stage`), rows the CSV parser cannot take
   set aside with their line;
2. each batch of records is validated against the contract, in SQL;
3. good rows are told apart from duplicates: the same key with the same content (already stored
   or earlier in the file) is skipped; an access event whose ``event_id`` is already known with
   different content is quarantined (events are immutable); a reference row whose content changed
   is stored as a new version (the newest version is current);
4. the batch is written under ``.pending``; its events' leaves (and one leaf for the batch
   itself) are appended to the ledger's tree and synced; its files are placed in ``store/``; and
   it is committed in the catalog with the ledger's new size (which is when readers see it).

Every row read ends in exactly one of: stored, quarantined, duplicate. The counts are the
reconciliation, printed and recorded for every file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.bundle.contract import Table
from custodes.bundle.files import TableFile, find_tables
from custodes.bundle.read import file_facts
from custodes.bundle.stage import Staged, stage
from custodes.bundle.validate import digest_expression, ident, literal
from custodes.durable import fsync_path
from custodes.ledger.receipt import SALT_SIZE
from custodes.store.catalog import Counts, LeafSpan, SystemEvent
from custodes.store.leaves import LeafPool, StagedLeaves
from custodes.store.ledger import new_system_event, system_leaf
from custodes.store.store import Store, parquet_listing, writer

DEFAULT_BATCH_ROWS = 2_000_000

ProgressCallback = Callable[[str, int, int], None]
"""``(table, records_done, records_total)``, called as batches are committed."""


@dataclass
class FileReport:
    table: str
    file: str
    sha256: str
    counts: Counts
    batches: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "file": self.file,
            "sha256": self.sha256,
            "batches": self.batches,
            **self.counts.to_dict(),
        }


@dataclass
class IngestReport:
    """What one ingest did: the reconciliation per table file."""

    run_id: int
    bundle: str
    files: list[FileReport]

    @property
    def total(self) -> Counts:
        total = Counts()
        for report in self.files:
            total.add(report.counts)
        return total

    @property
    def balanced(self) -> bool:
        return all(f.counts.balanced for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "bundle": self.bundle,
            "files": [f.to_dict() for f in self.files],
            "total": self.total.to_dict(),
            "balanced": self.balanced,
        }


def ingest(
    bundle: Path,
    home: Path,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Ingest every table of ``bundle`` into the store under ``home``.

    Raises :class:`custodes.errors.BundleError` before writing anything if a file is missing,
    unreadable or has a wrong header.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    _use_jemalloc()
    table_files = find_tables(bundle)
    with writer(home) as store, LeafPool(threads=True) as pool:
        run_id = store.catalog.start_run("ingest", str(bundle.resolve()))
        reports: list[FileReport] = []
        try:
            for table_file in table_files:
                reports.append(_ingest_file(store, pool, run_id, table_file, batch_rows, progress))
        except BaseException:
            store.catalog.finish_run(run_id, "failed", {"files": [r.to_dict() for r in reports]})
            raise
        report = IngestReport(run_id, str(bundle.resolve()), reports)
        store.catalog.finish_run(run_id, "complete", report.to_dict())
        return report


def _use_jemalloc() -> None:
    """Arrow's jemalloc pool returns memory between blocks; with the default pool, staging a
    large file held on to twice as much (measured: 1.0 GiB against 1.6 GiB peak at 10 M events)."""
    with contextlib.suppress(NotImplementedError):  # built without jemalloc: keep the default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def salts(rows: int) -> dict[str, pa.Array]:
    """A fresh random 32-byte salt for each event (``_salt``), drawn by the operating system's
    CSPRNG. It is stored with the event and is half of its commitment's opening."""
    buffer = pa.py_buffer(os.urandom(SALT_SIZE * rows))
    return {
        "_salt": pa.FixedSizeBinaryArray.from_buffers(pa.binary(SALT_SIZE), rows, [None, buffer])
    }


def _ingest_file(
    store: Store,
    pool: LeafPool,
    run_id: int,
    table_file: TableFile,
    batch_rows: int,
    progress: ProgressCallback | None,
) -> FileReport:
    table = table_file.table
    tag = f"{table.name}_{run_id}"
    leaves = StagedLeaves(pool, store.work_dir / f"leaves-{tag}") if table.immutable else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-facts") as hasher:
        facts = hasher.submit(file_facts, table_file.path)  # hashed while it is being read
        per_row = salts if table.immutable else None
        on_rows = leaves.add if leaves else None
        staged = stage(
            store.db, table_file, store.work_dir, tag, batch_rows, facts, per_row, on_rows
        )
        sha = facts.result().sha256
    report = FileReport(table.name, str(table_file.path), sha, Counts())
    for chunk in range(staged.chunks):
        first = chunk * batch_rows + 1
        last = min(staged.records, (chunk + 1) * batch_rows)
        done = store.catalog.committed_batch(table.name, sha, first, last)
        if done is not None:
            # The same records of the same file were committed before (a resumed or repeated
            # ingest): nothing new can come of them. Account for them as reprocessing would:
            # what was quarantined is quarantined (once), everything else is a duplicate.
            report.counts.add(
                Counts(
                    read=done.read,
                    quarantined=done.quarantined,
                    duplicates=done.read - done.quarantined,
                )
            )
        else:
            batch = _Batch(store, leaves, run_id, staged, chunk, sha)
            report.counts.add(batch.run())
            report.batches.append(batch.batch_id)
        if progress:
            progress(table.name, min(staged.records, (chunk + 1) * batch_rows), staged.records)
    shutil.rmtree(staged.directory, ignore_errors=True)
    if leaves:
        shutil.rmtree(leaves.directory, ignore_errors=True)
    return report


class _Batch:
    """One atomic batch: a staged chunk of records, plus the parser's rejects among them.

    Most rows of a batch are simply stored. The few that are not (invalid rows, duplicates,
    conflicting ids) are found with key-only queries, so a clean chunk is published by renaming
    its staged files, and only a chunk with exceptions is rewritten.
    """

    def __init__(
        self,
        store: Store,
        leaves: StagedLeaves | None,
        run_id: int,
        staged: Staged,
        chunk: int,
        sha: str,
    ) -> None:
        self.store = store
        self.leaves = leaves
        self.db: duckdb.DuckDBPyConnection = store.db
        self.staged = staged
        self.table: Table = staged.source.table
        self.chunk = chunk
        self.sha = sha
        self.files = staged.chunk_files(chunk)
        self.rejects = staged.chunk_rejects(chunk)
        self.first = chunk * staged.batch_rows + 1
        self.last = min(staged.records, (chunk + 1) * staged.batch_rows)
        self.batch_id = store.catalog.open_batch(
            run_id, self.table.name, staged.source.path, sha, self.first, self.last
        )
        self.pending = store.pending_dir / f"b{self.batch_id}"

    def run(self) -> Counts:
        self.pending.mkdir(parents=True, exist_ok=True)
        self._source()
        self._exceptions()
        counts = self._counts()
        files = self._write_quarantine()
        clean = counts.stored == self._scalar("SELECT count(*) FROM src")
        data = self._publish_as_is() if clean else self._rewrite()
        files += data
        for relative in files:
            fsync_path(self.pending / relative)
        leaves, record = self._append_to_ledger(clean, counts)
        self.store.place(self.batch_id, files)
        self.store.catalog.commit_batch(self.batch_id, counts, files, leaves, record)
        self.store.refresh_views()
        return counts

    def _append_to_ledger(self, clean: bool, counts: Counts) -> tuple[LeafSpan, SystemEvent]:
        """Append the stored events' leaves (in record order), then the batch's own leaf, and
        sync the tree. They count only once the batch commits; until then recovery cuts them.

        The leaves were computed from the staged rows; a clean chunk stores all of them, any
        other only some, which are picked by record number."""
        tree = self.store.tree
        first = tree.size
        if self.leaves is not None and counts.stored:
            recs = None if clean else self._stored_recs()
            tree.append_packed(self.leaves.for_chunk(self.chunk, recs).packed)
        count = tree.size - first
        if count != (counts.stored if self.table.immutable else 0):
            raise RuntimeError(f"batch {self.batch_id}: {count} leaves for {counts.stored} events")
        record = new_system_event(
            tree.size,
            "ingest_batch",
            {
                "batch_id": self.batch_id,
                "table": self.table.name,
                "file": self.staged.source.path.name,
                "file_sha256": self.sha,
                "first_record": self.first,
                "last_record": self.last,
                "rows_read": counts.read,
                "rows_stored": counts.stored,
                "rows_quarantined": counts.quarantined,
                "rows_duplicate": counts.duplicates,
                "leaf_first": first,
                "leaf_count": count,
            },
        )
        tree.append([system_leaf(record)])
        tree.sync()
        return LeafSpan(first, count), record

    def _source(self) -> None:
        if self.files:
            sql = f"SELECT * FROM read_parquet({parquet_listing(self.files)}, hive_partitioning = false, union_by_name = true)"
        else:
            sql = (
                "SELECT NULL::BIGINT AS _rec, NULL::VARCHAR AS _problem_column, "
                "NULL::VARCHAR AS _problem, NULL::VARCHAR AS _raw WHERE false"
            )
        self.db.execute(f"CREATE OR REPLACE TEMP VIEW src AS {sql}")

    # which rows are not simply stored --------------------------------------------------------
    def _exceptions(self) -> None:
        """Temp table ``exc``: the valid rows that repeat a key in this batch or whose key is
        already stored, each with its fate."""
        table = self.table
        if not self.files:
            self.db.execute(
                "CREATE OR REPLACE TEMP TABLE exc (_rec BIGINT, _fate VARCHAR, _first_rec BIGINT,"
                " _stored_batch BIGINT, _key_known BOOLEAN, _key_text VARCHAR, _content VARCHAR)"
            )
            return
        full_key = table.key or (*(c.name for c in table.columns), "_extra")
        # Keyed tables are probed by key; sets by a digest (a superset of the true matches,
        # which the full comparison below narrows down).
        probe = table.key or ("_digest",)
        probe_cols = ", ".join(ident(k) for k in probe)
        versions = f"{table.name}_versions"
        digest_b = digest_expression(table)
        digest_s = digest_expression(table, "s")
        batch_rows = (
            f"SELECT *, {digest_b} AS _digest FROM src WHERE _problem IS NULL"
            if not table.key
            else "SELECT * FROM src WHERE _problem IS NULL"
        )
        stored_rows = f"SELECT *, {digest_s} AS _digest FROM {versions} s"
        match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM c.{ident(k)}" for k in full_key)
        if table.immutable:
            key = ident(table.key[0])
            join = (
                f"LEFT JOIN (SELECT {key} AS _k, _digest AS _stored_digest, _batch AS _stored_batch, "
                f"_salt IS NULL AS _stored_erased "
                f"FROM ({stored_rows}) WHERE {key} IN (SELECT {key} FROM ranked)) s "
                f"ON s._k = c.{key}"
            )
            stored = "s._stored_batch, false AS _key_known"
            # A lawfully erased event sent again is a duplicate: comparing it would quarantine
            # (keep) the very content that was erased.
            seen = "(s._stored_digest = c._digest OR s._stored_erased)"
            clash = "s._stored_digest IS NOT NULL"
        else:
            # Reference rows: content seen in any stored version is a duplicate; a known key with
            # new content is a new version (the newest is current); sets have only content.
            join = ""
            known = f"EXISTS (SELECT 1 FROM {versions} s WHERE {match})" if table.key else "false"
            stored = f"NULL::BIGINT AS _stored_batch, {known} AS _key_known"
            seen = (
                f"EXISTS (SELECT 1 FROM ({stored_rows}) s WHERE {match} AND s._digest = c._digest)"
            )
            clash = "false"
        window = ", ".join(ident(k) for k in full_key)
        key_text = (
            " || '/' || ".join(f"CAST(c.{ident(k)} AS VARCHAR)" for k in table.key)
            if table.key
            else "NULL::VARCHAR"
        )
        content = (
            "CAST(json_object("
            + ", ".join(f"{literal(col.name)}, c.{ident(col.name)}" for col in table.columns)
            + ") AS VARCHAR)"
        )
        stored_keys = (
            f"SELECT {probe_cols} FROM {versions}{self._key_range(table.key[0])}"
            if table.key
            else (f"SELECT DISTINCT _digest FROM ({stored_rows})")
        )
        # Candidates are found from key columns alone; keyed rows get their digest only once
        # they are candidates: hashing or reading every row of a clean batch would cost as much
        # as validating it.
        with_digest = "*" if not table.key else f"*, {digest_b} AS _digest"
        key_rows = f"SELECT _rec, {probe_cols} FROM ({batch_rows})"
        self.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE exc AS
            WITH k AS ({key_rows}),
            repeated AS (SELECT {probe_cols} FROM k GROUP BY ALL HAVING count(*) > 1),
            hits AS (
                SELECT _rec FROM k SEMI JOIN repeated USING ({probe_cols})
                UNION
                -- A plain join, built on this batch's keys: DuckDB pushes their range into the
                -- scan of the stored keys, so Parquet row groups outside it are skipped.
                SELECT k._rec FROM k JOIN ({stored_keys}) s USING ({probe_cols})
            ),
            candidates AS (
                SELECT {with_digest} FROM ({batch_rows}) WHERE _rec IN (SELECT _rec FROM hits)
            ),
            ranked AS (
                SELECT *, row_number() OVER w AS _occ, first_value(_rec) OVER w AS _first_rec,
                       first_value(_digest) OVER w AS _first_digest
                FROM candidates
                WINDOW w AS (PARTITION BY {window} ORDER BY _rec)
            )
            SELECT c._rec, c._first_rec, {stored}, {key_text} AS _key_text, {content} AS _content,
                CASE
                  WHEN c._occ > 1 AND c._digest = c._first_digest THEN 'duplicate'
                  WHEN c._occ > 1 THEN 'conflict_in_file'
                  WHEN {seen} THEN 'duplicate'
                  WHEN {clash} THEN 'conflict_in_store'
                  ELSE 'store'
                END AS _fate
            FROM ranked c {join}
            """
        )

    def _key_range(self, key: str) -> str:
        """A WHERE clause bounding stored keys to this batch's range, as literals: DuckDB then
        skips Parquet row groups outside it by their statistics. Identifiers issued in sequence
        (as force systems do) make this skip almost everything."""
        low, high = self.db.execute(
            f"SELECT min({ident(key)}), max({ident(key)}) FROM src WHERE _problem IS NULL"
        ).fetchone() or (None, None)
        if low is None:
            return " WHERE false"
        return f" WHERE {ident(key)} BETWEEN {literal(str(low))} AND {literal(str(high))}"

    def _counts(self) -> Counts:
        accepted, invalid = self.db.execute(
            "SELECT count(*), count(_problem) FROM src"
        ).fetchone() or (0, 0)
        fates = dict(self.db.execute("SELECT _fate, count(*) FROM exc GROUP BY 1").fetchall())
        conflicts = fates.get("conflict_in_file", 0) + fates.get("conflict_in_store", 0)
        duplicates = fates.get("duplicate", 0)
        counts = Counts(
            read=int(accepted) + len(self.rejects),
            stored=int(accepted) - int(invalid) - conflicts - duplicates,
            quarantined=int(invalid) + conflicts + len(self.rejects),
            duplicates=duplicates,
            new_versions=self._scalar(
                "SELECT count(*) FROM exc WHERE _fate = 'store' AND _key_known"
            ),
        )
        if self.table.name == "access_events" and self.files:
            counts.unknown_person = self._scalar(
                f"SELECT count(*) FROM ({self._stored_rows()}) "
                "WHERE person_id NOT IN (SELECT person_id FROM workforce)"
            )
        return counts

    def _stored_rows(self) -> str:
        return (
            "SELECT * FROM src WHERE _problem IS NULL "
            "AND _rec NOT IN (SELECT _rec FROM exc WHERE _fate <> 'store')"
        )

    def _stored_recs(self) -> npt.NDArray[np.int64]:
        column = self.db.execute(
            f"SELECT _rec FROM ({self._stored_rows()}) ORDER BY _rec"
        ).to_arrow_table()
        return np.asarray(column.column(0).to_numpy(), dtype=np.int64)

    def _scalar(self, sql: str) -> int:
        row = self.db.execute(sql).fetchone()
        assert row is not None
        return int(row[0] or 0)

    # write ----------------------------------------------------------------------------------
    def _place(self, files: list[Path]) -> list[str]:
        """Move data files into this batch's pending tree, named as they will be stored."""
        placed = []
        for index, path in enumerate(files):
            parts = [self.table.name]
            if self.table.partition_by_month_of:
                parts.append(path.parent.name)  # month=YYYY-MM
            parts += [f"_batch={self.batch_id}", f"part_{index}.parquet"]
            relative = "/".join(parts)
            target = self.pending / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            placed.append(relative)
        return placed

    def _publish_as_is(self) -> list[str]:
        """A clean chunk: its staged files are the stored files; moved, not rewritten."""
        return self._place(self.files)

    def _rewrite(self) -> list[str]:
        """A chunk with exceptions: write only the rows to store."""
        scratch = self.pending / "_rewrite"
        rows = self._stored_rows()
        if self.table.partition_by_month_of:
            month = f"strftime({ident(self.table.partition_by_month_of)}, '%Y-%m') AS month"
            self.db.execute(
                f"COPY (SELECT *, {month} FROM ({rows})) TO {literal(scratch.as_posix())} "
                "(FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true)"
            )
        elif self._scalar(f"SELECT count(*) FROM ({rows})"):
            scratch.mkdir(parents=True)
            target = literal((scratch / "part_0.parquet").as_posix())
            self.db.execute(f"COPY ({rows}) TO {target} (FORMAT parquet)")
        placed = self._place(sorted(scratch.rglob("*.parquet")) if scratch.exists() else [])
        shutil.rmtree(scratch, ignore_errors=True)
        return placed

    def _write_quarantine(self) -> list[str]:
        """Write this batch's quarantined rows (once per file line, even across reruns)."""
        rows = self._quarantine_rows()
        if rows.num_rows == 0:
            return []
        self.db.register("quarantined", rows)
        try:
            fresh = """
                SELECT * FROM quarantined q WHERE NOT EXISTS (
                    SELECT 1 FROM quarantine s WHERE s.file_sha256 = q.file_sha256
                    AND s.line = q.line AND s.reason = q.reason)
                ORDER BY line
            """
            if not self._scalar(f"SELECT count(*) FROM ({fresh})"):
                return []
            relative = f"quarantine/b{self.batch_id}.parquet"
            (self.pending / "quarantine").mkdir(parents=True, exist_ok=True)
            target = literal((self.pending / relative).as_posix())
            self.db.execute(f"COPY ({fresh}) TO {target} (FORMAT parquet)")
            return [relative]
        finally:
            self.db.unregister("quarantined")

    def _quarantine_rows(self) -> pa.Table:
        lines = self.staged.lines
        invalid = self.db.execute(
            "SELECT _rec, _problem_column, _problem, _raw FROM src "
            "WHERE _problem IS NOT NULL ORDER BY _rec"
        ).fetchnumpy()
        conflicts = self.db.execute(
            "SELECT _rec, _first_rec, _fate, _key_text, _stored_batch, _content FROM exc "
            "WHERE _fate LIKE 'conflict%' ORDER BY _rec"
        ).fetchall()
        key_name = ", ".join(self.table.key) or "the same row"
        records: list[int] = [int(r) for r in invalid["_rec"]]
        columns: list[str | None] = list(invalid["_problem_column"])
        reasons: list[str] = list(invalid["_problem"])
        raws: list[str | None] = list(invalid["_raw"])
        for rec, first, fate, key_text, stored_batch, content in conflicts:
            records.append(int(rec))
            columns.append(self.table.key[0] if self.table.key else None)
            if fate == "conflict_in_file":
                first_line = int(lines.accepted(np.array([first], dtype=np.int64))[0])
                reasons.append(
                    f"{key_name} '{key_text}' appears earlier in this file with different "
                    f"content (line {first_line})"
                )
            else:
                reasons.append(
                    f"{key_name} '{key_text}' is already stored with different content "
                    f"(batch {stored_batch}); events are immutable: send a correcting event"
                )
            raws.append(content)
        line_numbers = lines.accepted(np.array(records, dtype=np.int64)).tolist()
        for reject, _ in self.rejects:
            line_numbers.append(reject.line)
            columns.append(None)
            reasons.append(reject.reason)
            raws.append(reject.raw)
        n = len(line_numbers)
        source = str(self.staged.source.path)
        return pa.table(
            {
                "_batch": pa.array([self.batch_id] * n, pa.int64()),
                "table_name": pa.array([self.table.name] * n, pa.string()),
                "file": pa.array([source] * n, pa.string()),
                "file_sha256": pa.array([self.sha] * n, pa.string()),
                "line": pa.array(line_numbers, pa.int64()),
                "column_name": pa.array(columns, pa.string()),
                "reason": pa.array(reasons, pa.string()),
                "raw": pa.array(raws, pa.string()),
            }
        )
