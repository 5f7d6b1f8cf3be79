"""Staging: read, validate and type every row of a table file, in a single pass.

Batches of records from :mod:`custodes.bundle.read` are validated and typed inside DuckDB and
written to staging Parquet, split into chunks of ``batch_rows`` records (and, for events, by
month). A chunk without a single problem is later published as it is, by renaming its files: no
second pass over clean data. That single pass is what keeps ingest close to the speed of a bare
CSV-to-Parquet copy.

Staged rows carry ``_rec`` (record number), ``_problem_column`` and ``_problem`` (NULL when the
row is valid), ``_raw`` (the original text as JSON, only for invalid rows), the typed contract
columns, ``_extra`` (columns outside the contract, as JSON) and ``_nl`` (line breaks inside its
values; NULL when none).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from custodes.bundle.contract import Kind, Table
from custodes.bundle.files import TableFile
from custodes.bundle.read import FileFacts, ReadLog, Reject, read_batches
from custodes.bundle.validate import (
    checks_for,
    extra_json,
    ident,
    literal,
    problems_sql,
    raw_json,
    typed_select,
)

PIECE_ROWS = 32_768  # rows per Arrow record batch handed to DuckDB (its unit of parallelism)


@dataclass
class Staged:
    """A table file read, validated and split into chunks under ``directory``."""

    source: TableFile
    directory: Path
    records: int  # accepted by the parser
    batch_rows: int
    rejects: list[Reject]  # rows the parser could not take, in file order
    lines: LineMap = field(init=False)

    @property
    def chunks(self) -> int:
        return max(1, -(-self.records // self.batch_rows))

    def chunk_files(self, chunk: int) -> list[Path]:
        return sorted((self.directory / f"_chunk={chunk}").rglob("*.parquet"))

    def chunk_rejects(self, chunk: int) -> list[tuple[Reject, int]]:
        """The parser's rejects among the records of ``chunk``, each with its accepted-before
        count."""
        out = []
        for reject, before in zip(self.rejects, self.lines.rejects_before, strict=True):
            where = min(before // self.batch_rows, self.chunks - 1)
            if where == chunk:
                out.append((reject, before))
        return out


def stage(
    db: duckdb.DuckDBPyConnection,
    table_file: TableFile,
    work_dir: Path,
    tag: str,
    batch_rows: int,
    facts: FileFacts,
) -> Staged:
    """Read, validate and stage ``table_file``.

    Raises :class:`custodes.errors.BundleError` if the file cannot be read at all.
    """
    table = table_file.table
    header = table_file.header
    target = work_dir / f"stage-{tag}"
    target.mkdir(parents=True, exist_ok=True)
    present = tuple(c for c in header if c in table.by_name)
    bad, problems = problems_sql(checks_for(table, present))
    text = [c.name for c in table.columns if c.name in present and c.kind.value in ("text", "id")]
    newlines = "NULL::BIGINT"
    if table_file.format == "csv" and text:
        where = " OR ".join(f"contains({ident(c)}, chr(10))" for c in text)
        count = " + ".join(
            f"coalesce(length({ident(c)}) - length(replace({ident(c)}, chr(10), '')), 0)"
            for c in text
        )
        newlines = f"CASE WHEN {where} THEN {count} END"
    month = ""
    if table.partition_by_month_of:
        month = f", strftime({ident(table.partition_by_month_of)}, '%Y-%m') AS month"
    # DuckDB computes only what is new: problems and typed values. Text columns are passed
    # through from Arrow untouched (a round trip through DuckDB would double the cost).
    passthrough = [c.name for c in table.columns if c.kind in (Kind.TEXT, Kind.ID)]
    derived = [
        expression
        for column, expression in zip(table.columns, typed_select(table, present), strict=True)
        if column.name not in passthrough
    ]
    query = f"""
        WITH checked AS (
            SELECT *, CASE WHEN {bad} THEN {problems} END AS _p FROM chunk_rows
        ),
        typed AS (
            SELECT _p[1].col AS _problem_column,
                   array_to_string(list_transform(_p, p -> p.msg), '; ') AS _problem,
                   CASE WHEN _p IS NOT NULL THEN {raw_json(header)} END AS _raw,
                   {"".join(f"{expression}, " for expression in derived)}
                   {extra_json(table_file.extra_columns)} AS _extra,
                   {newlines} AS _nl
            FROM checked
        )
        SELECT *{month} FROM typed
    """
    log = ReadLog()
    part = 0
    for batch in read_batches(table_file, log, facts):
        first = log.records - batch.num_rows + 1
        for offset, length in _slices(first, batch.num_rows, batch_rows):
            chunk = (first + offset - 1) // batch_rows
            # Several record batches, so that DuckDB can spread the work over its threads.
            piece = batch.slice(offset, length)
            db.register(
                "chunk_rows", pa.Table.from_batches(piece.to_batches(max_chunksize=PIECE_ROWS))
            )
            try:
                computed = db.execute(query).to_arrow_table()
            finally:
                db.unregister("chunk_rows")
            _write(_assemble(table, piece, computed), target / f"_chunk={chunk}", part, bool(month))
            part += 1
    staged = Staged(table_file, target, log.records, batch_rows, log.rejects)
    staged.lines = LineMap.build(db, staged)
    return staged


def _assemble(table: Table, piece: pa.Table, computed: pa.Table) -> pa.Table:
    """The staged rows: ``_rec``, the problem columns, every contract column in contract order
    (text from the input, typed values from DuckDB; NULL where the file lacks it), the rest."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"_rec": piece.column("_rec")}
    for name in ("_problem_column", "_problem", "_raw"):
        columns[name] = computed.column(name)
    for column in table.columns:
        if column.name in computed.column_names:
            columns[column.name] = computed.column(column.name)
        elif column.name in piece.column_names:
            columns[column.name] = piece.column(column.name)
        else:
            columns[column.name] = pa.nulls(piece.num_rows, pa.string())
    for name in ("_extra", "_nl", "month"):
        if name in computed.column_names:
            columns[name] = computed.column(name)
    return pa.table(columns)


