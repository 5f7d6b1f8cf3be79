"""What case work reads from the store: an employee's role in the workforce, and access events.

A case's people are officers or staff, because the outcome taxonomy differs between the two
(the Police (Conduct) Regulations 2020 for officers, local procedures for staff). The workforce
has five roles; they map onto those two as :data:`CASE_ROLE` says: a special constable holds a
warrant and answers to the conduct regulations, so is an *officer*; volunteers and contractors
answer to local procedures, so are *staff*. A ``person_id`` that is not in the workforce (an
unknown or shared account) has no role until an investigator names the person behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from custodes.store.locate import stored_events
from custodes.store.store import open_store

CASE_ROLE: Final = {
    "officer": "officer",
    "special": "officer",
    "staff": "staff",
    "volunteer": "staff",
    "contractor": "staff",
}


def case_roles(home: Path, person_ids: Sequence[str]) -> dict[str, str]:
    """``person_id -> officer | staff`` for those of ``person_ids`` in the workforce."""
    if not person_ids:
        return {}
    with open_store(home) as store:
        rows = store.query(
            "SELECT person_id, role FROM workforce WHERE list_contains(?, person_id)",
            [list(person_ids)],
        )
    return {str(pid): CASE_ROLE[str(role)] for pid, role in rows if role in CASE_ROLE}


def stored_event_ids(home: Path, event_ids: Sequence[str]) -> set[str]:
    """Those of ``event_ids`` the store holds (lawfully erased ones included: the event and its
    leaf still exist, only its content is gone), read from only the files that can hold them
    (:mod:`custodes.store.locate`)."""
    if not event_ids:
        return set()
    with open_store(home) as store:
        rows = stored_events(store, event_ids, "event_id")
    return {str(row[0]) for row in rows}


@dataclass(frozen=True)
class AccessEvent:
    """An access event as a case's timeline shows it (personal data: shown only to people on
    the case, and the read is recorded)."""

    event_id: str
    ts: datetime
    person_id: str
    action: str
    system: str
    subject_id: str | None
    purpose: str | None
