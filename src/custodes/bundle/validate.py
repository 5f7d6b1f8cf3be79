"""Contract validation and normalisation, written as SQL generated from the contract.

Validation runs inside DuckDB, vectorised over millions of rows: a Python loop per row would be
two orders of magnitude too slow for the ingest goal (within 2x of a bare CSV-to-Parquet copy).
Each rule is a :class:`Check`: a condition true when a row breaks it, and a message that says
which column, what value and what would be accepted, so the person fixing the export can act.
Messages are built only for the rows that need them.

The input of every expression is the raw text of a column (``VARCHAR``; NULL when empty). The
output is the typed, normalised value stored: codes in lower case, systems in upper case,
timestamps as ``TIMESTAMPTZ`` in UTC, dates as ``DATE``, flags as a sorted list.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from custodes.bundle.contract import Column, Kind, Table

# ISO 8601 date-time with a UTC offset: DuckDB would accept a naive timestamp and silently assume
# the session time zone, which is exactly the ambiguity the contract forbids.
# (Patterns are matched against the whole value.)
TIMESTAMP_PATTERN = (
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)"
)
NAIVE_TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
OPEN_CODE_PATTERN = r"[A-Za-z0-9_.\-]{1,32}"
SAMPLE_CHARS = 60  # how much of a bad value a message quotes
QUOTE = "''''"  # an SQL string literal holding one single quote


def ident(name: str) -> str:
    """Quote an SQL identifier (``end`` and ``start`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """One rule on one column: ``bad`` is true when a row breaks it; ``message`` (evaluated only
    for such rows) says what is wrong."""

    column: str
    bad: str
    message: str


NORMALISED = "_n_"  # prefix of a column's trimmed (and case-normalised) text
BLANK = "_blank_"  # prefix of a column's "empty or only spaces" flag


def normalise(table: Table, present: tuple[str, ...], rows: pa.Table) -> pa.Table:
    """Add, for the columns that need them, the trimmed and case-normalised text (codes lower
    case, systems upper case) and a blank flag.

    Done in Arrow, whose string kernels are several times cheaper than the same work in SQL;
    the checks and typed values then read these columns. The original text stays, for messages
    and for the quarantine.
    """
    for column in table.columns:
        if column.name not in present or (
            column.kind in (Kind.TEXT, Kind.ID) and not column.required
        ):
            continue
        trimmed = pc.utf8_trim_whitespace(rows.column(column.name))
        blank = pc.fill_null(pc.equal(pc.utf8_length(trimmed), 0), True)
        rows = rows.append_column(BLANK + column.name, blank)
        if column.kind is Kind.CODE:
            rows = rows.append_column(NORMALISED + column.name, pc.utf8_lower(trimmed))
        elif column.kind is Kind.OPEN_CODE:
            rows = rows.append_column(NORMALISED + column.name, pc.utf8_upper(trimmed))
        elif column.kind in (Kind.TIMESTAMP, Kind.DATE, Kind.FLAGS):
            rows = rows.append_column(NORMALISED + column.name, trimmed)
    return rows


def checks_for(table: Table, present: tuple[str, ...]) -> list[Check]:
    """Every rule of ``table`` that applies to the contract columns the file has (``present``);
    absent optional columns are simply NULL. Reads the columns :func:`normalise` adds."""
    checks: list[Check] = []
    for column in table.columns:
        if column.name not in present:
            continue
        blank = ident(BLANK + column.name)
        if column.required:
            checks.append(
                Check(column.name, blank, literal(f"{column.name} is required but empty"))
            )
        rule = _kind_rule(column, ident(column.name), ident(NORMALISED + column.name))
        if rule:
            bad, message = rule
            checks.append(Check(column.name, f"(NOT {blank} AND {bad})", message))
    for order in table.order_rules:
        if order.earlier in present and order.later in present:
            earlier, later = (_typed(table.by_name[n]) for n in (order.earlier, order.later))
            message = (
                f"concat({literal(order.later + ' (')}, {ident(order.later)}, "
                f"{literal(') is before ' + order.earlier + ' (')}, {ident(order.earlier)}, ')')"
            )
            checks.append(Check(order.later, f"({later} < {earlier})", message))
    return checks


@dataclass(frozen=True)
class ProblemsSQL:
    """The SQL that finds a row's problems, in two steps so each rule is evaluated once.

    ``flags`` (``expr AS _cN``, one per rule) go in an inner SELECT; ``bad`` and ``listing``
    refer to them in the outer one. The listing (``{col, msg}`` structs) is built only for bad
    rows: building it for every row would cost more than the checks.
    """

    flags: list[str]
    bad: str
    listing: str


def problems_sql(checks: list[Check], reader_problem: str = "_reader_problem") -> ProblemsSQL:
    """``reader_problem`` names a column holding a problem found while reading
    (``column: message``)."""
    flags = [f"coalesce({c.bad}, false) AS _c{i}" for i, c in enumerate(checks)]
    conditions = [f"{reader_problem} IS NOT NULL"] + [f"_c{i}" for i in range(len(checks))]
    items = [f"{{'col': split_part({reader_problem}, ':', 1), 'msg': {reader_problem}}}"]
    items += [
        f"{{'col': {literal(c.column)}, 'msg': CASE WHEN _c{i} THEN {c.message} END}}"
        for i, c in enumerate(checks)
    ]
    listing = f"list_filter([{', '.join(items)}], p -> p.msg IS NOT NULL)"
    return ProblemsSQL(flags, "(" + " OR ".join(conditions) + ")", listing)


def _kind_rule(column: Column, original: str, value: str) -> tuple[str, str] | None:
    """(bad condition on the normalised ``value``, message quoting the ``original``) for a
    non-blank value of the column's kind."""
    name = column.name
    quoted = f"{literal(name + ' ')}, {QUOTE}, left({original}, {SAMPLE_CHARS}), {QUOTE}"
    if column.kind is Kind.CODE:
        codes = ", ".join(literal(c) for c in column.codes)
        expected = literal(f"; expected one of: {column.describe_codes()}")
        return f"{value} NOT IN ({codes})", f"concat('unknown ', {quoted}, {expected})"
    if column.kind is Kind.OPEN_CODE:
        return (
            f"NOT regexp_full_match({value}, {literal(OPEN_CODE_PATTERN)})",
            f"concat({quoted}, "
            f"{literal(' is not a system code (letters, digits, _ . - ; at most 32)')})",
        )
    if column.kind is Kind.TIMESTAMP:
        naive = literal(" has no UTC offset; write it as e.g. 2026-01-05T08:13:22Z")
        wrong = literal(" is not an ISO 8601 timestamp with offset, e.g. 2026-01-05T08:13:22Z")
        return (
            f"(NOT regexp_full_match({value}, {literal(TIMESTAMP_PATTERN)}) "
            f"OR try_cast({value} AS TIMESTAMPTZ) IS NULL)",
            f"CASE WHEN regexp_full_match({value}, {literal(NAIVE_TIMESTAMP_PATTERN)}) "
            f"THEN concat({quoted}, {naive}) ELSE concat({quoted}, {wrong}) END",
        )
    if column.kind is Kind.DATE:
        return (
            f"(NOT regexp_full_match({value}, {literal(DATE_PATTERN)}) "
            f"OR try_cast({value} AS DATE) IS NULL)",
            f"concat({quoted}, {literal(' is not a date YYYY-MM-DD')})",
        )
    if column.kind is Kind.FLAGS:
        codes = "[" + ", ".join(literal(c) for c in column.codes) + "]"
        unknown = f"list_filter({_flag_list(value)}, f -> NOT list_contains({codes}, f))"
        expected = literal(f"; expected any of: {column.describe_codes()}")
        return (
            f"len({unknown}) > 0",
            f"concat('unknown ', {literal(name + ' ')}, {QUOTE}, "
            f"array_to_string({unknown}, ';'), {QUOTE}, {expected})",
        )
    return None


def _flag_list(col: str) -> str:
    return (
        f"list_filter(list_transform(string_split({col}, ';'), f -> lower(trim(f))), f -> f <> '')"
    )


def _typed(column: Column) -> str:
    """SQL for the stored value of a column (NULL where it does not parse), from the columns
    :func:`normalise` adds."""
    value = ident(NORMALISED + column.name)
    if column.kind in (Kind.CODE, Kind.OPEN_CODE):
        return value
    if column.kind is Kind.TIMESTAMP:
        return f"try_cast({value} AS TIMESTAMPTZ)"
    if column.kind is Kind.DATE:
        return f"try_cast({value} AS DATE)"
    if column.kind is Kind.FLAGS:
        return (
            f"CASE WHEN {value} IS NOT NULL THEN list_sort(list_distinct({_flag_list(value)})) END"
        )
    return ident(column.name)


def stored_type(column: Column) -> str:
    """The DuckDB type a column is stored as."""
    return {
        Kind.TIMESTAMP: "TIMESTAMPTZ",
        Kind.DATE: "DATE",
        Kind.FLAGS: "VARCHAR[]",
    }.get(column.kind, "VARCHAR")


def typed_select(table: Table, present: tuple[str, ...]) -> list[str]:
    """``expr AS name`` for every contract column, NULL for those the file lacks."""
    out = []
    for column in table.columns:
        expr = _typed(column) if column.name in present else f"NULL::{stored_type(column)}"
        out.append(f"{expr} AS {ident(column.name)}")
    return out


def extra_json(extras: tuple[str, ...]) -> str:
    """SQL for the ``_extra`` column: the columns outside the contract, as a JSON object."""
    if not extras:
        return "NULL::VARCHAR"
    pairs = ", ".join(f"{literal(name)}, {ident(name)}" for name in extras)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def raw_json(header: tuple[str, ...]) -> str:
    """SQL for a row's original text as a JSON object of its header columns (kept in quarantine
    so that the row can be corrected and sent again)."""
    pairs = ", ".join(f"{literal(c)}, {ident(c)}" for c in header)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def digest_expression(table: Table, alias: str = "") -> str:
    """SQL for a stable 64-bit digest of a row's stored content, to tell an exact duplicate
    from a conflicting one. Computed only for rows whose key was seen before.

    md5 rather than DuckDB's ``hash()``: ``hash()`` may change between DuckDB releases.
    """
    prefix = f"{alias}." if alias else ""
    parts = [f"coalesce(CAST({prefix}{ident(c.name)} AS VARCHAR), chr(0))" for c in table.columns]
    parts.append(f"coalesce({prefix}_extra, chr(0))")
    return f"md5_number_upper(concat_ws(chr(31), {', '.join(parts)}))"
