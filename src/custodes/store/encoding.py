r"""The canonical encoding of an access event, version 1: the bytes a ledger leaf commits to.

A commitment (:func:`custodes.ledger.commitment`) is only as good as the agreement on what was
committed, so the encoding is fixed and versioned here, twice: :func:`encode_event` is the
reference (plain Python, what a third party re-implements from this docstring), and
:func:`custodes.store.encoding_columns.encode_events` is the same encoding over Arrow columns,
used to encode millions of stored events at once. A property test keeps the two identical.

Version 1 (``custodes/event/v1``): a JSON object (RFC 8259) in UTF-8 with no whitespace, keys
in sorted order, every value a string or ``null``. In strings, ``"`` and ``\`` are escaped with a
backslash, U+0008, U+000C, U+000A, U+000D and U+0009 as ``\b \f \n \r \t``, the other
characters below U+0020 as ``\u00XX`` with upper-case hex digits, and everything else (non-ASCII
included) is written as itself. Exactly these keys:

- every column of the ``access_events`` contract, its stored value or ``null``: codes in
  lower case, ``system`` in upper case, text as given;
- ``ts`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, always with six fractional digits;
- ``extra``: the columns outside the contract, as the JSON text stored with the event, or
  ``null``;
- ``type``: ``"access_event"``.

The system's own actions (ingest batches, erasures, ...) are encoded by the same rules with
:func:`encode_record`: their fields (integers as decimal text) and ``type`` naming the action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from custodes.bundle.contract import TABLES_BY_NAME, Kind

ENCODED_TYPE = "access_event"
EVENT_COLUMNS = TABLES_BY_NAME["access_events"].columns


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The canonical encoding of one stored event (a mapping of its columns and ``_extra``)."""
    fields: dict[str, Any] = {}
    for column in EVENT_COLUMNS:
        value = event.get(column.name)
        if column.kind is Kind.TIMESTAMP and value is not None:
            value = utc_text(value)
        fields[column.name] = value
    fields["extra"] = event.get("_extra")
    return encode_record(ENCODED_TYPE, fields)


def encode_record(kind: str, fields: Mapping[str, str | int | None]) -> bytes:
    """The canonical encoding of any recorded event: ``fields`` plus ``type`` = ``kind``,
    integers written in decimal."""
    if "type" in fields:
        raise ValueError("'type' is set from the kind of record")
    values: dict[str, Any] = {
        key: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in fields.items()
    }
    values["type"] = kind
    members = (f"{_string(key)}:{_value(values[key])}" for key in sorted(values))
    return ("{" + ",".join(members) + "}").encode("utf-8")


SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _value(value: object) -> str:
    if value is None:
        return "null"
    if not isinstance(value, str):
        raise TypeError(f"an encoded value is text or null, not {type(value).__name__}")
    return _string(value)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in SHORT_ESCAPES:
            out.append(SHORT_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def utc_text(value: datetime) -> str:
    """An event time as the encoding writes it: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if value.tzinfo is None:
        raise ValueError("an event time must carry its zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
