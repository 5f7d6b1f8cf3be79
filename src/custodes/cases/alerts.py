"""The alert queue: listing and reading alerts, and triaging them.

Triage decides what an alert was: ``explain`` (legitimate, with a reason), ``dismiss`` (a false
positive, with a reason), ``escalate`` (a new case: the alerts' employees become its people, their
events its evidence, the user its owner) or ``merge`` (into an existing case). Each action takes
several alert ids and is all-or-nothing: one alert that is unknown, already triaged or changed
since the user saw it (when ``versions`` are given) refuses the whole action. Only ``new``
alerts can be triaged; each triaged alert gets a transition and an ``alert_step`` ledger leaf.

What the queue shows depends on who looks (:mod:`custodes.cases.access`): identifiers to roles
that see names and to the people on an alert's case, keyed pseudonyms to everyone else, with the
alert's sentence rewritten around the pseudonyms and any signal that names someone withheld.

Copying alerts in from detection is :func:`custodes.cases.sync.sync_alerts`, re-exported here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from custodes.cases import _input as check
from custodes.cases._steps import (
    Change,
    Step,
    acting,
    case_conflict,
    find_case,
    last_change,
    record,
    writing,
)
from custodes.cases.access import (
    OPEN_CASES,
    SIGNALS_SHOWN_UNDER_PSEUDONYMS,
    TRIAGE,
    VIEW_QUEUE,
    WORK_CASES,
    pseudonym,
    pseudonym_key,
    require,
    require_on_case,
    sees_names,
)
from custodes.cases.casefile import MAX_PER_PAGE, utc
from custodes.cases.db import CaseDb
from custodes.cases.errors import CaseWorkError, Conflict, Invalid, NotFound
from custodes.cases.models import Alert, Case, CaseMember, User
from custodes.cases.people import case_roles
from custodes.cases.sync import SyncReport, sync_alerts
from custodes.cases.taxonomy import ALERT_STATES
from custodes.cases.workflow import attach_people, cite, create_case
from custodes.detect.rules import RULES

__all__ = [
    "COUNT_LIMIT",
    "SORTS",
    "AlertFilter",
    "AlertPage",
    "AlertView",
    "SyncReport",
    "Triage",
    "count_alerts",
    "dismiss",
    "escalate",
    "explain",
    "get_alert",
    "list_alerts",
    "merge",
    "queue_counts",
    "sync_alerts",
]

WITHHELD: Final = "[withheld]"
SORTS: Final = {
    "score": Alert.score,
    "last_ts": Alert.last_ts,
    "detected_at": Alert.detected_at,
}
"""What the queue sorts by, each backed by an index on (state, column) so a page stays fast
with a million alerts: ``-score`` (the default) is highest first, ``-last_ts`` most recently
active, ``detected_at`` longest waiting."""

COUNT_LIMIT: Final = 10_000
"""A page of the queue counts the alerts that match up to this many (or up to the end of the
page asked for, if that is further): beyond it, the page says "more than 10,000". Counting a
queue of a million exactly costs more than the page itself, on every page, and nobody triages
by the last digit; the dashboard has the exact counts by state."""

_RULES: Final = {rule.name: rule for rule in RULES}


# what the queue shows --------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    """An alert as one user may see it. ``person`` and ``subject`` are identifiers when
    ``named``, pseudonyms otherwise; ``summary`` and ``evidence`` are written to match."""

    alert_id: str
    state: str
    rule: str
    family: str
    score: float
    first_ts: datetime
    last_ts: datetime
    detected_at: datetime
    event_ids: tuple[str, ...]
    person: str
    subject: str | None
    named: bool
    summary: str
    looks_for: str
    signal: str | None
    evidence: Mapping[str, Any]
    case_id: int | None
    case_reference: str | None
    reason: str | None
    triaged_by: str | None
    triaged_at: datetime | None
    version: int


@dataclass(frozen=True)
class AlertPage:
    """One page of the queue. ``person_ids`` and ``subject_ids`` are the identifiers the page
    shows by name (none when everything is pseudonymised): hand them to
    :func:`custodes.cases.audit.record_read`. ``total`` is exact when ``total_exact``;
    otherwise more than ``total`` alerts match (see :data:`COUNT_LIMIT`)."""

    items: tuple[AlertView, ...]
    total: int
    page: int
    per_page: int
    person_ids: tuple[str, ...]
    subject_ids: tuple[str, ...]
    total_exact: bool = True

    @property
    def shows_personal_data(self) -> bool:
        return bool(self.person_ids or self.subject_ids)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list. ``person`` and ``subject`` take an identifier (only for users who
    see names) or a pseudonym; ``min_age`` and ``max_age`` measure from when the alert reached
    the queue."""

    state: str | None = "new"
    rule: str | None = None
    family: str | None = None
    person: str | None = None
    subject: str | None = None
    min_score: float | None = None
    min_age: timedelta | None = None
    max_age: timedelta | None = None
    case_id: int | None = None


