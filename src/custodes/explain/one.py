"""One event's explanation, in words: the path that explains it, or why none does.

``custodes explain --event EVENT_ID`` is what an investigator reads before anything else: the
same templates as the bulk run (run on this one event), then, when none holds, what was checked
and how close it came (an assignment that ended twelve days before, an operation named in the
event that does not involve the subject, a disclosure to an unknown recipient).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custodes.engine import duckdb_backend
from custodes.errors import StoreError
from custodes.explain.run import matches
from custodes.explain.templates import (
    DISCLOSING_ACTIONS,
    KNOWN_RECIPIENTS,
    TEMPLATES,
    UNEXPLAINED,
    by_name,
)
from custodes.store.store import Store


@dataclass
class EventExplanation:
    event: dict[str, Any]
    explanation: str  # a template's name, or "unexplained"
    sentence: str
    route: str | None = None
    operation_id: str | None = None
    role: str | None = None
    via_search: bool = False
    also: list[str] = field(default_factory=list)  # other templates that hold, weaker
    checked: list[str] = field(default_factory=list)  # for an unexplained event: why not

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": {k: _plain(v) for k, v in self.event.items()},
            "explanation": self.explanation,
            "sentence": self.sentence,
            "route": self.route,
            "operation_id": self.operation_id,
            "role": self.role,
            "via_search": self.via_search,
            "also": self.also,
            "checked": self.checked,
        }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


EVENT_COLUMNS = (
    "event_id, ts, person_id, action, system, subject_id, purpose, query, recipient, "
    "operation_ref, record_ref, terminal"
)


def explain_event(store: Store, event_id: str) -> EventExplanation:
    """Explain one stored access event (or say why nothing explains it)."""
    rows = store.db.execute(
        f"SELECT {EVENT_COLUMNS} FROM access_events WHERE event_id = ?", [event_id]
    ).fetchall()
    if not rows:
        raise StoreError(f"no access event {event_id!r} is stored")
    names = [c.strip() for c in EVENT_COLUMNS.split(",")]
    event = dict(zip(names, rows[0], strict=True))
    # The person's other events that day are its context: circumstantial templates count
    # repeated looks at an operation.
    same_day = [
        row[0]
        for row in store.db.execute(
            "SELECT event_id FROM access_events WHERE person_id = ? "
            "AND CAST(ts AS DATE) = CAST(?::TIMESTAMPTZ AS DATE)",
            [event["person_id"], event["ts"]],
        ).fetchall()
    ]
    con = duckdb_backend(store)
    found = (
        matches(con, only=same_day)
        .filter(lambda t: t.event_id == event_id)
        .order_by(["rank", "via_search", "operation_id", "role"])
        .to_pyarrow()
        .to_pylist()
    )
    weak = [m for m in found if m["weak"]]
    found = [m for m in found if not m["weak"]]
    if found:
        best = found[0]
        template = by_name(best["template"])
        sentence = template.says.format(operation_id=best["operation_id"], role=best["role"])
        if best["via_search"]:
            sentence = f"searched for a subject of {best['operation_id']}: " + sentence
        also = sorted({m["template"] for m in found[1:]} - {template.name})
        return EventExplanation(
            event,
            template.name,
            sentence,
            template.route,
            best["operation_id"],
            best["role"],
            bool(best["via_search"]),
            also,
        )
    checked = _why_not(store, event)
    if weak:
        template = by_name(weak[0]["template"])
        checked.insert(
            0,
            f"{template.name} would hold through {weak[0]['operation_id']}, but it is "
            "circumstantial and this was the person's only look at that operation that day",
        )
    return EventExplanation(
        event,
        UNEXPLAINED,
        "no explanation holds: " + (checked[0] if checked else "nothing connects them"),
        checked=checked,
    )


def _why_not(store: Store, event: dict[str, Any]) -> list[str]:
    """What the templates needed and did not find, nearest first."""
    out: list[str] = []
    person, subject, ts = event["person_id"], event["subject_id"], event["ts"]
    employed = store.db.execute(
        'SELECT joined, "left" FROM workforce WHERE person_id = ?', [person]
    ).fetchall()
    if not employed:
        return [f"{person} is not in the workforce extract (an unknown account)"]
    joined, left = employed[0]
    if ts.date() < joined or (left is not None and ts.date() > left):
        out.append(f"{person} was not employed then (joined {joined}, left {left})")
    if event["action"] in DISCLOSING_ACTIONS and event["recipient"] not in KNOWN_RECIPIENTS:
        out.append(f"{event['action']} to {event['recipient']!r}, which is not a known partner")
    if event["operation_ref"]:
        involved = store.db.execute(
            "SELECT count(*) FROM operation_subjects WHERE operation_id = ? AND subject_id = ?",
            [event["operation_ref"], subject],
        ).fetchone()
        works = store.db.execute(
            "SELECT count(*) FROM assignments WHERE operation_id = ? AND person_id = ?",
            [event["operation_ref"], person],
        ).fetchone()
        if not involved or not involved[0]:
            out.append(
                f"it names {event['operation_ref']}, which does not involve "
                f"{subject or 'the searched name'}"
            )
        elif not works or not works[0]:
            out.append(f"it names {event['operation_ref']}, to which {person} is not assigned")
    if subject is None and event["action"] == "search":
        out.append(
            "a name search that found nobody, or named too little to stand for one person "
            f"({event['query']!r})"
        )
    nearest = store.db.execute(
        """
        SELECT a.operation_id, a.start, a."end" FROM assignments a
        JOIN operation_subjects s USING (operation_id)
        WHERE a.person_id = ? AND s.subject_id = ?
        ORDER BY least(abs(epoch(a.start) - epoch(?::TIMESTAMPTZ)),
                       abs(epoch(coalesce(a."end", a.start)) - epoch(?::TIMESTAMPTZ)))
        LIMIT 1
        """,
        [person, subject, ts, ts],
    ).fetchall()
    if nearest:
        operation_id, start, end = nearest[0]
        out.append(
            f"{person} was assigned to {operation_id} (involving the subject) from {start} to "
            f"{end or 'now'}, not at {ts}"
        )
    elif subject is not None:
        out.append(f"{person} has no assignment to any operation involving {subject}")
    out.append("checked: " + ", ".join(t.name for t in TEMPLATES))
    return out
