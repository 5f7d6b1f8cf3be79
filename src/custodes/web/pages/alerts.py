"""``/alerts``: the queue (filters, paging, bulk triage with HTMX) and one alert's evidence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from custodes.cases import alerts as queue
from custodes.cases import workflow
from custodes.cases.access import TRIAGE, may
from custodes.cases.models import Alert
from custodes.web.context import context
from custodes.web.errors import WebError
from custodes.web.evidence import alert_evidence, why_not
from custodes.web.guard import GuardedRoute, viewer
from custodes.web.naming import Namer, my_case_ids
from custodes.web.pages.cases import form_fields, parse
from custodes.web.pages.render import render
from custodes.web.queue import (
    FAMILIES,
    RULE_NAMES,
    STATES,
    QueueQuery,
    TriageIn,
    alert_page,
    parse_query,
    shown_ids,
    triage,
    triage_message,
)
from custodes.web.reads import record_view

router = APIRouter(route_class=GuardedRoute)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _queue(
    request: Request, query: QueueQuery, message: str = "", case_link: int | None = None
) -> HTMLResponse:
    ctx, user = context(request), viewer(request).user
    page = alert_page(ctx.db, user, query)
    record_view(
        request,
        "alert queue",
        people=page.person_ids,
        subjects=page.subject_ids,
        items=shown_ids(page),
    )
    open_cases = workflow.case_choices(ctx.db, user)
    template = "_queue.html" if is_htmx(request) else "alerts.html"
    return render(
        request,
        template,
        page=page,
        query=query,
        message=message,
        states=STATES,
        rules=RULE_NAMES,
        families=FAMILIES,
        may_triage=may(user, TRIAGE),
        open_cases=open_cases,
        case_link=case_link,
    )


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request) -> HTMLResponse:
    return _queue(request, parse_query(dict(request.query_params)))


@router.post("/alerts/triage", include_in_schema=False)
def triage_form(
    request: Request, fields: Annotated[dict[str, str], Depends(form_fields)]
) -> Response:
    filters = {k.removeprefix("q_"): v for k, v in fields.items() if k.startswith("q_")}
    versions = {
        k.removeprefix("v_"): v for k, v in fields.items() if k.startswith("v_") and v.isdigit()
    }
    chosen = fields.get("alert_ids", "").split()
    body = parse(
        TriageIn,
        {
            "action": fields.get("action", ""),
            "alert_ids": chosen,
            "reason": fields.get("reason", ""),
            "title": fields.get("title", ""),
            "case_id": fields.get("case_id", ""),
            "versions": {a: int(versions[a]) for a in chosen if a in versions},
        },
    )
    done = triage(context(request).db, viewer(request).user, body)
    if not is_htmx(request):
        target = f"/cases/{done.case_id}" if done.case_id else "/alerts"
        return RedirectResponse(target, status_code=303)
    return _queue(request, parse_query(filters), triage_message(done), case_link=done.case_id)


@router.get("/alerts/{alert_id}", include_in_schema=False)
def alert_page_view(request: Request, alert_id: str) -> HTMLResponse:
    ctx, user = context(request), viewer(request).user
    view = queue.get_alert(ctx.db, user, alert_id)
    with ctx.db.session() as session:
        row = session.scalars(select(Alert).where(Alert.alert_id == view.alert_id)).one()
    namer = Namer(user, ctx.pseudonym_key, my_case_ids(ctx.db, user))
    with ctx.store() as store:
        evidence = alert_evidence(store, row, view, namer)
    record_view(
        request,
        "alert evidence",
        case=evidence.case_reference,
        people=[row.person_id] if view.named else [],
        subjects=[row.subject_id] if view.named and row.subject_id else [],
        items=[row.alert_id, *(e.event_id for e in evidence.events)],
    )
    return render(request, "alert.html", alert=evidence, may_triage=may(user, TRIAGE))


@router.get("/alerts/{alert_id}/events/{event_id}", include_in_schema=False)
def why_not_fragment(request: Request, alert_id: str, event_id: str) -> HTMLResponse:
    ctx, user = context(request), viewer(request).user
    view = queue.get_alert(ctx.db, user, alert_id)
    with ctx.db.session() as session:
        row = session.get(Alert, view.alert_id)
        if row is None:
            raise WebError(404, f"no alert {alert_id!r}")
    namer = Namer(user, ctx.pseudonym_key, my_case_ids(ctx.db, user))
    with ctx.store() as store:
        answer = why_not(store, row, view.named, event_id, namer)
    record_view(
        request,
        "event explanation",
        case=view.case_reference if view.named else None,
        people=[row.person_id] if view.named else [],
        subjects=[row.subject_id] if view.named and row.subject_id else [],
        items=[row.alert_id, event_id],
    )
    template = "_why_not.html" if is_htmx(request) else "why_not.html"
    return render(request, template, why=answer, alert=view)
