"""``/api/alerts``: the queue, one alert's evidence, an event's explanation attempt, triage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from custodes.cases import alerts as queue
from custodes.cases.models import Alert
from custodes.web.context import context
from custodes.web.errors import WebError
from custodes.web.evidence import AlertEvidence, WhyNot, alert_evidence, why_not
from custodes.web.guard import GuardedRoute, viewer
from custodes.web.naming import Namer, my_case_ids
from custodes.web.queue import QueueQuery, TriageIn, TriageOut, alert_page, shown_ids, triage
from custodes.web.reads import record_view

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["alerts"])


class AlertOut(BaseModel):
    """An alert as you may see it: ``person`` and ``subject`` are identifiers when ``named``,
    pseudonyms (EMP-…, SUBJ-…) otherwise, and ``summary`` is written to match."""

    model_config = ConfigDict(from_attributes=True)

    alert_id: str
    state: str
    rule: str
    family: str
    score: float
    first_ts: datetime
    last_ts: datetime
    detected_at: datetime
    event_ids: list[str]
    person: str
    subject: str | None
    named: bool
    summary: str
    looks_for: str
    signal: str | None
    evidence: dict[str, Any]
    case_id: int | None
    case_reference: str | None
    reason: str | None
    triaged_by: str | None
    triaged_at: datetime | None
    version: int


class AlertPageOut(BaseModel):
    """A page of the queue. ``total`` alerts match when ``total_exact``; otherwise more than
    ``total`` do (the queue counts up to 10,000, or to the end of the page asked for)."""

    items: list[AlertOut]
    total: int
    total_exact: bool
    page: int
    per_page: int


@router.get("/alerts", response_model=AlertPageOut, responses={422: {}})
def api_alerts(request: Request, query: Annotated[QueueQuery, Query()]) -> AlertPageOut:
    """One page of the queue, filtered (state, rule, family, score, age) and sorted."""
    page = alert_page(context(request).db, viewer(request).user, query)
    record_view(
        request,
        "GET /api/alerts",
        people=page.person_ids,
        subjects=page.subject_ids,
        items=shown_ids(page),
    )
    return AlertPageOut(
        items=[AlertOut.model_validate(item) for item in page.items],
        total=page.total,
        total_exact=page.total_exact,
        page=page.page,
        per_page=page.per_page,
    )


def _alert(request: Request, alert_id: str) -> tuple[queue.AlertView, Alert, Namer]:
    ctx, user = context(request), viewer(request).user
    view = queue.get_alert(ctx.db, user, alert_id)
    with ctx.db.session() as session:
        row = session.get(Alert, view.alert_id)
    if row is None:
        raise WebError(404, f"no alert {alert_id!r}")
    return view, row, Namer(user, ctx.pseudonym_key, my_case_ids(ctx.db, user))


@router.get("/alerts/{alert_id}", response_model=AlertEvidence, responses={404: {}})
def api_alert(request: Request, alert_id: str) -> AlertEvidence:
    """An alert's evidence: the signal, the baseline, the linkage, the events and the
    explanation each one got."""
    view, row, namer = _alert(request, alert_id)
    with context(request).store() as store:
        evidence = alert_evidence(store, row, view, namer)
    record_view(
        request,
        f"GET /api/alerts/{row.alert_id}",
        case=evidence.case_reference,
        people=[row.person_id] if view.named else [],
        subjects=[row.subject_id] if view.named and row.subject_id else [],
        items=[row.alert_id, *(e.event_id for e in evidence.events)],
    )
    return evidence


@router.get("/alerts/{alert_id}/events/{event_id}", response_model=WhyNot, responses={404: {}})
def api_why_not(request: Request, alert_id: str, event_id: str) -> WhyNot:
    """Why one of the alert's events is (not) explained: what was checked, how close it came."""
    view, row, namer = _alert(request, alert_id)
    with context(request).store() as store:
        answer = why_not(store, row, view.named, event_id, namer)
    record_view(
        request,
        f"GET /api/alerts/{row.alert_id}/events/{event_id}",
        case=view.case_reference if view.named else None,
        people=[row.person_id] if view.named else [],
        subjects=[row.subject_id] if view.named and row.subject_id else [],
        items=[row.alert_id, event_id],
    )
    return answer


@router.post(
    "/alerts/triage", response_model=TriageOut, responses={403: {}, 404: {}, 409: {}, 422: {}}
)
def api_triage(request: Request, body: TriageIn) -> TriageOut:
    """Explain, dismiss, escalate or merge new alerts, all or nothing."""
    return triage(context(request).db, viewer(request).user, body)
