"""Reading a table file as numbered batches of text, with every unreadable row kept.

CSV files are parsed by Arrow's streaming reader, single-threaded: it is fast (hundreds of MB/s)
and, read serially, it reports the physical line of each row it cannot parse (too many or too
few fields, a quote never closed), which a parallel reader cannot. Values are read as bytes and
decoded here, so a row with bytes that are not UTF-8 is a problem of that row, not of the file.

Each accepted record gets ``_rec`` = 1, 2, … in file order; ``_reader_problem`` carries a decoding
problem (NULL when none). Parquet files are read batch by batch, every column cast to text; their
``_rec`` is the row number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custodes.bundle.files import TableFile
from custodes.errors import BundleError

BLOCK_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 262_144


@dataclass(frozen=True)
class Reject:
    """A row the parser could not take: where it is, how many lines it spans, and why.

    ``line`` is first the parser's record number (the header is record 1); staging turns it
    into the physical line (:class:`custodes.bundle.stage.LineMap`)."""

    line: int
    span: int
    reason: str
    raw: str


@dataclass
class ReadLog:
    """What reading a file found besides its records, filled in as batches are read."""

    rejects: list[Reject] = field(default_factory=list)
    records: int = 0


@dataclass(frozen=True)
class FileFacts:
    """Learnt from one pass over a file's bytes, before parsing it."""

    sha256: str
    odd_quotes: bool  # an odd number of '"': some quoted value is never closed


def file_facts(path: Path) -> FileFacts:
    digest = hashlib.sha256()
    quotes = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            quotes += block.count(b'"')
    return FileFacts(digest.hexdigest(), quotes % 2 == 1)


def read_batches(
    table_file: TableFile, log: ReadLog, facts: Future[FileFacts]
) -> Iterator[pa.Table]:
    """Yield the file's records as tables of text columns plus ``_rec`` and reader problems.

    ``facts`` (computed alongside, in another thread) are needed only at the end of the file.
    """
    if table_file.format == "parquet":
        yield from _parquet_batches(table_file, log)
        return
    held: pa.Table | None = None
    for batch in _csv_batches(table_file, log):
        if held is not None:
            yield held
        held = batch
    unclosed = facts.result().odd_quotes and not any(
        r.reason.startswith("malformed quoting") for r in log.rejects
    )
    if held is not None and unclosed and held.num_rows:
        # A quote opened in the last record and never closed runs to the end of the file; the
        # parser takes it as a value, but it is a cut-short or malformed row.
        problems = held.column("_reader_problem").to_pylist()
        problems[-1] = (
            "_: malformed quoting: a quoted value is never closed (it runs to the end of the file)"
        )
        index = held.schema.get_field_index("_reader_problem")
        held = held.set_column(index, "_reader_problem", pa.array(problems, pa.string()))
    if held is not None:
        yield held


def _csv_batches(table_file: TableFile, log: ReadLog) -> Iterator[pa.Table]:
    header = list(table_file.header)
    width = len(header)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        text = row.text or ""
        found = row.actual_columns
        if text.count('"') % 2:
            reason = "malformed quoting: a quoted value is never closed"
        elif found < width:
            reason = f"row has fewer fields than the header ({width}): {found} found"
        else:
            reason = f"row has more fields than the header ({width}): {found} found"
        log.rejects.append(Reject(int(row.number or 0), text.count("\n") + 1, reason, text))
        return "skip"

    try:
        reader = pacsv.open_csv(
            table_file.path,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=BLOCK_BYTES, column_names=header, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.binary() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                check_utf8=False,
            ),
        )
        for batch in reader:
            yield _decoded(batch, header, log)
    except (OSError, pa.ArrowException) as error:
        message = " ".join(str(error).split())[:200]
        raise BundleError(f"{table_file.path}: cannot be read as CSV ({message})") from None


def _decoded(batch: pa.RecordBatch, header: list[str], log: ReadLog) -> pa.Table:
    """Binary columns to text; a row whose bytes are not UTF-8 keeps a readable copy and a
    problem that sends it to quarantine."""
    n = batch.num_rows
    columns: list[pa.Array] = []
    problem: list[str | None] | None = None
    for index, name in enumerate(header):
        column = batch.column(index)
        try:
            columns.append(column.cast(pa.string()))
        except pa.ArrowInvalid:
            values = column.to_pylist()
            texts: list[str | None] = []
            for row, value in enumerate(values):
                if value is None:
                    texts.append(None)
                    continue
                try:
                    texts.append(value.decode("utf-8"))
                except UnicodeDecodeError:
                    texts.append(value.decode("utf-8", errors="replace"))
                    problem = problem or [None] * n
                    problem[row] = problem[row] or (
                        f"{name}: not valid UTF-8; export the file as UTF-8"
                    )
            columns.append(pa.array(texts, type=pa.string()))
    first = log.records + 1
    log.records += n
    table = pa.Table.from_arrays(columns, names=header)
    table = table.append_column("_rec", pa.array(np.arange(first, first + n, dtype=np.int64)))
    return table.append_column("_reader_problem", pa.array(problem or [None] * n, type=pa.string()))


def _parquet_batches(table_file: TableFile, log: ReadLog) -> Iterator[pa.Table]:
    header = list(table_file.header)
    try:
        source = pq.ParquetFile(table_file.path)
        for batch in source.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=header):
            columns = [_as_text(batch.column(i)) for i in range(len(header))]
            first = log.records + 1
            log.records += batch.num_rows
            table = pa.Table.from_arrays(columns, names=header)
            table = table.append_column(
                "_rec", pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
            )
            yield table.append_column("_reader_problem", pa.nulls(batch.num_rows, type=pa.string()))
    except (OSError, pa.ArrowException) as error:
        message = " ".join(str(error).split())[:200]
        raise BundleError(f"{table_file.path}: cannot be read as Parquet ({message})") from None


def _as_text(column: pa.Array) -> pa.Array:
    """A Parquet column as text: timestamps in ISO 8601 (with offset when the type has a zone)."""
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z")
    return column.cast(pa.string())  # a naive timestamp has no offset: validation says so
