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

import queue
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from custodes.bundle.contract import Kind, Table
from custodes.bundle.files import TableFile
from custodes.bundle.read import FileFacts, ReadLog, Reject, read_batches
from custodes.bundle.validate import (
    checks_for,
    extra_json,
    ident,
    literal,
    normalise,
    problems_sql,
    raw_json,
    typed_select,
)

T = TypeVar("T")
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
    facts: Future[FileFacts],
    per_row: Callable[[int], dict[str, pa.Array]] | None = None,
    on_rows: Callable[[int, int, pa.Table], None] | None = None,
) -> Staged:
    """Read, validate and stage ``table_file``.

    ``per_row(n)``, when given, makes columns added to every ``n`` staged rows (the store uses
    it to give each event a random salt for its ledger commitment). ``on_rows(chunk, part,
    rows)``, when given, sees every piece of staged rows before it is written (the store
    computes the events' ledger leaves from them).

    Raises :class:`custodes.errors.BundleError` if the file cannot be read at all.
    """
    table = table_file.table
    header = table_file.header
    target = work_dir / f"stage-{tag}"
    target.mkdir(parents=True, exist_ok=True)
    present = tuple(c for c in header if c in table.by_name)
    problems = problems_sql(checks_for(table, present))
    text = [c.name for c in table.columns if c.name in present and c.kind.value in ("text", "id")]
    newlines = "NULL::BIGINT"
    if table_file.format == "csv" and text:
        where = " OR ".join(f"contains({ident(c)}, chr(10))" for c in text)
        count = " + ".join(
            f"coalesce(length({ident(c)}) - length(replace({ident(c)}, chr(10), '')), 0)"
            for c in text
        )
        newlines = f"CASE WHEN {where} THEN {count} END"
    # DuckDB computes only what is new: problems and typed values. Text columns are passed
    # through from Arrow untouched (a round trip through DuckDB would double the cost).
    passthrough = [c.name for c in table.columns if c.kind in (Kind.TEXT, Kind.ID)]
    derived = [
        expression
        for column, expression in zip(table.columns, typed_select(table, present), strict=True)
        if column.name not in passthrough
    ]
    flags = "".join(f", {flag}" for flag in problems.flags)
    query = f"""
        WITH flagged AS (SELECT *{flags} FROM chunk_rows),
        checked AS (
            SELECT *, CASE WHEN {problems.bad} THEN {problems.listing} END AS _p FROM flagged
        )
        SELECT _rec, _p[1].col AS _problem_column,
               array_to_string(list_transform(_p, p -> p.msg), '; ') AS _problem,
               CASE WHEN _p IS NOT NULL THEN {raw_json(header)} END AS _raw,
               {"".join(f"{expression}, " for expression in derived)}
               {extra_json(table_file.extra_columns)} AS _extra,
               {newlines} AS _nl
        FROM checked
    """
    log = ReadLog()
    part = 0
    # Three stages overlap: Arrow reads the next block and writes the last one while DuckDB
    # checks this one (all three release the GIL), so the two cores are kept busy.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-writer") as writer:
        writes: deque[Future[None]] = deque()
        for batch in prefetch(read_batches(table_file, log, facts)):
            first = log_first(batch)
            for offset, length in _slices(first, batch.num_rows, batch_rows):
                chunk = (first + offset - 1) // batch_rows
                piece = batch.slice(offset, length)
                prepared = normalise(table, present, piece)
                # Several record batches, so that DuckDB can spread the work over its threads.
                db.register(
                    "chunk_rows",
                    pa.Table.from_batches(prepared.to_batches(max_chunksize=PIECE_ROWS)),
                )
                try:
                    computed = db.execute(query).to_arrow_table()
                finally:
                    db.unregister("chunk_rows")
                rows = _assemble(table, piece, computed)
                for name, values in (per_row(rows.num_rows) if per_row else {}).items():
                    rows = rows.append_column(name, values)
                if on_rows:
                    on_rows(chunk, part, rows)
                directory = target / f"_chunk={chunk}"
                writes.append(
                    writer.submit(_write, rows, directory, part, table.partition_by_month_of)
                )
                part += 1
                while len(writes) > 1:
                    writes.popleft().result()
        for pending in writes:
            pending.result()
    staged = Staged(table_file, target, log.records, batch_rows, log.rejects)
    staged.lines = LineMap.build(db, staged)
    return staged


def log_first(batch: pa.Table) -> int:
    """The record number of a batch's first row."""
    return int(batch.column("_rec")[0].as_py()) if batch.num_rows else 1


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead; its exceptions are
    raised here, in order."""
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for item in items:
                slots.put(("item", item))
        except BaseException as error:  # handed over to the consumer, raised there
            slots.put(("error", error))
        else:
            slots.put(("done", None))

    thread = threading.Thread(target=produce, name="stage-reader", daemon=True)
    thread.start()
    while True:
        kind, value = slots.get()
        if kind == "done":
            break
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        yield value  # type: ignore[misc]
    thread.join()


def _assemble(table: Table, piece: pa.Table, computed: pa.Table) -> pa.Table:
    """The staged rows: ``_rec``, the problem columns, every contract column in contract order
    (text from the input, typed values from DuckDB; NULL where the file lacks it), the rest.

    DuckDB scans an Arrow table's record batches in parallel and does not promise to return
    rows in input order, so its output is put back in the order of ``_rec`` before the columns
    are set side by side with the input's.
    """
    computed = _in_record_order(piece, computed)
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
    for name in ("_extra", "_nl"):
        if name in computed.column_names:
            columns[name] = computed.column(name)
    return pa.table(columns)


def _in_record_order(piece: pa.Table, computed: pa.Table) -> pa.Table:
    """``computed`` reordered so that its row i is the row of ``piece``'s record i."""
    first = int(piece.column("_rec")[0].as_py()) if piece.num_rows else 0
    position = computed.column("_rec").to_numpy() - first
    if computed.num_rows != piece.num_rows or not (
        position.size == 0 or (position.min() >= 0 and position.max() < piece.num_rows)
    ):
        raise RuntimeError("DuckDB returned rows that are not the batch's records")
    if np.array_equal(position, np.arange(position.size)):
        return computed
    order = np.empty_like(position)
    order[position] = np.arange(position.size)
    return computed.take(pa.array(order))


ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group of a stored file. Readers skip a row group whose range of a
column (its statistics) cannot hold what they look for, and DuckDB gives each thread whole row
groups: Arrow's default (a million rows) meant a case page reading ten cited events decoded
every event id of the file, and a ledger worker computing the leaves of 262,144 records decoded
the million around them. Events arrive in time order with ids that grow with it, so ranges of
ids, records and times are narrow per row group."""


def _write(rows: pa.Table, directory: Path, part: int, month_of: str | None) -> None:
    """Write validated rows as Parquet (by Arrow's writer: DuckDB's is slower from Arrow input),
    by month of ``month_of`` (UTC) when given; rows whose timestamp is invalid go to a partition
    of their own, which is never published as it is."""
    if month_of is None:
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, directory / f"part_{part}.parquet", row_group_size=ROW_GROUP_ROWS)
        return
    stamps = rows.column(month_of).cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
    months = stamps.astype("datetime64[M]")
    for month in np.unique(months):
        selected = np.isnat(months) if np.isnat(month) else months == month
        name = "month=__HIVE_DEFAULT_PARTITION__" if np.isnat(month) else f"month={month}"
        (directory / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(
            rows.filter(pa.array(selected)),
            directory / name / f"part_{part}.parquet",
            row_group_size=ROW_GROUP_ROWS,
        )


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
