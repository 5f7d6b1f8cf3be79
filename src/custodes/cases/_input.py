"""Checking what people type before anything is written: lengths, required reasons, codes, dates.

Every check raises :class:`~custodes.cases.errors.Invalid` with a message that names the field,
so a form posted from the web (or a call from a script) with an oversized, empty or malformed
value changes nothing and says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Final

from custodes.cases.errors import Invalid

MAX_TITLE: Final = 200
MAX_REASON: Final = 2_000
MAX_NOTE: Final = 20_000
MAX_DESCRIPTION: Final = 5_000
MAX_SYSTEMS: Final = 200
MAX_IDENTIFIER: Final = 64
MAX_BULK: Final = 1_000  # alerts in one bulk action, events cited at once


def text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    """A piece of text, trimmed: present when ``required``, at most ``limit`` characters, and
    free of NUL and other control characters (tabs and newlines are fine)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field} is required: say {_what(field)}")
    if len(value) > limit:
        raise Invalid(f"{field} is too long ({len(value):,} characters; at most {limit:,})")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise Invalid(f"{field} contains a control character: remove it")
    return value


def _what(field: str) -> str:
    return "why" if field == "reason" else f"what the {field} is"


def identifier(value: object, field: str) -> str:
    """An identifier from the store or the queue (a person_id, an event_id, an alert_id)."""
    result = text(value, field, MAX_IDENTIFIER)
    if any(c.isspace() for c in result):
        raise Invalid(f"{field} {result!r} contains a space: give one identifier")
    return result


def identifiers(values: Iterable[object], field: str) -> list[str]:
    """Several identifiers, each checked, duplicates dropped (first order kept); at least one
    and at most :data:`MAX_BULK`."""
    if isinstance(values, str):
        raise Invalid(f"{field} must be a list of identifiers, not one string")
    seen = dict.fromkeys(identifier(v, field) for v in values)
    if not seen:
        raise Invalid(f"no {field} given: name at least one")
    if len(seen) > MAX_BULK:
        raise Invalid(f"too many {field}s at once ({len(seen):,}; at most {MAX_BULK:,})")
    return list(seen)


def choice(value: object, field: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise Invalid(f"unknown {field} {value!r}: one of {', '.join(allowed)}")
    return value


def optional_date(value: object, field: str) -> date | None:
    """A date, or an ISO ``YYYY-MM-DD`` string, or nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(f"{field} {value!r} is not a date: write YYYY-MM-DD")


def version(value: object) -> int:
    """The version of a case (or alert) the caller saw, as a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"version {value!r} is not a version number: reload the case")
    return value
