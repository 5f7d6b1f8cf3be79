"""Reading one table file into a staging Parquet file of raw text, with nothing lost.

Every value is read as text so that nothing is rejected for its type while reading: validation
(:mod:`custodes.bundle.validate`) decides, with a message a person can act on. Rows the CSV
parser itself cannot take (too many or too few fields, bytes that are not UTF-8, a stray quote)
are collected with their line and raw text, so they can be quarantined too.

Line numbers are physical lines of the file, where the record starts (the header is line 1). The
staging file numbers accepted records ``_rec`` = 1, 2, … in file order; :class:`LineMap` turns
those back into lines, accounting for rejected rows and for quoted values that span lines. For a
Parquet table the "line" is the row number (1-based).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from custodes.bundle.files import TableFile
from custodes.bundle.validate import ident, literal
from custodes.errors import BundleError

READ_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Staged:
    """A table file staged for validation."""

    source: TableFile
    path: Path  # staging Parquet: _rec plus one VARCHAR column per header column
    records: int  # accepted by the reader
    rejects_table: (
        str | None
    )  # temp table of reader rejects: line, acc_before, column_name, reason, raw


def stage(db: duckdb.DuckDBPyConnection, table_file: TableFile, work_dir: Path, tag: str) -> Staged:
    """Stage ``table_file`` into ``work_dir``; raises :class:`BundleError` if it cannot be read."""
    target = work_dir / f"stage-{tag}.parquet"
    columns = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in table_file.header)
    path = literal(table_file.path.as_posix())
    rejects: str | None = None
    if table_file.format == "csv":
        rejects = f"rejects_{tag}"
        spec = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in table_file.header) + "}"
        source = (
            f"read_csv({path}, header = true, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', columns = {spec}, null_padding = false, store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = 'scan_{tag}', encoding = 'utf-8')"
        )
        numbered = f"SELECT row_number() OVER () AS _rec, {columns} FROM {source}"
    else:
        source = f"read_parquet({path}, file_row_number = true)"
        numbered = f"SELECT file_row_number + 1 AS _rec, {columns} FROM {source}"
    try:
        db.execute(f"COPY ({numbered}) TO {literal(target.as_posix())} (FORMAT parquet)")
    except duckdb.Error as error:
        kind = "CSV" if table_file.format == "csv" else "Parquet"
        raise BundleError(
            f"{table_file.path}: cannot be read as {kind} ({_one_line(error)})"
        ) from None
    records = db.execute(
        f"SELECT count(*) FROM read_parquet({literal(target.as_posix())})"
    ).fetchone()
    assert records is not None
    if rejects is not None:
        _summarise_rejects(db, rejects, len(table_file.header))
    return Staged(table_file, target, int(records[0]), rejects)


def _summarise_rejects(db: duckdb.DuckDBPyConnection, rejects: str, width: int) -> None:
    """Replace DuckDB's reject table by one row per rejected record with a readable reason.

    DuckDB numbers a rejected record by records, counting the header as 1; ``acc_before`` is how
    many accepted records precede it, which places it among the staged ``_rec`` numbers.
    """
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {rejects}_rows AS
        WITH one AS (
            SELECT line, arg_min(error_type::VARCHAR, column_idx) AS error_type,
                   arg_min(column_name, column_idx) AS column_name,
                   arg_min(error_message, column_idx) AS error_message,
                   arg_min(csv_line, column_idx) AS csv_line
            FROM {rejects} GROUP BY line
        )
        SELECT line AS record_line,
               line - row_number() OVER (ORDER BY line) - 1 AS acc_before,
               column_name,
               CASE error_type
                 WHEN 'MISSING COLUMNS' THEN concat('row has fewer fields than the header (',
                      {width}, '): ', regexp_extract(error_message, 'Found: (\\d+)', 1), ' found')
                 WHEN 'TOO MANY COLUMNS' THEN concat('row has more fields than the header (',
                      {width}, '): ', regexp_extract(error_message, 'Found: (\\d+)', 1), ' found')
                 WHEN 'INVALID ENCODING' THEN 'row is not valid UTF-8; export the file as UTF-8'
                 WHEN 'UNQUOTED VALUE' THEN
                      'malformed quoting: a quote inside an unquoted value, or a quote never closed'
                 WHEN 'LINE SIZE OVER MAXIMUM' THEN 'row is longer than the 2 MB line limit'
                 ELSE concat('malformed CSV row: ', error_message)
               END AS reason,
               csv_line AS raw
        FROM one
        """
    )


class LineMap:
    """Maps staged record numbers of one CSV file to physical line numbers."""

    def __init__(self, db: duckdb.DuckDBPyConnection, staged: Staged, tag: str) -> None:
        self.db = db
        self.staged = staged
        self.tag = tag
        self._newlines: str | None = None

    def newline_table(self) -> str:
        """Temp table (_rec, nl): accepted records whose values hold line breaks. Built lazily:
        only files with quarantined rows need it."""
        if self._newlines is None:
            name = f"newlines_{self.tag}"
            header = self.staged.source.header
            if self.staged.source.format == "csv" and header:
                count = " + ".join(
                    f"coalesce(length({ident(c)}) - length(replace({ident(c)}, chr(10), '')), 0)"
                    for c in header
                )
                where = " OR ".join(f"contains({ident(c)}, chr(10))" for c in header)
                self.db.execute(
                    f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT _rec, {count} AS nl "
                    f"FROM read_parquet({literal(self.staged.path.as_posix())}) WHERE {where}"
                )
            else:
                self.db.execute(f"CREATE OR REPLACE TEMP TABLE {name} (_rec BIGINT, nl BIGINT)")
            self._newlines = name
        return self._newlines

    def accepted_line_sql(self, rec: str) -> str:
        """SQL for the physical line of the accepted record numbered by expression ``rec``."""
        if self.staged.source.format != "csv":
            return f"CAST({rec} AS BIGINT)"
        newlines = self.newline_table()
        before = f"coalesce((SELECT sum(nl) FROM {newlines} n WHERE n._rec < {rec}), 0)"
        rejected = (
            f"(SELECT count(*) FROM {self.staged.rejects_table}_rows r WHERE r.acc_before < {rec})"
        )
        return f"CAST(1 + {rec} + {rejected} + {before} AS BIGINT)"

    def rejected_line_sql(self, record_line: str, acc_before: str) -> str:
        newlines = self.newline_table()
        before = f"coalesce((SELECT sum(nl) FROM {newlines} n WHERE n._rec <= {acc_before}), 0)"
        return f"CAST({record_line} + {before} AS BIGINT)"


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:240]
