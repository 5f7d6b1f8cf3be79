"""The alert queue for the web: its filters, one page of it, and triage, shared by the pages
and the API.

Filters arrive as text (a query string or a form) and are checked here, so an empty box means
"any" and a word where a number belongs is a clear 422, not a crash. Triage is one call of the
case library for many alerts, all or nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from custodes.cases import alerts as queue
from custodes.cases.alerts import AlertFilter, AlertPage
from custodes.cases.db import CaseDb
from custodes.cases.models import User
from custodes.cases.taxonomy import ALERT_STATES
from custodes.detect.rules import RULES
from custodes.web.errors import WebError, validation_message
from custodes.web.schemas import Identifiers, blank_to_none

RULE_NAMES = tuple(rule.name for rule in RULES)
FAMILIES = tuple(dict.fromkeys(rule.family for rule in RULES))
PER_PAGE = 50

Blank = BeforeValidator(blank_to_none)


class QueueQuery(BaseModel):
    """The queue's filters, sort and page (``state=all`` for every state)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    state: Literal["new", "explained", "dismissed", "merged", "escalated", "all"] = "new"
    rule: Annotated[Annotated[str, Field(max_length=64)] | None, Blank] = None
    family: Annotated[Annotated[str, Field(max_length=32)] | None, Blank] = None
    person: Annotated[Annotated[str, Field(max_length=64)] | None, Blank] = None
    subject: Annotated[Annotated[str, Field(max_length=64)] | None, Blank] = None
    min_score: Annotated[Annotated[float, Field(ge=0, le=1)] | None, Blank] = None
    min_age_days: Annotated[Annotated[int, Field(ge=0, le=36_500)] | None, Blank] = None
    sort: Annotated[str, Field(max_length=16)] = "-score"
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=500)] = PER_PAGE

    def filter(self) -> AlertFilter:
        return AlertFilter(
            state=None if self.state == "all" else self.state,
            rule=self.rule,
            family=self.family,
            person=self.person,
            subject=self.subject,
            min_score=self.min_score,
            min_age=timedelta(days=self.min_age_days) if self.min_age_days is not None else None,
        )

    def query_string(self, **changes: Any) -> str:
        """These filters as a query string, with ``changes`` (for paging links)."""
        from urllib.parse import urlencode

        values = self.model_dump(exclude_none=True) | changes
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def parse_query(values: dict[str, Any]) -> QueueQuery:
    try:
        return QueueQuery.model_validate(values)
    except ValidationError as error:
        raise WebError(422, validation_message(list(error.errors()))) from None


def alert_page(db: CaseDb, user: User, query: QueueQuery) -> AlertPage:
    return queue.list_alerts(
        db, user, query.filter(), sort=query.sort, page=query.page, per_page=query.per_page
    )


class TriageIn(BaseModel):
    """A triage action on one or more new alerts, all or nothing.

    ``explain`` and ``dismiss`` need a ``reason``; ``escalate`` opens a case titled ``title``;
    ``merge`` adds the alerts to case ``case_id`` (one you are on). ``versions`` (alert id ->
    the version you saw) refuses the action if detection refreshed an alert meanwhile."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["explain", "dismiss", "escalate", "merge"]
    alert_ids: Identifiers
    reason: str = Field("", max_length=2_000)
    title: str = Field("", max_length=200)
    case_id: Annotated[Annotated[int, Field(ge=1)] | None, Blank] = None
    versions: dict[str, int] | None = None


class TriageOut(BaseModel):
    action: str
    state: str
    alert_ids: list[str]
    leaves: list[int]
    case_id: int | None = None
    case: str | None = None


def triage(db: CaseDb, user: User, body: TriageIn) -> TriageOut:
    """Run one triage action through the case library."""
    if body.action in ("explain", "dismiss"):
        run = queue.explain if body.action == "explain" else queue.dismiss
        done = run(db, user, body.alert_ids, body.reason, versions=body.versions)
        return TriageOut(
            action=done.action,
            state=done.state,
            alert_ids=list(done.alert_ids),
            leaves=list(done.leaves),
        )
    if body.action == "escalate":
        step = queue.escalate(
            db, user, body.alert_ids, body.title, reason=body.reason, versions=body.versions
        )
        state = "escalated"
    else:
        if body.case_id is None:
            raise WebError(422, "case_id: say which case to merge the alerts into")
        step = queue.merge(
            db, user, body.alert_ids, body.case_id, reason=body.reason, versions=body.versions
        )
        state = "merged"
    return TriageOut(
        action=body.action,
        state=state,
        alert_ids=list(body.alert_ids),
        leaves=[step.leaf],
        case_id=step.case_id,
        case=step.case,
    )


def triage_message(done: TriageOut) -> str:
    count = len(done.alert_ids)
    alerts = f"{count} alert{'s' if count != 1 else ''}"
    if done.action == "escalate":
        return f"{alerts} escalated: case {done.case} opened."
    if done.action == "merge":
        return f"{alerts} merged into case {done.case}."
    return f"{alerts} {done.state}."


def shown_ids(page: AlertPage) -> list[str]:
    return [a.alert_id for a in page.items]


STATES = ("new", *[s for s in ALERT_STATES if s != "new"], "all")
