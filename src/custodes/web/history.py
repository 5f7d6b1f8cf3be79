"""Employee and subject histories: who someone is, what they looked at, who looked at them.

Read from the store (workforce, subjects, access events, and the explanation each event got)
and from the case database (alerts and cases). Personal data throughout: the pages that show
these record the read, and only viewers allowed by the route table get here. Identifiers of
*other* people (the subjects an employee looked up, the employees who looked at a subject) are
shown as the viewer may see them (:class:`~custodes.web.naming.Namer`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy import select

from custodes.bundle.validate import literal
from custodes.cases.db import CaseDb
from custodes.cases.models import Alert, Case, CasePerson
from custodes.explain.run import RESULT as EXPLANATIONS
from custodes.store.store import Store
from custodes.web.errors import WebError
from custodes.web.naming import Namer

RECENT: Final = 100


class EmployeeView(BaseModel):
    person_id: str
    in_workforce: bool
    role: str | None = None
    surname: str | None = None
    forenames: str | None = None
    unit: str | None = None
    joined: date | None = None
    left: date | None = None


class SubjectView(BaseModel):
    subject_id: str
    surname: str | None = None
    forenames: str | None = None
    date_of_birth: date | None = None
    postcode: str | None = None
    flags: list[str] = []


class AccessView(BaseModel):
    event_id: str
    ts: datetime
    person: str
    action: str
    system: str
    subject: str | None
    purpose: str | None
    explanation: str  # a template's name, or "unexplained"
    operation_id: str | None


class AlertBrief(BaseModel):
    alert_id: str
    rule: str
    state: str
    score: float
    summary: str
    last_ts: datetime
    case_id: int | None  # only when the viewer is on that case


class CaseBrief(BaseModel):
    id: int
    reference: str
    title: str
    status: str


class Accessor(BaseModel):
    person: str
    accesses: int
    unexplained: int
    last: datetime


class PersonHistory(BaseModel):
    employee: EmployeeView
    alerts: list[AlertBrief]
    cases: list[CaseBrief]  # the cases about them that the viewer is on
    other_cases: int  # cases about them the viewer is not on (need-to-know)
    accesses_total: int
    accesses: list[AccessView]  # the most recent


class SubjectHistory(BaseModel):
    subject: SubjectView
    accesses_total: int
    unexplained_total: int
    accessors: list[Accessor]  # who accessed the record, most accesses first
    accesses: list[AccessView]  # the most recent
    alerts: list[AlertBrief]


def _explained_join(store: Store) -> tuple[str, str]:
    path = store.home / EXPLANATIONS
    if not path.exists():
        return "NULL AS explanation, NULL AS operation_id", ""
    return (
        "x.explanation, x.operation_id",
        f"LEFT JOIN read_parquet({literal(path.as_posix())}) x USING (event_id)",
    )


def _accesses(store: Store, where: str, value: str, limit: int) -> list[tuple[Any, ...]]:
    columns, join = _explained_join(store)
    return store.query(
        f"SELECT e.event_id, e.ts, e.person_id, e.action, e.system, e.subject_id, e.purpose, "
        f"{columns} FROM access_events e {join} WHERE e.{where} = ? "
        f"ORDER BY e.ts DESC, e.event_id DESC LIMIT {int(limit)}",
        [value],
    )


def _access_view(row: tuple[Any, ...], namer: Namer) -> AccessView:
    event_id, ts, person_id, action, system, subject_id, purpose, explanation, operation = row
    return AccessView(
        event_id=event_id,
        ts=ts,
        person=namer.employee(person_id),
        action=action,
        system=system,
        subject=namer.subject(subject_id),
        purpose=purpose,
        explanation=explanation or "unexplained",
        operation_id=operation,
    )


def person_history(store: Store, db: CaseDb, person_id: str, namer: Namer) -> PersonHistory:
    """An employee's record, alerts, cases and recent accesses (:class:`WebError` 404 if the
    store has never heard of them)."""
    rows = store.query(
        "SELECT w.person_id, w.role, w.surname, w.forenames, coalesce(u.name, w.unit_id), "
        'w.joined, w."left" FROM workforce w LEFT JOIN units u USING (unit_id) '
        "WHERE w.person_id = ?",
        [person_id],
    )
    total = store.query("SELECT count(*) FROM access_events WHERE person_id = ?", [person_id])
    accesses_total = int(total[0][0])
    alerts, cases, other = _person_casework(store, db, person_id, namer)
    if not rows and not accesses_total and not alerts:
        raise WebError(404, f"no employee or account {person_id!r} is known to the store")
    if rows:
        pid, role, surname, forenames, unit, joined, left = rows[0]
        employee = EmployeeView(
            person_id=pid,
            in_workforce=True,
            role=role,
            surname=surname,
            forenames=forenames,
            unit=unit,
            joined=joined,
            left=left,
        )
    else:
        employee = EmployeeView(person_id=person_id, in_workforce=False)
    return PersonHistory(
        employee=employee,
        alerts=alerts,
        cases=cases,
        other_cases=other,
        accesses_total=accesses_total,
        accesses=[_access_view(r, namer) for r in _accesses(store, "person_id", person_id, RECENT)],
    )


def _person_casework(
    store: Store, db: CaseDb, person_id: str, namer: Namer
) -> tuple[list[AlertBrief], list[CaseBrief], int]:
    with db.session() as session:
        alerts = list(
            session.scalars(
                select(Alert).where(Alert.person_id == person_id).order_by(Alert.last_ts.desc())
            )
        )
        case_ids = set(
            session.scalars(select(CasePerson.case_id).where(CasePerson.person_ref == person_id))
        ) | {a.case_id for a in alerts if a.case_id is not None}
        cases = list(session.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)))
    visible = [c for c in cases if c.id in namer.cases]
    namer.learn(store, (a.summary for a in alerts))
    return (
        [_alert_brief(a, namer) for a in alerts],
        [
            CaseBrief(id=c.id, reference=c.reference, title=c.title, status=c.status)
            for c in visible
        ],
        len(cases) - len(visible),
    )


def _alert_brief(alert: Alert, namer: Namer) -> AlertBrief:
    return AlertBrief(
        alert_id=alert.alert_id,
        rule=alert.rule,
        state=alert.state,
        score=alert.score,
        summary=namer.text(
            alert.summary, namer.reveals(alert.case_id), {alert.person_id: "employee"}
        ),
        last_ts=alert.last_ts,
        case_id=alert.case_id if alert.case_id in namer.cases else None,
    )


def subject_history(store: Store, db: CaseDb, subject_id: str, namer: Namer) -> SubjectHistory:
    """Who accessed a subject's records, when and with what explanation (a subject access
    request's answer); :class:`WebError` 404 for an unknown subject."""
    rows = store.query(
        "SELECT subject_id, surname, forenames, date_of_birth, postcode, flags "
        "FROM subjects WHERE subject_id = ?",
        [subject_id],
    )
    counts = store.query(
        "SELECT count(*) FROM access_events WHERE subject_id = ?",
        [subject_id],
    )
    if not rows and not counts[0][0]:
        raise WebError(404, f"no subject {subject_id!r} is known to the store")
    _, join = _explained_join(store)
    by_person = store.query(
        "SELECT e.person_id, count(*), "
        + (
            "count(*) FILTER (WHERE x.explanation IS NULL OR x.explanation = 'unexplained'), "
            if join
            else "count(*), "
        )
        + f"max(e.ts) FROM access_events e {join} WHERE e.subject_id = ? "
        "GROUP BY e.person_id ORDER BY count(*) DESC, e.person_id",
        [subject_id],
    )
    with db.session() as session:
        alerts = list(
            session.scalars(
                select(Alert).where(Alert.subject_id == subject_id).order_by(Alert.last_ts.desc())
            )
        )
    namer.learn(store, (a.summary for a in alerts))
    if rows:
        sid, surname, forenames, born, postcode, flags = rows[0]
        subject = SubjectView(
            subject_id=sid,
            surname=surname,
            forenames=forenames,
            date_of_birth=born,
            postcode=postcode,
            flags=list(flags or []),
        )
    else:
        subject = SubjectView(subject_id=subject_id)
    return SubjectHistory(
        subject=subject,
        accesses_total=int(counts[0][0]),
        unexplained_total=sum(int(r[2]) for r in by_person),
        accessors=[
            Accessor(person=namer.employee(p), accesses=int(n), unexplained=int(u), last=last)
            for p, n, u, last in by_person
        ],
        accesses=[
            _access_view(r, namer) for r in _accesses(store, "subject_id", subject_id, RECENT)
        ],
        alerts=[_alert_brief(a, namer) for a in alerts],
    )
