"""Suppressions: allow-list entries that silence matching alerts, with a reason, an author and
an expiry, each one recorded in the ledger.

An allow-list is where a monitor can be quietly blinded, so every entry is accountable: who
added it, why, until when, and a ledger leaf (a ``suppression`` system event) that no one can
later remove without it showing. An expired entry stops applying; nothing is ever deleted.

A suppression matches an alert of its ``rule`` (or any rule, ``*``), for its ``person_id`` and
``subject_id`` where given (empty: any). Suppressed alerts are kept, marked with the
suppression's id, and left out of exports and the top list.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from custodes.detect.rules import RULES
from custodes.errors import CustodesError
from custodes.store.ledger import record
from custodes.store.store import open_store, writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS suppressions (
    suppression_id INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,
    person_id   TEXT,
    subject_id  TEXT,
    reason      TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires     TEXT NOT NULL,   -- YYYY-MM-DD: applies up to and including this day
    ledger_leaf INTEGER NOT NULL
)
"""
ANY_RULE = "*"


@dataclass(frozen=True)
class Suppression:
    suppression_id: int
    rule: str
    person_id: str | None
    subject_id: str | None
    reason: str
    author: str
    created_at: str
    expires: str
    ledger_leaf: int

    def active_on(self, day: date) -> bool:
        return day <= date.fromisoformat(self.expires)

    def matches(self, alert: dict[str, Any]) -> bool:
        return (
            self.rule in (ANY_RULE, alert["rule"])
            and self.person_id in (None, alert["person_id"])
            and self.subject_id in (None, alert["subject_id"])
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_suppression(
    home: Path,
    *,
    rule: str,
    reason: str,
    author: str,
    expires: date,
    person_id: str | None = None,
    subject_id: str | None = None,
    today: date | None = None,
) -> Suppression:
    """Add an allow-list entry; it is recorded in the ledger before it exists."""
    known = {r.name for r in RULES} | {ANY_RULE}
    if rule not in known:
        raise CustodesError(f"unknown rule {rule!r}: one of {', '.join(sorted(known))}")
    if not reason.strip() or not author.strip():
        raise CustodesError("a suppression needs a reason and an author")
    if person_id is None and subject_id is None:
        raise CustodesError("a suppression names a person, a subject or both, never everyone")
    if expires < (today or datetime.now(UTC).date()):
        raise CustodesError(f"the expiry {expires} is already past")
    with writer(home) as store:
        db = store.catalog.db
        db.execute(SCHEMA)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        event = record(
            store,
            "suppression",
            {
                "rule": rule,
                "person_id": person_id,
                "subject_id": subject_id,
                "reason": reason,
                "author": author,
                "expires": expires.isoformat(),
            },
        )
        fields = (rule, person_id, subject_id, reason, author, created, expires.isoformat())
        cursor = db.execute(
            "INSERT INTO suppressions(rule, person_id, subject_id, reason, author, created_at, "
            "expires, ledger_leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields, event.leaf_index),
        )
        assert cursor.lastrowid is not None
        return Suppression(cursor.lastrowid, *fields, event.leaf_index)


def list_suppressions(home: Path) -> list[Suppression]:
    with open_store(home) as store:
        return _read(store.catalog.db)


def _read(db: sqlite3.Connection) -> list[Suppression]:
    db.execute(SCHEMA)
    rows = db.execute(
        "SELECT suppression_id, rule, person_id, subject_id, reason, author, created_at, "
        "expires, ledger_leaf FROM suppressions ORDER BY suppression_id"
    ).fetchall()
    return [Suppression(*row) for row in rows]


def active_suppressions(db: sqlite3.Connection, day: date) -> list[Suppression]:
    return [s for s in _read(db) if s.active_on(day)]
