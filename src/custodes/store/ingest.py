"""Ingest: a bundle flows into the store, in atomic batches, and nothing is lost.

For each table file, in contract order (reference data before events):

1. the file is staged as raw text (:mod:`custodes.bundle.stage`), rows the CSV parser cannot take
   set aside with their line;
2. each batch of records is validated against the contract, in SQL;
3. good rows are told apart from duplicates: the same key with the same content (already stored
   or earlier in the file) is skipped; an access event whose ``event_id`` is already known with
   different content is quarantined (events are immutable); a reference row whose content changed
   is stored as a new version (the newest version is current);
4. the batch is written under ``.pending``, committed in the catalog, and published.

Every row read ends in exactly one of: stored, quarantined, duplicate. The counts are the
reconciliation, printed and recorded for every file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from custodes.bundle.contract import Table
from custodes.bundle.files import TableFile, find_tables
from custodes.bundle.stage import LineMap, Staged, sha256_file, stage
from custodes.bundle.validate import (
    digest_expression,
    extra_json,
    ident,
    literal,
    problem_expressions,
    typed_select,
)
from custodes.store.catalog import Counts
from custodes.store.store import Store, writer

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
    table_files = find_tables(bundle)
    with writer(home) as store:
        run_id = store.catalog.start_run("ingest", str(bundle.resolve()))
        reports: list[FileReport] = []
        try:
            for table_file in table_files:
                reports.append(_ingest_file(store, run_id, table_file, batch_rows, progress))
        except BaseException:
            store.catalog.finish_run(run_id, "failed", {"files": [r.to_dict() for r in reports]})
            raise
        report = IngestReport(run_id, str(bundle.resolve()), reports)
        store.catalog.finish_run(run_id, "complete", report.to_dict())
        return report


def _ingest_file(
    store: Store,
    run_id: int,
    table_file: TableFile,
    batch_rows: int,
    progress: ProgressCallback | None,
) -> FileReport:
    db = store.db
    table = table_file.table
    sha = sha256_file(table_file.path)
    tag = f"{table.name}_{run_id}"
    staged = stage(db, table_file, store.work_dir, tag)
    lines = LineMap(db, staged, tag)
    report = FileReport(table.name, str(table_file.path), sha, Counts())
    n_batches = max(1, -(-staged.records // batch_rows))
    for index in range(n_batches):
        first = index * batch_rows + 1
        last = staged.records if index == n_batches - 1 else (index + 1) * batch_rows
        batch = _Batch(store, run_id, staged, lines, sha, first, last, index == n_batches - 1)
        counts = batch.run()
        report.counts.add(counts)
        report.batches.append(batch.batch_id)
        if progress:
            progress(table.name, last, staged.records)
    staged.path.unlink(missing_ok=True)
    return report


class _Batch:
    """One atomic batch: records ``first..last`` of a staged file, plus the reader's rejects
    that fall among them."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        staged: Staged,
        lines: LineMap,
        sha: str,
        first: int,
        last: int,
        is_last: bool,
    ) -> None:
        self.store = store
        self.db: duckdb.DuckDBPyConnection = store.db
        self.staged = staged
        self.table: Table = staged.source.table
        self.lines = lines
        self.sha = sha
        self.first, self.last, self.is_last = first, last, is_last
        self.batch_id = store.catalog.open_batch(
            run_id, self.table.name, staged.source.path, sha, first, last
        )
        self.pending = store.pending_dir / f"b{self.batch_id}"

    def run(self) -> Counts:
        self._check()
        self._classify()
        counts = self._counts()
        files = self._write()
        self.store.catalog.commit_batch(self.batch_id, counts, files)
        self.store.publish(self.batch_id, files)
        self.store.refresh_views()
        return counts

    # 1. validate -----------------------------------------------------------------------------
    def _check(self) -> None:
        source = self.staged.source
        present = tuple(c for c in source.header if c in self.table.by_name)
        checks = problem_expressions(self.table, present)
        problems = (
            "list_filter(["
            + ", ".join(f"{{'col': {literal(col)}, 'msg': {expr}}}" for col, expr in checks)
            + "], p -> p.msg IS NOT NULL)"
            if checks
            else "[]::STRUCT(col VARCHAR, msg VARCHAR)[]"
        )
        raw = raw_json(source.header)
        typed = ", ".join(typed_select(self.table, present))
        self.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE cand AS
            WITH checked AS (
                SELECT *, {problems} AS _problems
                FROM read_parquet({literal(self.staged.path.as_posix())})
                WHERE _rec BETWEEN {self.first} AND {self.last}
            )
            SELECT _rec, _problems,
                   CASE WHEN len(_problems) > 0 THEN {raw} END AS _raw,
                   {typed}, {extra_json(source.extra_columns)} AS _extra
            FROM checked
            """
        )

    # 2. tell good rows from duplicates and conflicts ----------------------------------------
    def _classify(self) -> None:
        table = self.table
        key_cols = table.key or (*tuple(c.name for c in table.columns), "_extra")
        keys = ", ".join(ident(k) for k in key_cols)
        self.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, row_number() OVER w AS _occ, first_value(_rec) OVER w AS _first_rec,
                   first_value(_digest) OVER w AS _first_digest
            FROM (SELECT * EXCLUDE (_problems, _raw), {digest_expression(table)} AS _digest
                  FROM cand WHERE len(_problems) = 0)
            WINDOW w AS (PARTITION BY {keys} ORDER BY _rec)
            """
        )
        match = " AND ".join(f"s.{ident(k)} IS NOT DISTINCT FROM r.{ident(k)}" for k in key_cols)
        versions = f"{table.name}_versions"
        if table.immutable:
            # Events: a key is stored once, with this content or (a conflict) with other content.
            key = ident(table.key[0])
            join = (
                f"LEFT JOIN (SELECT {key} AS _k, _digest AS _stored_digest, _batch AS _stored_batch "
                f"FROM {versions}) s ON s._k = r.{key}"
            )
            extra = "s._stored_digest, s._stored_batch, false AS _key_known"
            seen, clash = "s._stored_digest = r._digest", "s._stored_digest IS NOT NULL"
        else:
            # Reference rows: content seen in any stored version is a duplicate; a known key with
            # new content is a new version; sets have no key, only content.
            join = ""
            known = f"EXISTS (SELECT 1 FROM {versions} s WHERE {match})" if table.key else "false"
            extra = f"NULL::UBIGINT AS _stored_digest, NULL::BIGINT AS _stored_batch, {known} AS _key_known"
            seen = f"EXISTS (SELECT 1 FROM {versions} s WHERE {match} AND s._digest = r._digest)"
            clash = "false"
        self.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE classified AS
            SELECT r.*, {extra},
                CASE
                  WHEN r._occ > 1 AND r._digest = r._first_digest THEN 'duplicate'
                  WHEN r._occ > 1 THEN 'conflict_in_file'
                  WHEN {seen} THEN 'duplicate'
                  WHEN {clash} THEN 'conflict_in_store'
                  ELSE 'store'
                END AS _fate
            FROM ranked r {join}
            """
        )

    # 3. count -------------------------------------------------------------------------------
    def _counts(self) -> Counts:
        row = self.db.execute(
            """
            SELECT count(*) FILTER (WHERE _fate = 'store'),
                   count(*) FILTER (WHERE _fate = 'duplicate'),
                   count(*) FILTER (WHERE _fate LIKE 'conflict%'),
                   count(*) FILTER (WHERE _fate = 'store' AND _key_known)
            FROM classified
            """
        ).fetchone()
        assert row is not None
        stored, duplicates, conflicts, new_versions = (int(v or 0) for v in row)
        invalid = self._scalar("SELECT count(*) FROM cand WHERE len(_problems) > 0")
        rejected = self._scalar(f"SELECT count(*) FROM ({self._rejects_sql()})")
        accepted = self._scalar("SELECT count(*) FROM cand")
        counts = Counts(
            read=accepted + rejected,
            stored=stored,
            quarantined=invalid + conflicts + rejected,
            duplicates=duplicates,
            new_versions=new_versions,
        )
        if self.table.name == "access_events":
            counts.unknown_person = self._scalar(
                "SELECT count(*) FROM classified WHERE _fate = 'store' "
                "AND person_id NOT IN (SELECT person_id FROM workforce)"
            )
        return counts

    def _scalar(self, sql: str) -> int:
        row = self.db.execute(sql).fetchone()
        assert row is not None
        return int(row[0] or 0)

    def _rejects_sql(self) -> str:
        """The reader's rejects that belong to this batch."""
        if self.staged.rejects_table is None:
            return "SELECT NULL::BIGINT AS record_line, NULL::BIGINT AS acc_before, NULL::VARCHAR AS column_name, NULL::VARCHAR AS reason, NULL::VARCHAR AS raw WHERE false"
        upper = "" if self.is_last else f" AND acc_before < {self.last}"
        lower = f"acc_before >= {self.first - 1}" if self.first > 1 else "true"
        return f"SELECT * FROM {self.staged.rejects_table}_rows WHERE {lower}{upper}"

    # 4. write -------------------------------------------------------------------------------
    def _write(self) -> list[str]:
        table = self.table
        columns = ", ".join(ident(c.name) for c in table.columns)
        target = self.pending / table.name
        target.mkdir(parents=True, exist_ok=True)
        rows = f"SELECT {columns}, _extra, _digest, {self.batch_id}::BIGINT AS _batch FROM classified WHERE _fate = 'store' ORDER BY _rec"
        if table.partition_by_month_of:
            month = f"strftime({ident(table.partition_by_month_of)}, '%Y-%m') AS month"
            self.db.execute(
                f"COPY (SELECT *, {month} FROM ({rows})) TO {literal(target.as_posix())} "
                f"(FORMAT parquet, PARTITION_BY (month), FILENAME_PATTERN 'b{self.batch_id}_{{i}}', "
                "OVERWRITE_OR_IGNORE true)"
            )
        elif self._scalar("SELECT count(*) FROM classified WHERE _fate = 'store'"):
            self.db.execute(
                f"COPY ({rows}) TO {literal((target / f'b{self.batch_id}.parquet').as_posix())} (FORMAT parquet)"
            )
        self._write_quarantine()
        files = sorted(
            p.relative_to(self.pending).as_posix() for p in self.pending.rglob("*.parquet")
        )
        for relative in files:
            _fsync(self.pending / relative)
        return files

    def _write_quarantine(self) -> None:
        raw = raw_json(self.staged.source.header)
        accepted_line = self.lines.accepted_line_sql("q._rec")
        rejected_line = self.lines.rejected_line_sql("r.record_line", "r.acc_before")
        first_line = self.lines.accepted_line_sql("c._first_rec")
        key = self.table.key[0] if self.table.key else None
        key_text = (
            " || ".join(f"coalesce(CAST(c.{ident(k)} AS VARCHAR), '')" for k in self.table.key)
            if key
            else "'row'"
        )
        key_name = ", ".join(self.table.key) if key else "the same row"
        conflicts = f"""
            SELECT c._rec,
                   {literal(key or "")} AS column_name,
                   CASE WHEN c._fate = 'conflict_in_file' THEN
                        concat({literal(key_name + " ")}, '''', {key_text}, '''',
                               ' appears earlier in this file with different content (line ', {first_line}, ')')
                   ELSE concat({literal(key_name + " ")}, '''', {key_text}, '''',
                               ' is already stored with different content (batch ', c._stored_batch,
                               '); events are immutable: correct them with a new event')
                   END AS reason
            FROM classified c WHERE c._fate LIKE 'conflict%'
        """
        self.db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE quarantined AS
            WITH bad AS (
                SELECT _rec, _problems[1].col AS column_name,
                       array_to_string(list_transform(_problems, p -> p.msg), '; ') AS reason, _raw AS raw
                FROM cand WHERE len(_problems) > 0
                UNION ALL
                SELECT k._rec, k.column_name, k.reason, {raw} AS raw
                FROM ({conflicts}) k
                JOIN read_parquet({literal(self.staged.path.as_posix())}) USING (_rec)
            )
            SELECT {self.batch_id}::BIGINT AS _batch, {literal(self.table.name)} AS table_name,
                   {literal(str(self.staged.source.path))} AS file, {literal(self.sha)} AS file_sha256,
                   {accepted_line} AS line, column_name, reason, raw
            FROM bad q
            UNION ALL
            SELECT {self.batch_id}::BIGINT, {literal(self.table.name)}, {literal(str(self.staged.source.path))},
                   {literal(self.sha)}, {rejected_line}, r.column_name, r.reason, r.raw
            FROM ({self._rejects_sql()}) r
            """
        )
        # A rerun after a crash quarantines the same rows again: keep one entry per file line.
        fresh = """
            SELECT * FROM quarantined q WHERE NOT EXISTS (
                SELECT 1 FROM quarantine s WHERE s.file_sha256 = q.file_sha256 AND s.line = q.line
                AND s.reason = q.reason)
            ORDER BY line
        """
        if self._scalar(f"SELECT count(*) FROM ({fresh})"):
            target = self.pending / "quarantine"
            target.mkdir(parents=True, exist_ok=True)
            self.db.execute(
                f"COPY ({fresh}) TO {literal((target / f'b{self.batch_id}.parquet').as_posix())} (FORMAT parquet)"
            )


def raw_json(header: tuple[str, ...]) -> str:
    """SQL for a row's original text, as a JSON object of its header columns (kept in quarantine
    so the row can be corrected and ingested again)."""
    return (
        "CAST(json_object("
        + ", ".join(f"{literal(c)}, {ident(c)}" for c in header)
        + ") AS VARCHAR)"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
