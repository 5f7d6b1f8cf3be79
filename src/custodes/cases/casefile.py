"""Reading cases: one case in full, the cases a user is on, a case's timeline, and the admin's
overview without personal data.

Everything returned is a frozen dataclass holding plain values, never a live ORM object, so a
web page or a JSON response can use it after the database session is gone and cannot change it
by accident. Reading a case needs a place on it (need-to-know); what the user then sees of
personal data is theirs to record with :func:`custodes.cases.audit.record_read`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final, TypeVar

from sqlalchemy import ColumnElement, CompoundSelect, Select, func, select, union_all
from sqlalchemy.orm import Session

from custodes.cases._steps import acting, find_case
from custodes.cases.access import require_on_case
from custodes.cases.db import CaseDb
from custodes.cases.errors import Invalid
from custodes.cases.models import (
    Alert,
    Allegation,
    Case,
    CaseEvent,
    CaseMember,
    CasePerson,
    Note,
    PersonOutcome,
    Task,
    Transition,
    User,
)
from custodes.cases.people import AccessEvent
from custodes.cases.taxonomy import BREACH_LABELS, CASE_STATUSES, CASE_TRANSITIONS, outcome
from custodes.store.locate import event_contents
from custodes.store.store import Store, open_store

MAX_PER_PAGE: Final = 500
T = TypeVar("T")


def utc(value: datetime) -> datetime:
    """An aware UTC time (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


# one case --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeView:
    id: int
    code: str
    label: str
    track: str
    outcome_date: date | None
    note: str
    recorded_by: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class PersonView:
    id: int
    person_ref: str
    role: str  # officer | staff
    outcomes: tuple[OutcomeView, ...]


@dataclass(frozen=True)
class AllegationView:
    id: int
    breach_type: str
    label: str
    description: str
    systems: tuple[str, ...]
    incident_date: date | None


@dataclass(frozen=True)
class TaskView:
    id: int
    title: str
    assignee: str | None
    due: date | None
    done_at: datetime | None
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class NoteView:
    id: int
    author: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True)
class CaseFile:
    """A case as the people on it see it. ``version`` goes back with the next change;
    ``next_statuses`` are the statuses it may move to; ``closing_blockers`` say what stands
    between it and closure (empty when the reviewer can sign off)."""

    id: int
    reference: str
    force: str
    origin: str
    title: str
    status: str
    version: int
    owner: str | None
    reviewer: str | None
    members: tuple[str, ...]
    opened_at: datetime
    closed_at: datetime | None
    incident_date: date | None
    closing_note: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    allegations: tuple[AllegationView, ...]
    people: tuple[PersonView, ...]
    tasks: tuple[TaskView, ...]
    notes: tuple[NoteView, ...]
    alert_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    next_statuses: tuple[str, ...]
    closing_blockers: tuple[str, ...]

    @property
    def person_ids(self) -> tuple[str, ...]:
        """The employees this case shows (for the read's ledger record)."""
        return tuple(p.person_ref for p in self.people)


def closing_blockers(case: Case) -> list[str]:
    """What must happen before the case's reviewer can sign it off (besides the closing note)."""
    return _blockers(case, [(p.person_ref, bool(p.outcomes)) for p in case.people])


def _blockers(case: Case, people: Sequence[tuple[str, bool]]) -> list[str]:
    """:func:`closing_blockers`, given each person on the case and whether they have an
    outcome."""
    blockers = []
    if case.reviewer_id is None:
        blockers.append("no reviewer is assigned")
    if not people:
        blockers.append("no people are on the case: add the employees involved")
    missing = [person for person, has_outcome in people if not has_outcome]
    if missing:
        blockers.append(f"no outcome recorded for {', '.join(missing)}")
    return blockers


def get_case(db: CaseDb, user: User, case: int | str) -> CaseFile:
    """The case in full, for someone on it."""
    with db.session() as session:
        actor = acting(session, user)
        found = find_case(session, case)
        rows = _CaseRows.read(session, found, with_timeline=False)
        require_on_case(actor, found, set(rows.members))
        return _case_file(found, rows, _NameBook(session))


