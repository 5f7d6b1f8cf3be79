"""Auditing the auditors: every view of personal data by an investigator is itself recorded.

A page or an API response that shows personal data (an employee's or a subject's identifiers,
their access events, a case's evidence) calls :func:`record_read` once, before it answers: one
``investigator_read`` ledger leaf naming the user, what they saw, the case it was for, and every
employee, subject and item (alert, event) shown. So a subject access request ("who looked at my
record, when and why") can be answered for reads inside Custodes too, and an overseer can verify
that the record of those reads was not altered.

The identifier lists are encoded as sorted JSON arrays of unique strings: unambiguous whatever
characters an identifier holds, and the same set always gives the same text. A read costs one
ledger append (a few milliseconds). If the ledger cannot record it, the error propagates and
the caller must not show the data (log before serve).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from custodes.cases.db import CaseDb
from custodes.cases.errors import Invalid
from custodes.cases.models import User
from custodes.store.ledger import record_actions

READ_KIND: Final = "investigator_read"
MAX_VIEW: Final = 200


def read_fields(
    user: User,
    view: str,
    *,
    case: str | None = None,
    people: Iterable[str] = (),
    subjects: Iterable[str] = (),
    items: Iterable[str] = (),
) -> dict[str, str | int | None]:
    """The ledger fields of one read: who (``user``) saw ``view`` (e.g. ``"case page"``,
    ``"GET /api/alerts"``) for ``case`` (a reference), showing these employees
    (``person_id``), subjects (``subject_id``) and items (alert or event ids)."""
    if not isinstance(view, str) or not view.strip() or len(view) > MAX_VIEW:
        raise Invalid(f"a read must say what was shown in 1 to {MAX_VIEW} characters")
    return {
        "user": user.name,
        "role": user.role,
        "view": view.strip(),
        "case": case,
        "people": _ids(people),
        "subjects": _ids(subjects),
        "items": _ids(items),
    }


def record_read(
    target: CaseDb | Path,
    user: User,
    view: str,
    *,
    case: str | None = None,
    people: Iterable[str] = (),
    subjects: Iterable[str] = (),
    items: Iterable[str] = (),
) -> int:
    """Record one read (:func:`read_fields`) as its own ledger leaf; returns the leaf. (The web
    application groups concurrent reads into one append: :mod:`custodes.web.read_ledger`.)"""
    home = target.home if isinstance(target, CaseDb) else target
    fields = read_fields(user, view, case=case, people=people, subjects=subjects, items=items)
    (event,) = record_actions(home, [(READ_KIND, fields)])
    return event.leaf_index


def _ids(values: Iterable[str]) -> str:
    return json.dumps(sorted({str(v) for v in values if v is not None and v != ""}))


def decode_ids(text: str) -> list[str]:
    """The identifiers of a read's ``people``, ``subjects`` or ``items`` field."""
    return [str(v) for v in json.loads(text)]
