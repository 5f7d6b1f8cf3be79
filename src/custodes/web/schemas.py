"""What the API takes and gives, as Pydantic models (and so as the OpenAPI document's schemas).

Input models bound every field's length so that an oversized value is refused (422, naming the
field) before the workflow is asked; the workflow then checks meaning (a known outcome code, an
allowed transition) and refuses with its own sentence. HTML forms are read into the same
models, so a form and a JSON call are checked alike.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

LONG_TEXT = 20_000
REASON = 2_000
ID = 64
MAX_IDS = 1_000


def blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _split_ids(value: Any) -> Any:
    """Identifiers from a form's text box (space, comma or newline separated) or a list."""
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    return value


MaybeId = Annotated[Annotated[str, Field(max_length=ID)] | None, BeforeValidator(blank_to_none)]
OptionalDate = Annotated[date | None, BeforeValidator(blank_to_none)]
Identifiers = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=ID)]],
    BeforeValidator(_split_ids),
    Field(min_length=1, max_length=MAX_IDS),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Versioned(Input):
    version: int = Field(ge=1, description="The case's version as you loaded it.")


# signing in ---------------------------------------------------------------------------------


class LoginIn(Input):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    name: str
    role: str


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header on every POST.")
    expires_at: datetime


# cases: steps -------------------------------------------------------------------------------


class NewCase(Input):
    title: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=REASON)
    reviewer: MaybeId = None


class StatusChange(Versioned):
    to: str = Field(max_length=32)
    reason: str = Field(max_length=REASON)


class Assignment(Versioned):
    owner: MaybeId = None
    reviewer: MaybeId = None
    reason: str = Field("", max_length=REASON)


class MemberIn(Versioned):
    member: str = Field(min_length=1, max_length=ID)
    reason: str = Field("", max_length=REASON)


class AllegationIn(Versioned):
    breach_type: str = Field(max_length=40)
    description: str = Field("", max_length=5_000)
    systems: str = Field("", max_length=200)
    incident_date: OptionalDate = None


class PersonIn(Versioned):
    person_ref: str = Field(min_length=1, max_length=ID)
    role: Annotated[Literal["officer", "staff"] | None, BeforeValidator(blank_to_none)] = None


class OutcomeIn(Versioned):
    person_ref: str = Field(min_length=1, max_length=ID)
    code: str = Field(max_length=40)
    outcome_date: OptionalDate = None
    note: str = Field("", max_length=LONG_TEXT)


class EventsIn(Versioned):
    event_ids: Identifiers


class TaskIn(Versioned):
    title: str = Field(min_length=1, max_length=200)
    assignee: MaybeId = None
    due: OptionalDate = None


class TaskDone(Versioned):
    pass


class NoteIn(Versioned):
    body: str = Field(min_length=1, max_length=LONG_TEXT)


class CloseIn(Versioned):
    note: str = Field(min_length=1, max_length=LONG_TEXT, description="The closing note.")


class StepOut(BaseModel):
    """What a step did: the case's new version (send it with the next step) and the ledger
    leaf that records the step."""

    case: str
    case_id: int
    version: int
    leaf: int
    item_id: int | None = None


# cases: reading -----------------------------------------------------------------------------


class Attributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OutcomeView(Attributes):
    id: int
    code: str
    label: str
    track: str
    outcome_date: date | None
    note: str
    recorded_by: str | None
    recorded_at: datetime


class PersonView(Attributes):
    id: int
    person_ref: str
    role: str
    outcomes: list[OutcomeView]


class AllegationView(Attributes):
    id: int
    breach_type: str
    label: str
    description: str
    systems: list[str]
    incident_date: date | None


class TaskView(Attributes):
    id: int
    title: str
    assignee: str | None
    due: date | None
    done_at: datetime | None
    created_by: str | None
    created_at: datetime


class NoteView(Attributes):
    id: int
    author: str | None
    body: str
    created_at: datetime


class TimelineEntry(Attributes):
    at: datetime
    kind: str
    actor: str | None
    text: str
    leaf: int | None


class CaseFile(Attributes):
    id: int
    reference: str
    title: str
    status: str
    version: int
    owner: str | None
    reviewer: str | None
    members: list[str]
    opened_at: datetime
    closed_at: datetime | None
    incident_date: date | None
    closing_note: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    allegations: list[AllegationView]
    people: list[PersonView]
    tasks: list[TaskView]
    notes: list[NoteView]
    alert_ids: list[str]
    event_ids: list[str]
    next_statuses: list[str]
    closing_blockers: list[str]


class CaseDetail(BaseModel):
    case: CaseFile
    timeline: list[TimelineEntry]


class CaseSummary(Attributes):
    id: int
    reference: str
    title: str
    status: str
    version: int
    owner: str | None
    reviewer: str | None
    opened_at: datetime


class CaseList(Attributes):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int
