"""The canonical encoding of many events at once: :func:`encode_event`, over Arrow columns.

The ledger encodes every event twice in its life (at ingest, to append its leaf, and at each
audit, to check it), ten million at a time, so the encoding's cost per event bounds how fast the
ledger can go. Here each column is prepared once for the whole table and the rows are then
assembled by one element-wise join in Arrow's native code (or, for the ledger, by the hashing
itself); a property test keeps the bytes equal to the reference,
:func:`custodes.store.encoding.encode_event`, for any event.

What makes it cheap is that the work is proportional to the *unusual* values, not to all of them:

* A JSON string needs escaping only where it holds ``"``, ``\\`` or a character below U+0020.
  One pass of NumPy over a column's raw bytes says whether any value does; most columns
  (identifiers, codes, references) never do and are copied as they are.
* Values known to be present (no nulls in the column) have their quotes folded into the
  literal text between members; only columns with nulls need a per-row choice of ``null``.
* The ledger does not even join the pieces: :func:`event_pieces` hands them to the hashing,
  which concatenates and hashes each row in one pass of native code.
* An event time is formatted from its microseconds since the epoch with lookup tables (the
  days of the table's date range, the 86,400 seconds of a day, the 1,000 three-digit groups):
  formatting each timestamp through a calendar library would cost more than all the rest.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from custodes.bundle.contract import Kind
from custodes.bundle.validate import ident
from custodes.store.encoding import ENCODED_TYPE, EVENT_COLUMNS, SHORT_ESCAPES, utc_text

ENCODED_COLUMNS = (*(column.name for column in EVENT_COLUMNS), "_extra")  # what it reads
_BELOW_SPACE = {code: SHORT_ESCAPES.get(chr(code), f"\\u{code:04X}") for code in range(0x20)}
_QUOTE, _BACKSLASH = 0x22, 0x5C
_US_PER_DAY = 86_400_000_000
_TIME_WIDTH = len("YYYY-MM-DDTHH:MM:SS.ffffffZ")


def encode_events(table: pa.Table) -> pa.Array:
    """The canonical encoding (UTF-8 bytes, as ``binary``) of every row of ``table``: stored
    events, their contract columns and ``_extra``; a missing column counts as all null."""
    if table.num_rows == 0:
        return pa.array([], pa.binary())
    encoded: pa.Array = pc.binary_join_element_wise(*event_pieces(table), "")
    return encoded.cast(pa.binary())


def event_pieces(table: pa.Table) -> list[str | pa.Array]:
    """The canonical encoding of every row of ``table`` in pieces: literal texts (the same for
    every row) and ``string`` columns with no nulls. Each row's pieces, end to end, are its
    encoding; the ledger hashes them without joining them first
    (:func:`custodes.ledger.bulk.commitment_leaves_of_pieces`)."""
    members: list[tuple[str, pa.Array | None]] = []
    for column in EVENT_COLUMNS:
        values = _column(table, column.name)
        members.append(
            (column.name, _utc_texts(values) if column.kind is Kind.TIMESTAMP else values)
        )
    members.append(("extra", _column(table, "_extra")))
    members.append(("type", None))  # the same for every event
    members.sort(key=lambda member: member[0])

    pieces: list[str | pa.Array] = []
    literal = "{"  # the text since the last column
    for name, values in members:
        literal += f'"{name}":'
        if values is None:
            literal += f'"{ENCODED_TYPE}"'
        elif values.null_count:
            quoted = pc.binary_join_element_wise('"', _json_escaped(values), '"', "")
            pieces += [literal, pc.fill_null(quoted, "null")]
            literal = ""
        else:
            pieces += [literal + '"', _json_escaped(values)]
            literal = '"'
        literal += ","
    pieces.append(literal[:-1] + "}")
    return pieces


def encoded_columns_sql() -> str:
    """The stored columns :func:`encode_events` reads, as a SQL select list."""
    return ", ".join(ident(name) for name in ENCODED_COLUMNS)


def _column(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    values = table.column(name).combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        values = values.dictionary_decode()
    return values


def _json_escaped(values: pa.Array) -> pa.Array:
    """Each value as the inside of a JSON string (as :func:`custodes.store.encoding.encode_record`
    writes it, without the quotes)."""
    if values.type != pa.string():
        values = values.cast(pa.string())
    data = _value_bytes(values)
    if not ((data < 0x20) | (data == _QUOTE) | (data == _BACKSLASH)).any():
        return values
    values = pc.replace_substring(values, "\\", "\\\\")
    values = pc.replace_substring(values, '"', '\\"')
    if (_value_bytes(values) < 0x20).any():
        # Control characters are rare (a line break in a free-text field): those few values
        # are escaped in Python, with the same table as the reference.
        rows = pc.fill_null(pc.match_substring_regex(values, "[\\x00-\\x1f]"), False)
        fixed = [text.translate(_BELOW_SPACE) for text in values.filter(rows).to_pylist()]
        values = pc.replace_with_mask(values, rows, pa.array(fixed, pa.string()))
    return values


def _value_bytes(values: pa.Array) -> npt.NDArray[np.uint8]:
    """The bytes of a ``string`` array's values, end to end, without copying them."""
    offsets, data = values.buffers()[1:3]
    if data is None or len(values) == 0:
        return np.zeros(0, np.uint8)
    bounds = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    return np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]


