"""Writing tables to disk, a batch at a time, as CSV or Parquet.

CSV follows RFC 4180 as pyarrow writes it: a header row, commas, values quoted only where a file
holds a value that needs it (pyarrow then quotes every text value of that file, which RFC 4180
allows), and missing values as empty fields. Access events never contain a comma, quote or line
break, so the large file is written unquoted. Parquet files hold the same text values as the CSV
(dates and timestamps as ISO 8601 text), so a reader sees one bundle whichever format it gets.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Format = Literal["csv", "parquet"]
_NEEDS_QUOTES = r'[,"\r\n]'


class TableSink:
    """One table file being written; columns are text, absent columns are written empty."""

    def __init__(
        self, path: Path, columns: tuple[str, ...], fmt: Format, *, quote: bool = False
    ) -> None:
        self.path = path
        self.columns = columns
        self.schema = pa.schema([(name, pa.string()) for name in columns])
        self.rows = 0
        self._writer: pacsv.CSVWriter | pq.ParquetWriter
        if fmt == "csv":
            options = pacsv.WriteOptions(
                quoting_style="needed" if quote else "none", quoting_header="none"
            )
            self._writer = pacsv.CSVWriter(str(path), self.schema, write_options=options)
        else:
            self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def write(self, data: dict[str, pa.Array]) -> None:
        n = len(next(iter(data.values())))
        arrays = [
            data[name].cast(pa.string()) if name in data else pa.nulls(n, pa.string())
            for name in self.columns
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += n

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TableSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def needs_quotes(data: dict[str, pa.Array]) -> bool:
    """Whether any text value holds a comma, quote or line break."""
    return any(
        pc.any(pc.match_substring_regex(column, _NEEDS_QUOTES)).as_py()
        for column in data.values()
        if pa.types.is_string(column.type) and len(column)
    )


def write_table(
    path: Path, columns: tuple[str, ...], data: dict[str, pa.Array], fmt: Format
) -> int:
    """Write a whole table at once; returns the number of rows."""
    with TableSink(path, columns, fmt, quote=needs_quotes(data)) as sink:
        sink.write(data)
        return sink.rows


def remove_bundle(out: Path, tables: tuple[str, ...]) -> None:
    """Remove the tables of an earlier bundle in either format, so no stale file is left behind."""
    for name in tables:
        for suffix in (".csv", ".parquet"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
