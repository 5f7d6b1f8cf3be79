"""``/cases`` and ``/cases/{case_id}``: the cases a user is on, one case in full, and its steps
as plain HTML forms (post, then redirect back to the case)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from custodes.cases import workflow
from custodes.cases.access import JOIN_CASES, OPEN_CASES, ROLE_PERMISSIONS, SIGN_OFF, may
from custodes.cases.casefile import read_case
from custodes.cases.models import User
from custodes.cases.taxonomy import BREACH_TYPES, CASE_STATUSES, OUTCOMES
from custodes.web import schemas
from custodes.web.casework import STEPS, complete_task
from custodes.web.context import context
from custodes.web.errors import WebError, validation_message
from custodes.web.guard import CSRF_FIELD, GuardedRoute, viewer
from custodes.web.pages.render import render
from custodes.web.reads import build_pack, record_view

router = APIRouter(route_class=GuardedRoute)
M = TypeVar("M", bound=BaseModel)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as text fields (a repeated field's values joined by spaces), without
    the CSRF token, which the guard has checked."""
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if key == CSRF_FIELD or not isinstance(value, str):
            continue
        fields[key] = f"{fields[key]} {value}" if key in fields else value
    return fields


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def parse(model: type[M], fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise WebError(422, validation_message(list(error.errors()))) from None


@router.get("/cases", include_in_schema=False)
def cases_page(request: Request, status: str = "", page: int = 1) -> HTMLResponse:
    listed = workflow.list_cases(
        context(request).db, viewer(request).user, status=status or None, page=page
    )
    return render(
        request,
        "cases.html",
        listed=listed,
        status=status,
        statuses=CASE_STATUSES,
        reviewers=_users(request, SIGN_OFF),
        may_open=may(viewer(request).user, OPEN_CASES),
    )


@router.post("/cases", include_in_schema=False)
def open_case(request: Request, fields: FormFields) -> RedirectResponse:
    body = parse(schemas.NewCase, fields)
    step = workflow.open_case(
        context(request).db,
        viewer(request).user,
        body.title,
        reason=body.reason,
        reviewer=body.reviewer,
    )
    return RedirectResponse(f"/cases/{step.case_id}?done=open", status_code=303)


@router.get("/cases/{case_id}", include_in_schema=False)
def case_page(request: Request, case_id: int, done: str = "") -> HTMLResponse:
    ctx, user = context(request), viewer(request).user
    with ctx.store() as store:
        case, timeline = read_case(ctx.db, user, case_id, store=store)
    record_view(
        request,
        "case",
        case=case.reference,
        people=sorted({*case.person_ids, *(p for e in timeline for p in e.persons)}),
        subjects=sorted({s for e in timeline for s in e.subjects}),
        items=[*case.alert_ids, *case.event_ids],
    )
    users = _active_users(request)
    message = "Case opened." if done == "open" else STEPS[done].done if done in STEPS else ""
    if done == "task":
        message = "Task done."
    return render(
        request,
        "case.html",
        case=case,
        timeline=timeline,
        message=message,
        outcomes=OUTCOMES,
        breach_types=BREACH_TYPES,
        owners=_may(users, OPEN_CASES),
        reviewers=_may(users, SIGN_OFF),
        joiners=[
            (name, role)
            for name, role in _may(users, JOIN_CASES)
            if name not in (case.owner, case.reviewer, *case.members)
        ],
        is_reviewer=case.reviewer == user.name,
    )


@router.get("/cases/{case_id}/evidence", include_in_schema=False)
def evidence_pack(request: Request, case_id: int, format: str = "pdf") -> Response:
    """The case's evidence pack, to download: a PDF to read, or the JSON bundle whose receipts
    ``custodes ledger verify-proof`` checks offline."""
    if format not in ("pdf", "json"):
        raise WebError(422, "the evidence pack is a pdf or a json file")
    pack = build_pack(request, case_id, f"evidence pack ({format})")
    name = f"{pack.reference}-evidence.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return Response(pack.to_json(), media_type="application/json", headers=headers)
    return Response(pack.to_pdf(), media_type="application/pdf", headers=headers)


def _users(request: Request, permission: str) -> list[tuple[str, str]]:
    """Active users whose role carries ``permission``, as (name, role), for the forms."""
    return _may(_active_users(request), permission)


def _active_users(request: Request) -> list[tuple[str, str]]:
    """Every active user, as (name, role), by name: a page's forms offer them by role."""
    with context(request).db.session() as session:
        rows = session.execute(
            select(User.name, User.role).where(User.active.is_(True)).order_by(User.name)
        )
        return [(name, role) for name, role in rows]


def _may(users: list[tuple[str, str]], permission: str) -> list[tuple[str, str]]:
    return [(name, role) for name, role in users if permission in ROLE_PERMISSIONS.get(role, ())]


def _step_route(name: str) -> None:
    step = STEPS[name]

    def run_step(request: Request, case_id: int, fields: FormFields) -> RedirectResponse:
        body = parse(step.model, fields)
        step.run(context(request).db, viewer(request).user, case_id, body)
        return RedirectResponse(f"/cases/{case_id}?done={name}", status_code=303)

    run_step.__name__ = f"case_{name}_form"
    router.add_api_route(
        f"/cases/{{case_id}}/{name}", run_step, methods=["POST"], include_in_schema=False
    )


for _name in STEPS:
    _step_route(_name)


@router.post("/cases/{case_id}/tasks/{task_id}/done", include_in_schema=False)
def task_done(request: Request, case_id: int, task_id: int, fields: FormFields) -> RedirectResponse:
    body = parse(schemas.TaskDone, fields)
    complete_task(context(request).db, viewer(request).user, case_id, task_id, body)
    return RedirectResponse(f"/cases/{case_id}?done=task", status_code=303)
