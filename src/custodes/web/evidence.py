"""An alert's evidence, as an investigator reads it before deciding anything.

The signal that fired and the baseline it fired against (what the rule looks for, and the value
that crossed it), the linkage evidence for relationship rules (how the employee was matched to
the subject's record: match weight and the fields that agreed), and the events behind the alert
with the explanation each one got in the bulk run. Why an event is *not* explained comes from
:func:`custodes.explain.one.explain_event`, which reruns the templates on that event and says
what was checked and how close it came; it costs about half a second, so the page asks for it
event by event.

Identifiers are shown as the viewer may see them (:class:`~custodes.web.naming.Namer`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from custodes.bundle.validate import literal
from custodes.cases.alerts import AlertView
from custodes.cases.models import Alert
from custodes.explain.one import explain_event
from custodes.explain.run import RESULT as EXPLANATIONS
from custodes.store.locate import event_contents
from custodes.store.store import Store
from custodes.web.errors import WebError
from custodes.web.naming import Namer

MAX_EVENTS: Final = 500
LINKS: Final = "derived/link/person_links.parquet"


class Linkage(BaseModel):
    relation: str
    match_weight: float
    match_probability: float
    agreement: dict[str, str]  # field -> exact | close | different …
    weights: dict[str, float]  # field -> its contribution to the match weight
    source: str  # workforce (the employee's own record) or relations (someone they declared)


class EventEvidence(BaseModel):
    event_id: str
    ts: datetime
    person: str
    action: str
    system: str
    subject: str | None
    purpose: str | None
    query: str | None
    recipient: str | None
    operation_ref: str | None
    explanation: str  # the bulk run's: a template's name, or "unexplained"
    operation_id: str | None
    weak_explanation: str | None  # a circumstantial template that nearly held


class WhyNot(BaseModel):
    event_id: str
    explanation: str
    sentence: str
    also: list[str]
    checked: list[str]


class AlertEvidence(BaseModel):
    alert_id: str
    rule: str
    family: str
    score: float
    state: str
    version: int
    person: str
    subject: str | None
    named: bool  # identifiers are shown (not pseudonyms)
    first_ts: datetime
    last_ts: datetime
    summary: str
    looks_for: str  # the baseline: what the rule looks for
    signal: str | None  # the value that fired ("[withheld]" when it would name someone)
    linkage: Linkage | None
    events_total: int
    events: list[EventEvidence]
    case_id: int | None  # set when the alert is in a case the viewer is on
    case_reference: str | None
    reason: str | None  # why it was explained or dismissed
    triaged_by: str | None
    triaged_at: datetime | None


def alert_evidence(store: Store, alert: Alert, view: AlertView, namer: Namer) -> AlertEvidence:
    """The evidence of ``alert`` (the row) as ``view`` (the case library's, for this viewer)
    shows it: the same names or pseudonyms for its events as for the alert itself."""
    event_ids = alert.event_ids.split()
    rows = _events(store, event_ids[:MAX_EVENTS])
    named = view.named
    names = {alert.person_id: "employee"}
    if not named:
        namer.learn(store, [r["purpose"] for r in rows])
    events = [
        EventEvidence(
            event_id=r["event_id"],
            ts=r["ts"],
            person=namer.employee(r["person_id"], named),
            action=r["action"],
            system=r["system"],
            subject=namer.subject(r["subject_id"], named),
            purpose=namer.text(r["purpose"], named, names) or None,
            query=r["query"] if named else mask_query(r["query"]),
            recipient=r["recipient"],
            operation_ref=r["operation_ref"],
            explanation=r["explanation"] or "unexplained",
            operation_id=r["operation_id"],
            weak_explanation=r["weak_explanation"],
        )
        for r in rows
    ]
    return AlertEvidence(
        alert_id=view.alert_id,
        rule=view.rule,
        family=view.family,
        score=view.score,
        state=view.state,
        version=view.version,
        person=view.person,
        subject=view.subject,
        named=named,
        first_ts=view.first_ts,
        last_ts=view.last_ts,
        summary=view.summary,
        looks_for=view.looks_for,
        signal=view.signal,
        linkage=_linkage(store, alert) if alert.subject_id else None,
        events_total=len(event_ids),
        events=events,
        case_id=view.case_id if view.case_id in namer.cases else None,
        case_reference=view.case_reference if view.case_id in namer.cases else None,
        reason=view.reason,
        triaged_by=view.triaged_by,
        triaged_at=view.triaged_at,
    )


def mask_query(query: str | None) -> str | None:
    """Search criteria with their values hidden (``surname=…;forenames=…``): which fields were
    searched, and so how vague the search was, without the name searched for."""
    if not query:
        return query
    parts = []
    for part in query.split(";"):
        field, sep, _ = part.partition("=")
        parts.append(f"{field}=…" if sep else "…")
    return ";".join(parts)


EVENT_FIELDS: Final = (
    "event_id",
    "ts",
    "person_id",
    "action",
    "system",
    "subject_id",
    "purpose",
    "query",
    "recipient",
    "operation_ref",
)
EXPLANATION_FIELDS: Final = ("explanation", "operation_id", "weak_explanation")


def _events(store: Store, event_ids: list[str]) -> list[dict[str, Any]]:
    """The alert's events (erased ones left out) in time order, each with its explanation
    attempt: read from only the files that can hold them (:mod:`custodes.store.locate`), and
    from the explanations file by id (it is written in order of ``event_id``, so DuckDB skips
    the row groups that cannot hold them)."""
    if not event_ids:
        return []
    events = event_contents(store, event_ids, EVENT_FIELDS)
    explained: dict[str, tuple[Any, ...]] = {}
    path = store.home / EXPLANATIONS
    if events and path.exists():
        ids = [r[0] for r in events]
        explained = {
            row[0]: row[1:]
            for row in store.query(
                f"SELECT event_id, {', '.join(EXPLANATION_FIELDS)} "
                f"FROM read_parquet({literal(path.as_posix())}) "
                f"WHERE event_id IN ({', '.join('?' for _ in ids)})",
                ids,
            )
        }
    missing = (None,) * len(EXPLANATION_FIELDS)
    return [
        dict(
            zip(
                (*EVENT_FIELDS, *EXPLANATION_FIELDS),
                (*r, *explained.get(r[0], missing)),
                strict=True,
            )
        )
        for r in events
    ]


def _linkage(store: Store, alert: Alert) -> Linkage | None:
    path = store.home / LINKS
    if not path.exists():
        return None
    rows = store.query(
        "SELECT relation, match_weight, match_probability, evidence, field_weights, source "
        f"FROM read_parquet({literal(path.as_posix())}) WHERE person_id = ? AND subject_id = ? "
        "ORDER BY match_weight DESC LIMIT 1",
        [alert.person_id, alert.subject_id],
    )
    if not rows:
        return None
    relation, weight, probability, agreement, weights, source = rows[0]
    return Linkage(
        relation=relation,
        match_weight=round(float(weight), 2),
        match_probability=float(probability),
        agreement=json.loads(agreement or "{}"),
        weights=json.loads(weights or "{}"),
        source=source,
    )


def why_not(store: Store, alert: Alert, named: bool, event_id: str, namer: Namer) -> WhyNot:
    """The explanation attempt for one of the alert's events, in words."""
    if event_id not in alert.event_ids.split():
        raise WebError(404, f"event {event_id!r} is not one of alert {alert.alert_id}'s events")
    found = explain_event(store, event_id)
    names = {alert.person_id: "employee"}
    if not named:
        namer.learn(store, [found.sentence, *found.checked])
    return WhyNot(
        event_id=event_id,
        explanation=found.explanation,
        sentence=namer.text(found.sentence, named, names),
        also=found.also,
        checked=[namer.text(c, named, names) for c in found.checked],
    )
