"""``/api/cases``: the cases you are on, one case with its timeline, and each step."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from custodes.cases import workflow
from custodes.cases.casefile import read_case
from custodes.web import schemas as s
from custodes.web.casework import STEPS, complete_task, step_out
from custodes.web.context import context
from custodes.web.guard import GuardedRoute, viewer
from custodes.web.reads import build_pack, record_view

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["cases"])
ERRORS: dict[int | str, dict[str, object]] = {403: {}, 404: {}, 409: {}, 422: {}}


@router.get("/cases", response_model=s.CaseList, responses={422: {}})
def api_cases(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> s.CaseList:
    """The cases you are on (owner, reviewer, member), newest first."""
    listed = workflow.list_cases(
        context(request).db,
        viewer(request).user,
        status=status or None,
        page=page,
        per_page=per_page,
    )
    return s.CaseList.model_validate(listed)


@router.post("/cases", response_model=s.StepOut, status_code=201, responses=ERRORS)
def api_open_case(request: Request, body: s.NewCase) -> s.StepOut:
    """Open a case by hand; you become its owner."""
    step = workflow.open_case(
        context(request).db,
        viewer(request).user,
        body.title,
        reason=body.reason,
        reviewer=body.reviewer,
    )
    return step_out(step)


@router.get("/cases/{case_id}", response_model=s.CaseDetail, responses=ERRORS)
def api_case(request: Request, case_id: int) -> s.CaseDetail:
    """A case in full with its timeline (need-to-know: only for people on it)."""
    ctx, user = context(request), viewer(request).user
    with ctx.store() as store:
        case, timeline = read_case(ctx.db, user, case_id, store=store)
    record_view(
        request,
        f"GET /api/cases/{case_id}",
        case=case.reference,
        people=sorted({*case.person_ids, *(p for e in timeline for p in e.persons)}),
        subjects=sorted({x for e in timeline for x in e.subjects}),
        items=[*case.alert_ids, *case.event_ids],
    )
    return s.CaseDetail(
        case=s.CaseFile.model_validate(case),
        timeline=[s.TimelineEntry.model_validate(e) for e in timeline],
    )


@router.get("/cases/{case_id}/evidence", responses=ERRORS)
def api_evidence(request: Request, case_id: int) -> dict[str, Any]:
    """The case's evidence pack (format ``custodes/evidence/v1``): the case, its timeline, and
    for every cited event and recorded step its content with a receipt (inclusion proof
    against a signed checkpoint), which ``custodes ledger verify-proof`` checks offline."""
    pack = build_pack(request, case_id, f"GET /api/cases/{case_id}/evidence")
    document: dict[str, Any] = json.loads(pack.to_json())
    return document


def _run(request: Request, case_id: int, name: str, body: BaseModel) -> s.StepOut:
    step = STEPS[name].run(context(request).db, viewer(request).user, case_id, body)
    return step_out(step)


@router.post("/cases/{case_id}/status", response_model=s.StepOut, responses=ERRORS)
def api_status(request: Request, case_id: int, body: s.StatusChange) -> s.StepOut:
    """Move the case to another status (``taxonomy.CASE_TRANSITIONS``), with a reason."""
    return _run(request, case_id, "status", body)


@router.post("/cases/{case_id}/assign", response_model=s.StepOut, responses=ERRORS)
def api_assign(request: Request, case_id: int, body: s.Assignment) -> s.StepOut:
    """Give the case a new owner and/or reviewer (owner or reviewer only)."""
    return _run(request, case_id, "assign", body)


@router.post("/cases/{case_id}/members", response_model=s.StepOut, responses=ERRORS)
def api_member(request: Request, case_id: int, body: s.MemberIn) -> s.StepOut:
    """Add someone to the case's need-to-know list."""
    return _run(request, case_id, "members", body)


@router.post("/cases/{case_id}/allegations", response_model=s.StepOut, responses=ERRORS)
def api_allegation(request: Request, case_id: int, body: s.AllegationIn) -> s.StepOut:
    """Allege a breach: its type, the systems, the incident date."""
    return _run(request, case_id, "allegations", body)


@router.post("/cases/{case_id}/people", response_model=s.StepOut, responses=ERRORS)
def api_person(request: Request, case_id: int, body: s.PersonIn) -> s.StepOut:
    """Add an employee involved (officer or staff, from the workforce unless given)."""
    return _run(request, case_id, "people", body)


@router.post("/cases/{case_id}/outcomes", response_model=s.StepOut, responses=ERRORS)
def api_outcome(request: Request, case_id: int, body: s.OutcomeIn) -> s.StepOut:
    """Record an outcome (a code of the taxonomy) for a person on the case."""
    return _run(request, case_id, "outcomes", body)


@router.post("/cases/{case_id}/events", response_model=s.StepOut, responses=ERRORS)
def api_events(request: Request, case_id: int, body: s.EventsIn) -> s.StepOut:
    """Cite stored access events as evidence."""
    return _run(request, case_id, "events", body)


@router.post("/cases/{case_id}/tasks", response_model=s.StepOut, responses=ERRORS)
def api_task(request: Request, case_id: int, body: s.TaskIn) -> s.StepOut:
    """Add a task, perhaps for someone on the case, perhaps with a due date."""
    return _run(request, case_id, "tasks", body)


@router.post("/cases/{case_id}/tasks/{task_id}/done", response_model=s.StepOut, responses=ERRORS)
def api_task_done(request: Request, case_id: int, task_id: int, body: s.TaskDone) -> s.StepOut:
    """Mark a task done."""
    return step_out(
        complete_task(context(request).db, viewer(request).user, case_id, task_id, body)
    )


@router.post("/cases/{case_id}/notes", response_model=s.StepOut, responses=ERRORS)
def api_note(request: Request, case_id: int, body: s.NoteIn) -> s.StepOut:
    """Add a note (anyone on the case may)."""
    return _run(request, case_id, "notes", body)


@router.post("/cases/{case_id}/close", response_model=s.StepOut, responses=ERRORS)
def api_close(request: Request, case_id: int, body: s.CloseIn) -> s.StepOut:
    """Sign off and close a case in review (its reviewer, who is not the owner)."""
    return _run(request, case_id, "close", body)