def _utc_texts(times: pa.Array) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC) for each time, null where it is null."""
    if not pa.types.is_timestamp(times.type):
        raise TypeError(f"an event time is a timestamp, not {times.type}")
    zone = times.type.tz or "UTC"
    micros_array = pc.cast(times, pa.timestamp("us", tz=zone), safe=False).cast(pa.int64())
    # A null is formatted as the earliest time, then nulled: the date range stays the data's.
    earliest = pc.min(micros_array).as_py()
    micros = micros_array.fill_null(earliest or 0).to_numpy()
    days, within_day = np.divmod(micros, _US_PER_DAY)
    seconds, fraction = np.divmod(within_day, 1_000_000)
    first = int(days.min()) if days.size else 0
    dates, usual = _dates(first, int(days.max()) if days.size else 0)
    out = np.empty((len(times), _TIME_WIDTH), np.uint8)
    out[:, 0:10] = dates[days - first]
    out[:, 10] = ord("T")
    out[:, 11:19] = _clock()[seconds]
    out[:, 19] = ord(".")
    out[:, 20:23] = _digits(1000, 3)[fraction // 1000]
    out[:, 23:26] = _digits(1000, 3)[fraction % 1000]
    out[:, 26] = ord("Z")
    offsets = np.arange(0, out.size + 1, _TIME_WIDTH, dtype=np.int32)
    texts = pa.Array.from_buffers(
        pa.string(), len(times), [None, pa.py_buffer(offsets), pa.py_buffer(out)]
    )
    unusual = ~usual[days - first]
    if unusual.any():
        # Years before 1000 or after 9999: written as the reference writes them.
        rows = pa.array(unusual)
        fixed = [utc_text(value) for value in times.filter(rows).to_pylist()]
        texts = pc.replace_with_mask(texts, rows, pa.array(fixed, pa.string()))
    if micros_array.null_count:
        texts = pc.if_else(micros_array.is_null(), pa.scalar(None, pa.string()), texts)
    return texts


def _dates(first: int, last: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """``YYYY-MM-DD`` of each day from ``first`` to ``last`` (days since 1970-01-01), and
    whether its year has four digits."""
    year, month, day = _civil(np.arange(first, last + 1, dtype=np.int64))
    usual = (year >= 1000) & (year <= 9999)
    out = np.full((year.size, 10), ord("-"), np.uint8)
    out[:, 0:4] = _digits(10_000, 4)[np.clip(year, 0, 9999)]
    out[:, 5:7] = _digits(13, 2)[month]
    out[:, 8:10] = _digits(32, 2)[day]
    return out, usual


def _civil(
    days: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The proleptic Gregorian year, month and day of days since 1970-01-01 (Howard Hinnant's
    ``civil_from_days``)."""
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month = np.where(month_from_march < 10, month_from_march + 3, month_from_march - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


@cache
def _digits(count: int, width: int) -> npt.NDArray[np.uint8]:
    """The decimal digits (ASCII) of 0 .. ``count`` - 1, each ``width`` wide, zero-padded."""
    numbers = np.arange(count)
    out = np.empty((count, width), np.uint8)
    for place in range(width - 1, -1, -1):
        out[:, place] = ord("0") + numbers % 10
        numbers //= 10
    return out


@cache
def _clock() -> npt.NDArray[np.uint8]:
    """``HH:MM:SS`` of each second of a day."""
    second = np.arange(86_400)
    out = np.full((second.size, 8), ord(":"), np.uint8)
    out[:, 0:2] = _digits(24, 2)[second // 3600]
    out[:, 3:5] = _digits(60, 2)[second // 60 % 60]
    out[:, 6:8] = _digits(60, 2)[second % 60]
    return out
