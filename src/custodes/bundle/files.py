"""Finding a bundle's tables on disk and checking their headers before anything is written.

Every file-level problem (no such directory, a table given both as CSV and Parquet, a file that is
not readable, an empty file, a header without a required column or with a column twice) is found
here, for every table, before the first row is stored: a bundle with a broken file is refused
whole, with one line per problem, rather than half ingested.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from custodes.bundle.contract import INGEST_ORDER, TABLES_BY_NAME, Table
from custodes.errors import BundleError

Format = Literal["csv", "parquet"]


@dataclass(frozen=True)
class TableFile:
    """One table of a bundle, found on disk, with the columns its header declares."""

    table: Table
    path: Path
    format: Format
    header: tuple[str, ...]

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns outside the contract: kept with each row, never rejected."""
        return tuple(c for c in self.header if c not in self.table.by_name)


def find_tables(bundle: Path) -> list[TableFile]:
    """The bundle's tables in ingest order (reference data before events).

    A bundle may hold any subset of the tables (a daily delta carries only new events). Raises
    :class:`BundleError` listing every file-level problem at once.
    """
    if not bundle.exists():
        raise BundleError(f"{bundle}: no such bundle directory")
    if not bundle.is_dir():
        raise BundleError(f"{bundle}: a bundle is a directory of NAME.csv or NAME.parquet files")
    found: list[TableFile] = []
    problems: list[str] = []
    for name in INGEST_ORDER:
        candidates = [p for p in (bundle / f"{name}.csv", bundle / f"{name}.parquet") if p.exists()]
        if len(candidates) > 1:
            problems.append(
                f"{bundle}: table {name} is given twice ({name}.csv and {name}.parquet)"
            )
            continue
        if not candidates:
            continue
        try:
            found.append(inspect_file(TABLES_BY_NAME[name], candidates[0]))
        except BundleError as error:
            problems.append(str(error))
    if problems:
        raise BundleError("\n".join(problems))
    if not found:
        tables = ", ".join(INGEST_ORDER)
        raise BundleError(
            f"{bundle}: no bundle tables found (expected NAME.csv or NAME.parquet for {tables})"
        )
    return found


def inspect_file(table: Table, path: Path) -> TableFile:
    """Read and check the header of one table file."""
    fmt: Format = "parquet" if path.suffix == ".parquet" else "csv"
    if not path.is_file():
        raise BundleError(f"{path}: not a regular file")
    header = _parquet_header(path) if fmt == "parquet" else _csv_header(path)
    _check_header(table, path, header)
    return TableFile(table, path, fmt, header)


def _csv_header(path: Path) -> tuple[str, ...]:
    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 20)
    except OSError as error:
        raise BundleError(f"{path}: cannot be read ({error.strerror})") from None
    if not first.strip():
        raise BundleError(f"{path}: the file is empty; a CSV table starts with a header row")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleError(f"{path}: the header row is not valid UTF-8") from None
    row = next(csv.reader(io.StringIO(text)), [])
    return tuple(name.strip() for name in row)


def _parquet_header(path: Path) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except OSError as error:
        raise BundleError(f"{path}: cannot be read as Parquet ({error})") from None
    except Exception as error:  # pyarrow raises ArrowInvalid for files that are not Parquet
        raise BundleError(f"{path}: not a Parquet file ({_one_line(error)})") from None
    return tuple(schema.names)


def _check_header(table: Table, path: Path, header: tuple[str, ...]) -> None:
    seen: set[str] = set()
    twice = sorted({c for c in header if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if twice:
        raise BundleError(f"{path}: column {', '.join(twice)} appears more than once in the header")
    if any(not c for c in header):
        raise BundleError(f"{path}: the header has an empty column name")
    missing = [c for c in table.required if c not in header]
    if missing:
        raise BundleError(
            f"{path}: wrong header for table {table.name}: required column "
            f"{', '.join(missing)} missing (header: {', '.join(header)})"
        )


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
