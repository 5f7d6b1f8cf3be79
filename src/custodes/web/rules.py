"""Who may use each route: the one table that enforcement and the authorisation tests read.

Every route of the application has a rule here, keyed by its method and path template. A rule
names the roles allowed (from the role policy of :mod:`custodes.cases.access`) and its scope:

* ``case``: the path names a case (``{case_id}``); only the people on it may use the route
  (owner, reviewer, members: need-to-know), whatever their role.
* ``person`` / ``subject``: the path names an employee or a subject; roles that see names
  (:data:`~custodes.cases.access.SEES_NAMES_IN_QUEUE`) may open any, the others only one who
  is in a case they are on, since to them everyone else is a pseudonym.

``personal`` routes show personal data (an employee's or a subject's details, events, evidence),
so each successful response records exactly one read in the ledger; the guard checks it.
A route missing from this table cannot be served: the application refuses to start, and the
authorisation-matrix test fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from custodes.cases.access import (
    JOIN_CASES,
    OPEN_CASES,
    ROLE_PERMISSIONS,
    SIGN_OFF,
    TRIAGE,
    VIEW_QUEUE,
    WORK_CASES,
)
from custodes.cases.taxonomy import USER_ROLES

Scope = Literal["case", "person", "subject"]


def roles_with(*permissions: str) -> frozenset[str]:
    """The roles that carry any of these permissions."""
    return frozenset(r for r, held in ROLE_PERMISSIONS.items() if held & set(permissions))


ALL: Final = frozenset(USER_ROLES)
QUEUE: Final = roles_with(VIEW_QUEUE)
TRIAGERS: Final = roles_with(TRIAGE)
ON_CASES: Final = roles_with(OPEN_CASES, JOIN_CASES, SIGN_OFF)  # roles that can be on a case
OPENERS: Final = roles_with(OPEN_CASES)  # roles that open (and own) cases
CASE_WORKERS: Final = roles_with(WORK_CASES)  # roles that change a case they are on
REVIEWERS: Final = roles_with(SIGN_OFF)
HISTORIES: Final = ON_CASES  # employee and subject histories (need-to-know or names)
SUBJECT_ACCESS: Final = frozenset({"dpo"})  # answers subject access requests


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope | None = None
    personal: bool = False
    public: bool = False  # no sign-in needed (the sign-in form, the API's description)

    def allows(self, role: str) -> bool:
        return self.public or role in self.roles

    @property
    def case_scoped(self) -> bool:
        return self.scope == "case"


PUBLIC: Final = Rule(frozenset(), public=True)
CASE_PAGE: Final = Rule(ON_CASES, "case", personal=True)
CASE_STEP: Final = Rule(CASE_WORKERS, "case")
CASE_NOTE: Final = Rule(ON_CASES, "case")  # anyone on a case may add a note
SIGN_OFF_STEP: Final = Rule(REVIEWERS, "case")
PERSON_PAGE: Final = Rule(HISTORIES, "person", personal=True)
SUBJECT_PAGE: Final = Rule(HISTORIES, "subject", personal=True)
CASE_STEPS: Final = ("status", "assign", "members", "allegations", "people", "outcomes")
CASE_STEPS_MORE: Final = ("events", "tasks", "tasks/{task_id}/done")


def _case_routes(prefix: str) -> dict[tuple[str, str], Rule]:
    routes = {
        ("GET", f"{prefix}/cases"): Rule(ON_CASES),
        ("POST", f"{prefix}/cases"): Rule(OPENERS),
        ("GET", f"{prefix}/cases/{{case_id}}"): CASE_PAGE,
        ("GET", f"{prefix}/cases/{{case_id}}/evidence"): CASE_PAGE,
        ("POST", f"{prefix}/cases/{{case_id}}/notes"): CASE_NOTE,
        ("POST", f"{prefix}/cases/{{case_id}}/close"): SIGN_OFF_STEP,
    }
    for step in CASE_STEPS + CASE_STEPS_MORE:
        routes[("POST", f"{prefix}/cases/{{case_id}}/{step}")] = CASE_STEP
    return routes


# (method, path template) -> rule. Pages first, then the JSON API, which mirrors them.
RULES: Final[dict[tuple[str, str], Rule]] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): Rule(ALL),
    ("GET", "/"): Rule(ALL),
    ("GET", "/alerts"): Rule(QUEUE, personal=True),
    ("POST", "/alerts/triage"): Rule(TRIAGERS, personal=True),
    ("GET", "/alerts/{alert_id}"): Rule(QUEUE, personal=True),
    ("GET", "/alerts/{alert_id}/events/{event_id}"): Rule(QUEUE, personal=True),
    **_case_routes(""),
    ("GET", "/people/{person_id}"): PERSON_PAGE,
    ("GET", "/subjects/{subject_id}"): SUBJECT_PAGE,
    ("GET", "/ledger"): Rule(ALL),
    ("GET", "/subject-access"): Rule(SUBJECT_ACCESS),
    ("POST", "/subject-access"): Rule(SUBJECT_ACCESS, personal=True),
    # the JSON API
    ("GET", "/api/openapi.json"): PUBLIC,
    ("POST", "/api/login"): PUBLIC,
    ("POST", "/api/logout"): Rule(ALL),
    ("GET", "/api/me"): Rule(ALL),
    ("GET", "/api/dashboard"): Rule(ALL),
    ("GET", "/api/alerts"): Rule(QUEUE, personal=True),
    ("POST", "/api/alerts/triage"): Rule(TRIAGERS),
    ("GET", "/api/alerts/{alert_id}"): Rule(QUEUE, personal=True),
    ("GET", "/api/alerts/{alert_id}/events/{event_id}"): Rule(QUEUE, personal=True),
    **_case_routes("/api"),
    ("GET", "/api/people/{person_id}"): PERSON_PAGE,
    ("GET", "/api/subjects/{subject_id}"): SUBJECT_PAGE,
    ("GET", "/api/ledger"): Rule(ALL),
    ("POST", "/api/subject-access"): Rule(SUBJECT_ACCESS, personal=True),
}


def rule_for(method: str, path: str) -> Rule:
    """The rule of a route; a ``LookupError`` for a route nobody wrote a rule for."""
    try:
        return RULES[(method, path)]
    except KeyError:
        raise LookupError(
            f"{method} {path} has no rule in custodes.web.rules.RULES: add one (roles, scope, "
            "personal) before serving it"
        ) from None


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")