class _Presenter:
    """Turns alert rows into what one user may see."""

    def __init__(self, db: CaseDb, session: Session, user: User) -> None:
        self.session = session
        self.user = user
        self.home = db.home
        self.all_names = sees_names(user)
        self._key: bytes | None = None
        self.my_cases: set[int] | None = None
        self.references: dict[int, str] = {}
        self.names: dict[int, str] = {}

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = pseudonym_key(self.home)
        return self._key

    def named(self, alert: Alert) -> bool:
        if self.all_names:
            return True
        if alert.case_id is None:
            return False
        if self.my_cases is None:
            self.my_cases = _cases_of(self.session, self.user)
        return alert.case_id in self.my_cases

    def view(self, alert: Alert) -> AlertView:
        named = self.named(alert)
        try:
            evidence = dict(json.loads(alert.evidence))
        except (ValueError, TypeError):
            evidence = {}
        signal = evidence.get("signal")
        event_ids = tuple(alert.event_ids.split())
        if named:
            person, subject, summary = alert.person_id, alert.subject_id, alert.summary
        else:
            person = pseudonym("employee", alert.person_id, self.key)
            subject = pseudonym("subject", alert.subject_id, self.key) if alert.subject_id else None
            if alert.rule not in SIGNALS_SHOWN_UNDER_PSEUDONYMS and signal is not None:
                signal = WITHHELD
            summary = _summary(alert, person, subject, signal, len(event_ids))
            evidence = {
                "rule": alert.rule,
                "looks_for": evidence.get("looks_for", ""),
                "signal": signal,
                "events": len(event_ids),
            }
        return AlertView(
            alert_id=alert.alert_id,
            state=alert.state,
            rule=alert.rule,
            family=alert.family,
            score=alert.score,
            first_ts=utc(alert.first_ts),
            last_ts=utc(alert.last_ts),
            detected_at=utc(alert.detected_at),
            event_ids=event_ids,
            person=person,
            subject=subject,
            named=named,
            summary=summary,
            looks_for=str(evidence.get("looks_for", "")),
            signal=signal,
            evidence=evidence,
            case_id=alert.case_id,
            case_reference=self._reference(alert.case_id),
            reason=alert.reason,
            triaged_by=self._name(alert.triaged_by),
            triaged_at=utc(alert.triaged_at) if alert.triaged_at else None,
            version=alert.version,
        )

    def _reference(self, case_id: int | None) -> str | None:
        if case_id is None:
            return None
        if case_id not in self.references:
            self.references[case_id] = self.session.get_one(Case, case_id).reference
        return self.references[case_id]

    def _name(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.names:
            self.names[user_id] = self.session.get_one(User, user_id).name
        return self.names[user_id]


def _summary(alert: Alert, person: str, subject: str | None, signal: str | None, n: int) -> str:
    """The alert's sentence again, from its rule's template, around pseudonyms."""
    rule = _RULES.get(alert.rule)
    if rule is None:
        return f"an alert of rule {alert.rule} about {person} ({n} events)"
    return rule.summary.format(
        person=person,
        subject=subject,
        n=n,
        first=utc(alert.first_ts),
        last=utc(alert.last_ts),
        detail=signal or "",
    )


def _cases_of(session: Session, user: User) -> set[int]:
    members = select(CaseMember.case_id).where(CaseMember.user_id == user.id)
    return set(
        session.scalars(
            select(Case.id).where(
                or_(Case.owner_id == user.id, Case.reviewer_id == user.id, Case.id.in_(members))
            )
        )
    )


# listing ---------------------------------------------------------------------------------------


def list_alerts(
    db: CaseDb,
    user: User,
    where: AlertFilter | None = None,
    *,
    sort: str = "-score",
    page: int = 1,
    per_page: int = 50,
) -> AlertPage:
    """One page of the queue, filtered and sorted (a key of :data:`SORTS`; a leading ``-`` for
    descending), with the number of alerts that match, counted up to :data:`COUNT_LIMIT`. Uses
    the queue's indexes, so a page of a million alerts costs about what a page of a thousand
    does."""
    where = where or AlertFilter()
    order = _order(sort)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise Invalid(f"page {page!r} is not a page number (1, 2, …)")
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise Invalid(f"per page {per_page!r} is not a number")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(f"per page {per_page} must be between 1 and {MAX_PER_PAGE}")
    with db.session() as session:
        actor = acting(session, user)
        require(actor, VIEW_QUEUE)
        presenter = _Presenter(db, session, actor)
        conditions = _conditions(session, presenter, where)
        limit = max(COUNT_LIMIT, page * per_page)
        matching = select(Alert.alert_id).where(*conditions).limit(limit + 1).subquery()
        counted = session.scalar(select(func.count()).select_from(matching)) or 0
        rows = session.scalars(
            select(Alert)
            .where(*conditions)
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        items = tuple(presenter.view(row) for row in rows)
        persons = tuple(
            dict.fromkeys(r.person_id for r, v in zip(rows, items, strict=True) if v.named)
        )
        subjects = tuple(
            dict.fromkeys(
                r.subject_id for r, v in zip(rows, items, strict=True) if v.named and r.subject_id
            )
        )
    exact = counted <= limit
    return AlertPage(
        items, counted if exact else limit, page, per_page, persons, subjects, total_exact=exact
    )


def count_alerts(db: CaseDb, user: User, where: AlertFilter | None = None) -> int:
    """How many alerts match the filter."""
    with db.session() as session:
        actor = acting(session, user)
        require(actor, VIEW_QUEUE)
        conditions = _conditions(session, _Presenter(db, session, actor), where or AlertFilter())
        return session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0


def queue_counts(db: CaseDb, user: User) -> dict[str, int]:
    """Alerts by state (every state listed, zeros included)."""
    with db.session() as session:
        require(acting(session, user), VIEW_QUEUE)
        rows = session.execute(select(Alert.state, func.count()).group_by(Alert.state)).all()
        counts = {state: count for state, count in rows}
    return {state: int(counts.get(state, 0)) for state in ALERT_STATES}


def _order(sort: str) -> list[Any]:
    if not isinstance(sort, str):
        raise Invalid(f"sort {sort!r} is not a column name")
    name = sort.removeprefix("-")
    column = SORTS.get(name)
    if column is None:
        raise Invalid(f"cannot sort by {sort!r}: one of {', '.join(SORTS)} (- for descending)")
    if sort.startswith("-"):
        return [column.desc(), Alert.alert_id.desc()]
    return [column.asc(), Alert.alert_id.asc()]


def _conditions(
    session: Session, presenter: _Presenter, where: AlertFilter
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if where.state is not None:
        out.append(Alert.state == check.choice(where.state, "alert state", ALERT_STATES))
    if where.rule is not None:
        out.append(Alert.rule == check.text(where.rule, "rule", 64))
    if where.family is not None:
        out.append(Alert.family == check.text(where.family, "family", 32))
    if where.min_score is not None:
        if not isinstance(where.min_score, int | float) or isinstance(where.min_score, bool):
            raise Invalid(f"minimum score {where.min_score!r} is not a number")
        out.append(Alert.score >= float(where.min_score))
    now = datetime.now(UTC)
    if where.min_age is not None:
        out.append(Alert.detected_at <= now - _age(where.min_age))
    if where.max_age is not None:
        out.append(Alert.detected_at >= now - _age(where.max_age))
    if where.case_id is not None:
        out.append(Alert.case_id == where.case_id)
    if where.person is not None:
        out.append(_who(session, presenter, Alert.person_id, "employee", where.person))
    if where.subject is not None:
        out.append(_who(session, presenter, Alert.subject_id, "subject", where.subject))
    return out


def _age(value: object) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise Invalid(f"age {value!r} is not a length of time")
    return value


def _who(
    session: Session, presenter: _Presenter, column: Any, kind: str, value: str
) -> ColumnElement[bool]:
    """A filter on an employee or subject, by identifier or pseudonym. A user who sees
    pseudonyms may filter only by pseudonym, so a filter cannot reveal whose pseudonym is whose."""
    value = check.text(value, kind, 64)
    prefix = "EMP-" if kind == "employee" else "SUBJ-"
    if not value.startswith(prefix):
        if not presenter.all_names:
            raise Invalid(f"filter by the {kind}'s pseudonym ({prefix}…): names are not shown")
        return column == value  # type: ignore[no-any-return]
    return column.in_(_PSEUDONYMS.ids(session, column, kind, presenter.key, value))  # type: ignore[no-any-return]


class _PseudonymBook:
    """Whose pseudonym is whose, among the people and subjects of the alerts, per database,
    column and key: finding a pseudonym's identifier means computing the pseudonym of every
    distinct identifier (a scan of a million alerts, 60 to 120 ms), so the answer is kept and
    made again when a pseudonym is not in it (new alerts may have brought new people), at
    most every :data:`REFRESH` seconds. An alert synced since is found by its pseudonym within
    that time."""

    REFRESH: Final = 5.0

    def __init__(self) -> None:
        self._books: dict[tuple[str, str, bytes], tuple[float, dict[str, list[str]]]] = {}
        self._lock = threading.Lock()

    def ids(self, session: Session, column: Any, kind: str, key: bytes, value: str) -> list[str]:
        where = (str(session.get_bind().engine.url), str(column), key)
        with self._lock:
            made, book = self._books.get(where, (float("-inf"), {}))
        if value in book or time.monotonic() - made < self.REFRESH:
            return book.get(value, [])
        book = {}
        for i in session.scalars(select(column).where(column.is_not(None)).distinct()):
            book.setdefault(pseudonym(kind, i, key), []).append(i)
        with self._lock:
            self._books[where] = (time.monotonic(), book)
        return book.get(value, [])


_PSEUDONYMS: Final = _PseudonymBook()


def get_alert(db: CaseDb, user: User, alert_id: str) -> AlertView:
    """One alert, as this user may see it."""
    alert_id = check.identifier(alert_id, "alert")
    with db.session() as session:
        actor = acting(session, user)
        require(actor, VIEW_QUEUE)
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}: check the id (or run `custodes cases sync`)")
        return _Presenter(db, session, actor).view(alert)


# triage ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Triage:
    """What a triage action did: the alerts, their new state, and a ledger leaf for each."""

    action: str
    state: str
    alert_ids: tuple[str, ...]
    leaves: tuple[int, ...]


def explain(
    db: CaseDb,
    user: User,
    alert_ids: Sequence[str],
    reason: str,
    *,
    versions: Mapping[str, int] | None = None,
) -> Triage:
    """Mark alerts legitimate (explained), saying why."""
    return _close_alerts(db, user, alert_ids, reason, versions, "explain", "explained")


def dismiss(
    db: CaseDb,
    user: User,
    alert_ids: Sequence[str],
    reason: str,
    *,
    versions: Mapping[str, int] | None = None,
) -> Triage:
    """Mark alerts false positives (dismissed), saying why."""
    return _close_alerts(db, user, alert_ids, reason, versions, "dismiss", "dismissed")


def _close_alerts(
    db: CaseDb,
    user: User,
    alert_ids: Sequence[str],
    reason: str,
    versions: Mapping[str, int] | None,
    action: str,
    state: str,
) -> Triage:
    ids = check.identifiers(alert_ids, "alert")
    reason = check.text(reason, "reason", check.MAX_REASON)
    with writing(db, _alert_conflict(ids)) as session:
        actor = acting(session, user)
        require(actor, TRIAGE)
        alerts = _lock_new(session, ids, versions)
        now = datetime.now(UTC)
        for alert in alerts:
            alert.state, alert.reason = state, reason
            alert.triaged_by, alert.triaged_at = actor.id, now
        changes = [Change("alert", a.alert_id, action, "new", state, reason) for a in alerts]
        leaves = record(db, session, actor, changes)
    return Triage(action, state, tuple(a.alert_id for a in alerts), tuple(leaves))


def escalate(
    db: CaseDb,
    user: User,
    alert_ids: Sequence[str],
    title: str,
    *,
    reason: str = "",
    versions: Mapping[str, int] | None = None,
) -> Step:
    """Open a new case from alerts: the user owns it, the alerts' employees become its people
    (officer or staff, from the workforce; an account the workforce does not hold is left for
    the investigator to identify), and the alerts' events are cited."""
    ids = check.identifiers(alert_ids, "alert")
    title = check.text(title, "title", check.MAX_TITLE)
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    roles = _roles_of(db, ids)
    with writing(db, _alert_conflict(ids)) as session:
        actor = acting(session, user)
        require(actor, TRIAGE)
        require(actor, OPEN_CASES)
        alerts = _lock_new(session, ids, versions)
        first = min(utc(a.first_ts) for a in alerts)
        case = create_case(session, actor, title, incident_date=first.date())
        people = attach_people(case, {p: roles[p] for p in _persons(alerts) if p in roles})
        session.flush()
        cite(session, case, actor, _events_of(alerts))
        unknown = [p for p in _persons(alerts) if p not in roles]
        detail = _detail(ids, people, unknown)
        changes = _link(actor, case, alerts, "escalate", "escalated", reason)
        opened = Change(
            "case", str(case.id), "escalate", None, "open", reason, detail, case.reference
        )
        leaves = record(db, session, actor, [opened, *changes])
        return Step(case.reference, case.id, case.version, leaves[0])


def merge(
    db: CaseDb,
    user: User,
    alert_ids: Sequence[str],
    case: int | str,
    *,
    case_version: int | None = None,
    reason: str = "",
    versions: Mapping[str, int] | None = None,
) -> Step:
    """Add alerts to an existing case the user is on: their employees join its people and their
    events its evidence. ``case_version``, when given, must be the case's current version."""
    ids = check.identifiers(alert_ids, "alert")
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    seen = check.version(case_version) if case_version is not None else None
    roles = _roles_of(db, ids)

    def stale(session: Session) -> CaseWorkError:
        return case_conflict(session, case)

    with writing(db, stale) as session:
        actor = acting(session, user)
        require(actor, TRIAGE)
        target = find_case(session, case, lock=True)
        require_on_case(actor, target)
        require(actor, WORK_CASES)
        if seen is not None and target.version != seen:
            raise case_conflict(session, target.id)
        if target.status == "closed":
            raise Invalid(f"case {target.reference} is closed: escalate to a new case instead")
        alerts = _lock_new(session, ids, versions)
        people = attach_people(target, {p: roles[p] for p in _persons(alerts) if p in roles})
        cite(session, target, actor, _events_of(alerts))
        first = min(utc(a.first_ts) for a in alerts).date()
        if target.incident_date is None or first < target.incident_date:
            target.incident_date = first
        unknown = [p for p in _persons(alerts) if p not in roles]
        changes = _link(actor, target, alerts, "merge", "merged", reason)
        flag_modified(target, "status")
        status = target.status
        step = Change(
            "case",
            str(target.id),
            "merge_alerts",
            status,
            status,
            reason,
            _detail(ids, people, unknown),
            target.reference,
        )
        leaves = record(db, session, actor, [step, *changes])
        return Step(target.reference, target.id, target.version, leaves[0])


def _roles_of(db: CaseDb, ids: list[str]) -> dict[str, str]:
    """The workforce roles of the alerts' employees, read before the write transaction (the
    store is slower than the case database, and an alert's person never changes)."""
    with db.session() as session:
        persons = session.scalars(
            select(Alert.person_id).where(Alert.alert_id.in_(ids)).distinct()
        ).all()
    return case_roles(db.home, list(persons))


def _lock_new(session: Session, ids: list[str], versions: Mapping[str, int] | None) -> list[Alert]:
    """The alerts, locked in a fixed order (so two bulk actions cannot deadlock), after
    checking every one: it exists, is new, and is at the version the user saw."""
    statement = (
        select(Alert).where(Alert.alert_id.in_(ids)).order_by(Alert.alert_id).with_for_update()
    )
    found = {a.alert_id: a for a in session.scalars(statement)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no alert {' '.join(missing[:5])}: check the ids; nothing was changed")
    for alert_id in ids:
        alert = found[alert_id]
        if versions is not None and alert_id in versions and versions[alert_id] != alert.version:
            who = last_change(session, "alert", alert_id)
            raise Conflict(
                f"alert {alert_id} was changed by {who} (a sync or a triage); reload and try again"
            )
        if alert.state != "new":
            who = last_change(session, "alert", alert_id)
            raise Invalid(
                f"alert {alert_id} is already {alert.state} (by {who}): only new alerts can be "
                "triaged; nothing was changed"
            )
    return [found[i] for i in ids]


def _alert_conflict(ids: list[str]) -> Any:
    def build(session: Session) -> CaseWorkError:
        return Conflict(
            f"alerts {' '.join(ids[:5])} were changed by someone else meanwhile; reload and try again"
        )

    return build


def _persons(alerts: list[Alert]) -> list[str]:
    return list(dict.fromkeys(a.person_id for a in alerts))


def _events_of(alerts: list[Alert]) -> list[str]:
    return list(dict.fromkeys(e for a in alerts for e in a.event_ids.split()))


def _detail(ids: list[str], people: list[str], unknown: list[str]) -> str:
    parts = [
        f"alerts {' '.join(ids[:20])}" + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    ]
    if people:
        parts.append(f"people {' '.join(people)}")
    if unknown:
        parts.append(f"not in the workforce: {' '.join(unknown)}")
    return "; ".join(parts)


def _link(
    actor: User, case: Case, alerts: list[Alert], action: str, state: str, reason: str
) -> list[Change]:
    now = datetime.now(UTC)
    for alert in alerts:
        alert.state, alert.case_id, alert.reason = state, case.id, reason or None
        alert.triaged_by, alert.triaged_at = actor.id, now
    return [
        Change("alert", a.alert_id, action, "new", state, reason, None, case.reference)
        for a in alerts
    ]