def read_case(
    db: CaseDb, user: User, case: int | str, *, store: Store | None = None
) -> tuple[CaseFile, list[TimelineEntry]]:
    """The case in full and its timeline (see :func:`get_case` and :func:`timeline`), read in
    one transaction: what a case page shows, consistent, for one round of checks. The case's
    rows are read once for both (a page is a dozen statements, each a round trip to
    PostgreSQL)."""
    with db.session() as session:
        actor = acting(session, user)
        found = find_case(session, case)
        rows = _CaseRows.read(session, found, with_timeline=True)
        require_on_case(actor, found, set(rows.members))
        names = _NameBook(session)
        file = _case_file(found, rows, names)
        entries = _timeline(rows, names)
    if rows.cited:
        entries += _events(db, rows.cited, store)
    return file, sorted(entries, key=lambda e: e.at)


@dataclass
class _CaseRows:
    """Everything recorded on one case, read once, from which both the case file and its
    timeline are made."""

    people: Sequence[CasePerson]
    outcomes: Sequence[tuple[PersonOutcome, str]]  # each with its person's ``person_ref``
    tasks: Sequence[Task]
    notes: Sequence[Note]
    members: Sequence[int]
    allegations: Sequence[Allegation]
    alerts: Sequence[Alert]
    cited: dict[str, datetime]  # event id: when it was cited
    steps: Sequence[Transition]  # empty unless read ``with_timeline``

    @classmethod
    def read(cls, session: Session, case: Case, *, with_timeline: bool) -> _CaseRows:
        def rows(statement: Select[T]) -> Sequence[T]:
            return session.scalars(statement).all()

        outcomes = session.execute(
            select(PersonOutcome, CasePerson.person_ref)
            .join(CasePerson)
            .where(CasePerson.case_id == case.id)
            .order_by(PersonOutcome.id)
        ).all()
        cited = session.execute(
            select(CaseEvent.event_id, CaseEvent.added_at)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.event_id)
        ).all()
        return cls(
            people=rows(
                select(CasePerson).where(CasePerson.case_id == case.id).order_by(CasePerson.id)
            ),
            outcomes=[(outcome_row, person) for outcome_row, person in outcomes],
            tasks=rows(select(Task).where(Task.case_id == case.id).order_by(Task.id)),
            notes=rows(select(Note).where(Note.case_id == case.id).order_by(Note.id)),
            members=rows(select(CaseMember.user_id).where(CaseMember.case_id == case.id)),
            allegations=rows(
                select(Allegation).where(Allegation.case_id == case.id).order_by(Allegation.id)
            ),
            alerts=rows(select(Alert).where(Alert.case_id == case.id).order_by(Alert.alert_id)),
            cited={event_id: added_at for event_id, added_at in cited},
            steps=rows(
                select(Transition)
                .where(Transition.entity == "case", Transition.entity_id == str(case.id))
                .order_by(Transition.id)
            )
            if with_timeline
            else (),
        )


def _case_file(case: Case, rows: _CaseRows, names: _NameBook) -> CaseFile:
    outcomes = defaultdict(list)
    for row, _person in rows.outcomes:
        outcomes[row.case_person_id].append(row)
    return CaseFile(
        id=case.id,
        reference=case.reference,
        force=case.force,
        origin=case.origin,
        title=case.title,
        status=case.status,
        version=case.version,
        owner=names.get(case.owner_id),
        reviewer=names.get(case.reviewer_id),
        members=tuple(sorted(names[m] for m in rows.members)),
        opened_at=utc(case.opened_at),
        closed_at=_utc_or_none(case.closed_at),
        incident_date=case.incident_date,
        closing_note=case.closing_note,
        signed_off_by=names.get(case.signed_off_by),
        signed_off_at=_utc_or_none(case.signed_off_at),
        allegations=tuple(
            AllegationView(
                a.id,
                a.breach_type,
                BREACH_LABELS.get(a.breach_type, a.breach_type),
                a.description,
                tuple(s for s in a.systems.split(";") if s),
                a.incident_date,
            )
            for a in rows.allegations
        ),
        people=tuple(
            PersonView(
                p.id,
                p.person_ref,
                p.role,
                tuple(_outcome_view(o, names) for o in outcomes[p.id]),
            )
            for p in rows.people
        ),
        tasks=tuple(
            TaskView(
                t.id,
                t.title,
                names.get(t.assignee_id),
                t.due,
                _utc_or_none(t.done_at),
                names.get(t.created_by),
                utc(t.created_at),
            )
            for t in rows.tasks
        ),
        notes=tuple(
            NoteView(n.id, names.get(n.author_id), n.body, utc(n.created_at)) for n in rows.notes
        ),
        alert_ids=tuple(a.alert_id for a in rows.alerts),
        event_ids=tuple(rows.cited),
        next_statuses=tuple(s for s in CASE_TRANSITIONS.get(case.status, ()) if s != "closed"),
        closing_blockers=tuple(
            _blockers(case, [(p.person_ref, bool(outcomes[p.id])) for p in rows.people])
        )
        if case.status != "closed"
        else (),
    )