def _write(rows: pa.Table, directory: Path, part: int, by_month: bool) -> None:
    """Write validated rows as Parquet (by Arrow's writer: DuckDB's is slower from Arrow input)."""
    if not by_month:
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, directory / f"part_{part}.parquet")
        return
    months = rows.column("month")
    for value in pc.unique(months).to_pylist():
        selected = rows.filter(pc.is_null(months) if value is None else pc.equal(months, value))
        name = "month=__HIVE_DEFAULT_PARTITION__" if value is None else f"month={value}"
        (directory / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(selected.drop_columns(["month"]), directory / name / f"part_{part}.parquet")


def _slices(first: int, rows: int, batch_rows: int) -> list[tuple[int, int]]:
    """Split ``rows`` records numbered from ``first`` at chunk boundaries."""
    out = []
    offset = 0
    while offset < rows:
        position = first + offset - 1
        length = min(rows - offset, batch_rows - position % batch_rows)
        out.append((offset, length))
        offset += length
    return out


@dataclass
class LineMap:
    """Physical line numbers of a CSV file's records (the header is line 1).

    Lines and records differ where a quoted value spans lines and where the parser rejected a
    row; both are rare, so the map keeps only those (sorted) and answers by binary search.
    For Parquet the "line" is the row number.
    """

    is_csv: bool
    nl_recs: list[int]  # records (accepted) holding line breaks, ascending
    nl_cum: list[int]  # line breaks in records up to and including nl_recs[i]
    rejects_before: list[int]  # for each reject: accepted records before it
    reject_span_cum: list[int]  # lines spanned by rejects up to and including i

    @classmethod
    def build(cls, db: duckdb.DuckDBPyConnection, staged: Staged) -> LineMap:
        is_csv = staged.source.format == "csv"
        nl_recs: list[int] = []
        nl_counts: list[int] = []
        if is_csv and any(staged.directory.rglob("*.parquet")):
            glob = literal((staged.directory / "**" / "*.parquet").as_posix())
            found = db.execute(
                f"SELECT _rec, _nl FROM read_parquet({glob}) WHERE _nl IS NOT NULL ORDER BY _rec"
            ).fetchall()
            nl_recs = [int(r) for r, _ in found]
            nl_counts = [int(n) for _, n in found]
        line_map = cls(is_csv, nl_recs, list(accumulate(nl_counts)), [], [])
        spans = 0
        for index, reject in enumerate(staged.rejects):
            # The parser numbers records (the header is record 1), not lines.
            before = reject.line - 2 - index
            line_map.rejects_before.append(before)
            line = reject.line + line_map._newlines_before(before + 1) + spans - index
            staged.rejects[index] = replace(reject, line=line)
            spans += reject.span
            line_map.reject_span_cum.append(spans)
        return line_map

    def _newlines_before(self, rec: int) -> int:
        """Line breaks inside accepted records numbered below ``rec``."""
        index = bisect_left(self.nl_recs, rec)
        return self.nl_cum[index - 1] if index else 0

    def accepted(self, recs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The physical lines where accepted records ``recs`` start."""
        if not self.is_csv:
            return recs
        return (
            1
            + recs
            + _cumulative_before(self.nl_recs, self.nl_cum, recs)
            + (_cumulative_before(self.rejects_before, self.reject_span_cum, recs - 1, right=True))
        )


def _cumulative_before(
    keys: list[int], cumulative: list[int], at: npt.NDArray[np.int64], right: bool = False
) -> npt.NDArray[np.int64]:
    """For each value of ``at``: the cumulative total of entries whose key is below it (or, with
    ``right``, at most it)."""
    if not keys:
        return np.zeros_like(at)
    index = np.searchsorted(np.asarray(keys), at, side="right" if right else "left")
    totals = np.concatenate([[0], np.asarray(cumulative, dtype=np.int64)])
    return totals[index]
