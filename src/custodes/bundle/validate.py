"""Contract validation and normalisation, written as SQL generated from the contract.

Validation runs inside DuckDB, vectorised over millions of rows: a Python loop per row would be
two orders of magnitude too slow for the ingest goal (within 2x of a bare CSV-to-Parquet copy).
Each rule is an SQL expression that yields a problem message or NULL; the messages say which
column, what value and what would be accepted, so the person fixing the export can act on them.

The input of every expression is the raw text of a column (``VARCHAR``; NULL when empty). The
output is the typed, normalised value stored: codes in lower case, systems in upper case,
timestamps as ``TIMESTAMPTZ`` in UTC, dates as ``DATE``, flags as a list.
"""

from __future__ import annotations

from custodes.bundle.contract import Column, Kind, Table

# ISO 8601 date-time with a UTC offset: DuckDB would accept a naive timestamp and silently assume
# the session time zone, which is exactly the ambiguity the contract forbids.
TIMESTAMP_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$"
)
NAIVE_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
OPEN_CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,32}$"
SAMPLE_CHARS = 60  # how much of a bad value a message quotes


def ident(name: str) -> str:
    """Quote an SQL identifier (``end`` and ``start`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(col: str) -> str:
    """SQL for the bad value as quoted in a message, cut short."""
    return f"left({col}, {SAMPLE_CHARS})"


def _codes_list(column: Column) -> str:
    return "[" + ", ".join(literal(c) for c in column.codes) + "]"


def _blank(col: str) -> str:
    return f"(nullif(trim({col}), '') IS NULL)"


def problem_expressions(table: Table, present: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, SQL expression yielding a message or NULL) for every rule of the table.

    ``present`` lists the contract columns the file has; absent optional columns are NULL.
    """
    checks: list[tuple[str, str]] = []
    for column in table.columns:
        if column.name not in present:
            continue
        col = ident(column.name)
        if column.required:
            checks.append(
                (
                    column.name,
                    f"CASE WHEN {_blank(col)} THEN "
                    f"{literal(f'{column.name} is required but empty')} END",
                )
            )
        rule = _kind_rule(column, col)
        if rule:
            checks.append((column.name, f"CASE WHEN NOT {_blank(col)} THEN {rule} END"))
    for order in table.order_rules:
        if order.earlier in present and order.later in present:
            earlier, later = (
                _typed(table.by_name[n], ident(n)) for n in (order.earlier, order.later)
            )
            message = (
                f"concat({literal(order.later + ' (')}, {ident(order.later)}, "
                f"{literal(') is before ' + order.earlier + ' (')}, {ident(order.earlier)}, ')')"
            )
            checks.append((order.later, f"CASE WHEN {later} < {earlier} THEN {message} END"))
    return checks


def _kind_rule(column: Column, col: str) -> str | None:
    name = column.name
    if column.kind is Kind.CODE:
        expected = literal(f"; expected one of: {column.describe_codes()}")
        return (
            f"CASE WHEN NOT list_contains({_codes_list(column)}, lower(trim({col}))) THEN "
            f"concat({literal(f'unknown {name} ')}, '''', {_shown(col)}, '''', {expected}) END"
        )
    if column.kind is Kind.OPEN_CODE:
        return (
            f"CASE WHEN NOT regexp_matches(trim({col}), {literal(OPEN_CODE_PATTERN)}) THEN "
            f"concat({literal(f'{name} ')}, '''', {_shown(col)}, '''', "
            f"{literal(' is not a system code (letters, digits, _ . - ; at most 32)')}) END"
        )
    if column.kind is Kind.TIMESTAMP:
        trimmed = f"trim({col})"
        return (
            f"CASE WHEN regexp_matches({trimmed}, {literal(NAIVE_TIMESTAMP_PATTERN)}) THEN "
            f"concat({literal(f'{name} ')}, '''', {_shown(col)}, '''', "
            f"{literal(' has no UTC offset; write it as e.g. 2026-01-05T08:13:22Z')}) "
            f"WHEN NOT regexp_matches({trimmed}, {literal(TIMESTAMP_PATTERN)}) "
            f"OR try_cast({trimmed} AS TIMESTAMPTZ) IS NULL THEN "
            f"concat({literal(f'{name} ')}, '''', {_shown(col)}, '''', "
            f"{literal(' is not an ISO 8601 timestamp with offset, e.g. 2026-01-05T08:13:22Z')}) END"
        )
    if column.kind is Kind.DATE:
        trimmed = f"trim({col})"
        return (
            f"CASE WHEN NOT regexp_matches({trimmed}, {literal(DATE_PATTERN)}) "
            f"OR try_cast({trimmed} AS DATE) IS NULL THEN "
            f"concat({literal(f'{name} ')}, '''', {_shown(col)}, '''', "
            f"{literal(' is not a date YYYY-MM-DD')}) END"
        )
    if column.kind is Kind.FLAGS:
        unknown = (
            f"list_filter({_flag_list(col)}, f -> NOT list_contains({_codes_list(column)}, f))"
        )
        return (
            f"CASE WHEN len({unknown}) > 0 THEN "
            f"concat({literal(f'unknown {name} ')}, '''', array_to_string({unknown}, ';'), '''', "
            f"{literal(f'; expected any of: {column.describe_codes()}')}) END"
        )
    return None


def _flag_list(col: str) -> str:
    return (
        f"list_filter(list_transform(string_split({col}, ';'), f -> lower(trim(f))), f -> f <> '')"
    )


def _typed(column: Column, col: str) -> str:
    """SQL for the stored value of a raw text column (assumes it passed validation)."""
    if column.kind is Kind.CODE:
        return f"lower(trim({col}))"
    if column.kind is Kind.OPEN_CODE:
        return f"upper(trim({col}))"
    if column.kind is Kind.TIMESTAMP:
        return f"try_cast(trim({col}) AS TIMESTAMPTZ)"
    if column.kind is Kind.DATE:
        return f"try_cast(trim({col}) AS DATE)"
    if column.kind is Kind.FLAGS:
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE list_sort(list_distinct({_flag_list(col)})) END"
    return col


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
        if column.name in present:
            expr = _typed(column, ident(column.name))
        else:
            expr = f"NULL::{stored_type(column)}"
        out.append(f"{expr} AS {ident(column.name)}")
    return out


def extra_json(extras: tuple[str, ...]) -> str:
    """SQL for the ``_extra`` column: the columns outside the contract, as a JSON object."""
    if not extras:
        return "NULL::VARCHAR"
    pairs = ", ".join(f"{literal(name)}, {ident(name)}" for name in extras)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def digest_expression(table: Table) -> str:
    """SQL for a stable 64-bit digest of a row's stored content (used to recognise duplicates).

    md5 rather than DuckDB's ``hash()``: the digest is stored, and ``hash()`` may change between
    DuckDB releases, which would make every re-ingest look like new content.
    """
    parts = [f"coalesce(CAST({ident(c.name)} AS VARCHAR), chr(0))" for c in table.columns]
    parts.append("coalesce(_extra, chr(0))")
    return f"md5_number_upper(concat_ws(chr(31), {', '.join(parts)}))"