def _outcome_view(row: PersonOutcome, names: _NameBook) -> OutcomeView:
    try:
        item = outcome(row.code)
        label, track = item.label, item.track
    except KeyError:  # a code from an older taxonomy: shown as it is
        label, track = row.code, "unknown"
    return OutcomeView(
        row.id,
        row.code,
        label,
        track,
        row.outcome_date,
        row.note,
        names.get(row.recorded_by),
        utc(row.recorded_at),
    )


class _NameBook:
    """User names by id: every user's, read in one query when the first is needed (a page
    names a dozen users, and a query each is a round trip each to PostgreSQL; the users of a
    force are hundreds, not millions)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.names: dict[int, str] | None = None

    def get(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if self.names is None:
            rows = self.session.execute(select(User.id, User.name))
            self.names = {user_id: name for user_id, name in rows}
        return self.names.get(user_id, f"user {user_id}")

    def __getitem__(self, user_id: int) -> str:
        name = self.get(user_id)
        assert name is not None
        return name


# the cases a user is on ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSummary:
    id: int
    reference: str
    title: str
    status: str
    version: int
    owner: str | None
    reviewer: str | None
    opened_at: datetime


@dataclass(frozen=True)
class CaseList:
    items: tuple[CaseSummary, ...]
    total: int
    page: int
    per_page: int


def list_cases(
    db: CaseDb,
    user: User,
    *,
    status: str | None = None,
    open_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> CaseList:
    """The cases the user is on (owner, reviewer or member), newest first, perhaps only those
    in ``status`` or (``open_only``) those not closed. Nobody sees a list of cases they are not
    on, whatever their role."""
    if status is not None and status not in CASE_STATUSES:
        raise Invalid(f"unknown status {status!r}: one of {', '.join(CASE_STATUSES)}")
    page, per_page = _paging(page, per_page)
    with db.session() as session:
        where = _users_cases(acting(session, user), status, open_only)
        total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
        items = _summaries(session, where, (page - 1) * per_page, per_page)
    return CaseList(items, total, page, per_page)


def case_choices(db: CaseDb, user: User, *, limit: int = 100) -> tuple[CaseSummary, ...]:
    """The user's newest ``limit`` open cases, uncounted: what a form offers to add alerts to."""
    with db.session() as session:
        where = _users_cases(acting(session, user), None, open_only=True)
        return _summaries(session, where, 0, limit)


def case_ids_of(user: User) -> CompoundSelect[tuple[int]]:
    """The ids of the cases ``user`` is on (owner, reviewer or member), as a subquery: three
    indexed lookups, not ``owner = ? OR reviewer = ? OR id IN (...)``, which PostgreSQL answers
    by reading every case (16 ms against 2 ms at 100 k cases)."""
    return union_all(
        select(Case.id).where(Case.owner_id == user.id),
        select(Case.id).where(Case.reviewer_id == user.id),
        select(CaseMember.case_id).where(CaseMember.user_id == user.id),
    )


def _users_cases(actor: User, status: str | None, open_only: bool) -> list[ColumnElement[bool]]:
    """The conditions for the cases ``actor`` is on (:func:`case_ids_of`), perhaps of one status
    or only open."""
    where: list[ColumnElement[bool]] = [Case.id.in_(case_ids_of(actor))]
    if status:
        where.append(Case.status == status)
    if open_only:  # as a list, so the (owner, status) and (reviewer, status) indexes serve
        where.append(Case.status.in_([s for s in CASE_STATUSES if s != "closed"]))
    return where


