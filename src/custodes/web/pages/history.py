"""``/people/{person_id}`` and ``/subjects/{subject_id}``: an employee's history (their
alerts, cases and recent accesses) and a subject's (who accessed their records, and why)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from custodes.web.context import context
from custodes.web.errors import WebError
from custodes.web.guard import GuardedRoute, viewer
from custodes.web.history import PersonHistory, SubjectHistory, person_history, subject_history
from custodes.web.naming import Namer, my_case_ids
from custodes.web.pages.render import render
from custodes.web.reads import record_view

router = APIRouter(route_class=GuardedRoute)


def checked_identifier(value: str, kind: str) -> str:
    if not value or len(value) > 64 or any(c.isspace() or not c.isprintable() for c in value):
        raise WebError(404, f"{value[:64]!r} is not {kind} identifier")
    return value


def page_namer(request: Request, *allowed: str) -> Namer:
    ctx, who = context(request), viewer(request)
    return Namer(who.user, ctx.pseudonym_key, my_case_ids(ctx.db, who.user), allowed=set(allowed))


def load_person(request: Request, person_id: str) -> PersonHistory:
    person_id = checked_identifier(person_id, "an employee")
    ctx = context(request)
    with ctx.store() as store:
        history = person_history(store, ctx.db, person_id, page_namer(request, person_id))
    record_view(
        request,
        "employee history",
        people=[person_id],
        items=[a.alert_id for a in history.alerts] + [e.event_id for e in history.accesses],
    )
    return history


def load_subject(request: Request, subject_id: str) -> SubjectHistory:
    subject_id = checked_identifier(subject_id, "a subject")
    ctx = context(request)
    with ctx.store() as store:
        history = subject_history(store, ctx.db, subject_id, page_namer(request, subject_id))
    record_view(
        request,
        "subject history",
        subjects=[subject_id],
        items=[e.event_id for e in history.accesses],
    )
    return history


@router.get("/people/{person_id}", include_in_schema=False)
def person_page(request: Request, person_id: str) -> HTMLResponse:
    return render(request, "person.html", history=load_person(request, person_id))


@router.get("/subjects/{subject_id}", include_in_schema=False)
def subject_page(request: Request, subject_id: str) -> HTMLResponse:
    return render(request, "subject.html", history=load_subject(request, subject_id))
