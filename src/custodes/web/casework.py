"""The case steps the web offers, each one input model and one workflow call.

Pages (HTML forms) and the API (JSON) both go through :data:`STEPS`, so a step is checked and
recorded the same way whichever face it came through. The workflow enforces need-to-know, the
version the user saw, and the rules of case work; the guard has already checked the role and
the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from custodes.cases import workflow
from custodes.cases.db import CaseDb
from custodes.cases.models import User
from custodes.cases.workflow import Step
from custodes.web import schemas as s


@dataclass(frozen=True)
class CaseStep:
    model: type[BaseModel]
    run: Callable[[CaseDb, User, int, Any], Step]
    done: str  # what the page says afterwards


STEPS: dict[str, CaseStep] = {
    "status": CaseStep(
        s.StatusChange,
        lambda db, u, c, b: workflow.change_status(db, u, c, b.version, b.to, b.reason),
        "Status changed.",
    ),
    "assign": CaseStep(
        s.Assignment,
        lambda db, u, c, b: workflow.assign(
            db, u, c, b.version, owner=b.owner, reviewer=b.reviewer, reason=b.reason
        ),
        "Assigned.",
    ),
    "members": CaseStep(
        s.MemberIn,
        lambda db, u, c, b: workflow.add_member(db, u, c, b.version, b.member, b.reason),
        "Added to the case.",
    ),
    "allegations": CaseStep(
        s.AllegationIn,
        lambda db, u, c, b: workflow.add_allegation(
            db,
            u,
            c,
            b.version,
            b.breach_type,
            description=b.description,
            systems=b.systems,
            incident_date=b.incident_date,
        ),
        "Allegation added.",
    ),
    "people": CaseStep(
        s.PersonIn,
        lambda db, u, c, b: workflow.add_person(db, u, c, b.version, b.person_ref, b.role),
        "Person added.",
    ),
    "outcomes": CaseStep(
        s.OutcomeIn,
        lambda db, u, c, b: workflow.record_outcome(
            db, u, c, b.version, b.person_ref, b.code, outcome_date=b.outcome_date, note=b.note
        ),
        "Outcome recorded.",
    ),
    "events": CaseStep(
        s.EventsIn,
        lambda db, u, c, b: workflow.cite_events(db, u, c, b.version, b.event_ids),
        "Events cited.",
    ),
    "tasks": CaseStep(
        s.TaskIn,
        lambda db, u, c, b: workflow.add_task(
            db, u, c, b.version, b.title, assignee=b.assignee, due=b.due
        ),
        "Task added.",
    ),
    "notes": CaseStep(
        s.NoteIn,
        lambda db, u, c, b: workflow.add_note(db, u, c, b.version, b.body),
        "Note added.",
    ),
    "close": CaseStep(
        s.CloseIn,
        lambda db, u, c, b: workflow.close_case(db, u, c, b.version, b.note),
        "Case closed and signed off.",
    ),
}


def complete_task(db: CaseDb, user: User, case_id: int, task_id: int, body: s.TaskDone) -> Step:
    return workflow.complete_task(db, user, case_id, body.version, task_id)


def step_out(step: Step) -> s.StepOut:
    return s.StepOut(
        case=step.case,
        case_id=step.case_id,
        version=step.version,
        leaf=step.leaf,
        item_id=step.item_id,
    )