def _summaries(
    session: Session, where: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[CaseSummary, ...]:
    rows = session.scalars(
        select(Case)
        .where(*where)
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    names = _NameBook(session)
    return tuple(
        CaseSummary(
            c.id,
            c.reference,
            c.title,
            c.status,
            c.version,
            names.get(c.owner_id),
            names.get(c.reviewer_id),
            utc(c.opened_at),
        )
        for c in rows
    )


def _paging(page: int, per_page: int) -> tuple[int, int]:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise Invalid(f"page {page!r} is not a page number (1, 2, …)")
    if (
        isinstance(per_page, bool)
        or not isinstance(per_page, int)
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise Invalid(f"per page {per_page!r} must be between 1 and {MAX_PER_PAGE}")
    return page, per_page


# the admin's overview --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """A case as an admin sees it: its progress, nothing about whom it concerns."""

    reference: str
    force: str
    origin: str
    status: str
    owner: str | None
    reviewer: str | None
    opened_at: datetime
    last_step_at: datetime | None
    closed_at: datetime | None


def case_overview(db: CaseDb, *, status: str | None = None) -> list[CaseRow]:
    """Every case's reference, status, owner, reviewer and times (no titles, no people): for
    ``custodes cases list``, run by whoever runs the service."""
    if status is not None and status not in CASE_STATUSES:
        raise Invalid(f"unknown status {status!r}: one of {', '.join(CASE_STATUSES)}")
    with db.session() as session:
        last: dict[str, datetime] = {
            entity_id: at
            for entity_id, at in session.execute(
                select(Transition.entity_id, func.max(Transition.at))
                .where(Transition.entity == "case")
                .group_by(Transition.entity_id)
            ).all()
        }
        statement = select(Case).order_by(Case.opened_at, Case.id)
        if status:
            statement = statement.where(Case.status == status)
        names = _NameBook(session)
        return [
            CaseRow(
                c.reference,
                c.force,
                c.origin,
                c.status,
                names.get(c.owner_id),
                names.get(c.reviewer_id),
                utc(c.opened_at),
                _utc_or_none(last.get(str(c.id))),
                _utc_or_none(c.closed_at),
            )
            for c in session.scalars(statement)
        ]


# the timeline ----------------------------------------------------------------------------------

ITEM_ACTIONS: Final = {
    "add_note": "note",
    "add_task": "task",
    "complete_task": "task_done",
    "record_outcome": "outcome",
}
"""Steps whose timeline entry is the item itself (the note, the task, the outcome), carrying
the step's ledger leaf, rather than a second entry for the step."""


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened, in time order. ``kind``: ``step`` (a change recorded as a
    transition), ``note``, ``task``, ``task_done``, ``outcome``, ``alert`` (a linked alert, at
    its first event), ``event`` (a cited access event, at its time). ``leaf`` is the ledger leaf
    that records it, where there is one; ``persons`` and ``subjects`` are the identifiers the
    entry shows, for the read's ledger record."""

    at: datetime
    kind: str
    actor: str | None
    text: str
    leaf: int | None = None
    persons: tuple[str, ...] = field(default=())
    subjects: tuple[str, ...] = field(default=())


def timeline(
    db: CaseDb,
    user: User,
    case: int | str,
    *,
    with_events: bool = True,
    store: Store | None = None,
) -> list[TimelineEntry]:
    """Everything that happened on the case, oldest first: its steps, notes, tasks, outcomes,
    linked alerts and (``with_events``) the cited access events, read from the store (``store``
    if the caller holds one open, as the web application does; opened for the call if not)."""
    with db.session() as session:
        actor = acting(session, user)
        found = find_case(session, case)
        rows = _CaseRows.read(session, found, with_timeline=True)
        require_on_case(actor, found, set(rows.members))
        entries = _timeline(rows, _NameBook(session))
    if with_events and rows.cited:
        entries += _events(db, rows.cited, store)
    return sorted(entries, key=lambda e: e.at)


def _timeline(rows: _CaseRows, names: _NameBook) -> list[TimelineEntry]:
    """The timeline's entries from the case database; the cited events (``rows.cited``) are
    still to be read from the store."""
    entries, leaves = _steps(rows, names)
    return entries + _items(rows, names, leaves) + _alerts(rows)


def _steps(
    rows: _CaseRows, names: _NameBook
) -> tuple[list[TimelineEntry], dict[tuple[str, int], tuple[int | None, str | None]]]:
    entries, leaves = [], {}
    for row in rows.steps:
        action = row.action or "status"
        item = _item_id(row.detail)
        if action in ITEM_ACTIONS and item is not None:
            leaves[(ITEM_ACTIONS[action], item)] = (row.ledger_leaf, names.get(row.user_id))
            continue
        entries.append(
            TimelineEntry(
                utc(row.at), "step", names.get(row.user_id), _describe(row), row.ledger_leaf
            )
        )
    return entries, leaves


def _item_id(detail: str | None) -> int | None:
    if detail and detail.startswith("#"):
        head = detail[1:].split(" ", 1)[0]
        if head.isdigit():
            return int(head)
    return None


def _describe(row: Transition) -> str:
    action = row.action or "status"
    reason = f": {row.reason}" if row.reason else ""
    detail = f" ({row.detail})" if row.detail else ""
    if row.from_state is None:
        how = "from alerts" if action == "escalate" else "by hand"
        return f"opened {how}{detail}{reason}"
    if action == "status":
        return f"status {row.from_state} → {row.to_state}{reason}"
    if action == "close":
        return f"closed and signed off{reason}"
    return f"{action.replace('_', ' ')}{detail}{reason}"


def _items(
    rows: _CaseRows,
    names: _NameBook,
    steps: dict[tuple[str, int], tuple[int | None, str | None]],
) -> list[TimelineEntry]:
    def leaf(kind: str, item: int) -> int | None:
        return steps.get((kind, item), (None, None))[0]

    entries = []
    for note in rows.notes:
        entries.append(
            TimelineEntry(
                utc(note.created_at),
                "note",
                names.get(note.author_id),
                note.body,
                leaf("note", note.id),
            )
        )
    for task in rows.tasks:
        due = f", due {task.due.isoformat()}" if task.due else ""
        who = f" for {names.get(task.assignee_id)}" if task.assignee_id else ""
        entries.append(
            TimelineEntry(
                utc(task.created_at),
                "task",
                names.get(task.created_by),
                f"task #{task.id}: {task.title}{who}{due}",
                leaf("task", task.id),
            )
        )
        if task.done_at is not None:
            entries.append(
                TimelineEntry(
                    utc(task.done_at),
                    "task_done",
                    steps.get(("task_done", task.id), (None, None))[1],
                    f"task #{task.id} done: {task.title}",
                    leaf("task_done", task.id),
                )
            )
    for row, person in rows.outcomes:
        view = _outcome_view(row, names)
        remark = f": {row.note}" if row.note else ""
        entries.append(
            TimelineEntry(
                view.recorded_at,
                "outcome",
                view.recorded_by,
                f"outcome for {person}: {view.label} ({view.code}){remark}",
                leaf("outcome", row.id),
                persons=(person,),
            )
        )
    return entries


def _alerts(rows: _CaseRows) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            utc(a.first_ts),
            "alert",
            None,
            f"alert {a.alert_id} ({a.rule}, score {a.score:.2f}): {a.summary}",
            persons=(a.person_id,),
            subjects=(a.subject_id,) if a.subject_id else (),
        )
        for a in rows.alerts
    ]


def _events(db: CaseDb, cited: dict[str, datetime], store: Store | None) -> list[TimelineEntry]:
    if store is None:
        with open_store(db.home) as opened:
            read = _stored_events(opened, list(cited))
    else:
        read = _stored_events(store, list(cited))
    found = {e.event_id: e for e in read}
    entries = []
    for event_id, added_at in cited.items():
        event = found.get(event_id)
        if event is None:  # lawfully erased: the citation stays, the content is gone
            entries.append(TimelineEntry(utc(added_at), "event", None, f"{event_id} (erased)"))
            continue
        subject = f" of {event.subject_id}" if event.subject_id else ""
        purpose = f", purpose: {event.purpose}" if event.purpose else ""
        entries.append(
            TimelineEntry(
                utc(event.ts),
                "event",
                event.person_id,
                f"{event_id}: {event.action} on {event.system}{subject}{purpose}",
                persons=(event.person_id,),
                subjects=(event.subject_id,) if event.subject_id else (),
            )
        )
    return entries


def _stored_events(store: Store, event_ids: list[str]) -> list[AccessEvent]:
    """The stored content of the cited events (erased ones left out), in time order, read
    from only the files that can hold them (:mod:`custodes.store.locate`)."""
    fields = ("event_id", "ts", "person_id", "action", "system", "subject_id", "purpose")
    return [AccessEvent(*row) for row in event_contents(store, event_ids, fields)]
