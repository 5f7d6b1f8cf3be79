"""Working a case: open it, move it through its statuses, record people, allegations, evidence,
tasks, notes and outcomes, and close it with a reviewer's sign-off.

Every function takes the case database, the acting :class:`~custodes.cases.models.User` and the
case (its reference, or its id as an int). Mutating functions also take the case's ``version``
as the caller saw it, and return a :class:`Step` carrying the new version; a case that moved on
in between raises :class:`~custodes.cases.errors.Conflict` and changes nothing.

Who may do what (the policy itself is :mod:`custodes.cases.access`):

* anyone **on the case** (owner, reviewer, members) may read it and add notes;
* of those, anyone whose role may work cases (investigators and reviewers) may change it:
  status, people, allegations, cited events, tasks, outcomes;
* the **owner or the reviewer** assign the owner and the reviewer and manage the access list;
* only the **reviewer** sends a case in review back to outcome, and closes it; the reviewer must
  not be the owner, every person must have an outcome, and the closing note is required.

A closed case is read-only. Statuses follow ``taxonomy.CASE_TRANSITIONS``; outcomes can be
recorded while a case is in assessment, investigation or outcome. Each change is one step: one
transition row and one ``case_step`` ledger leaf (:mod:`custodes.cases._steps`).

Reading (``get_case``, ``list_cases``, ``timeline``) is in :mod:`custodes.cases.casefile` and
re-exported here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from custodes.cases import _input as check
from custodes.cases._steps import (
    Change,
    Step,
    acting,
    case_conflict,
    find_case,
    find_user,
    record,
    writing,
)
from custodes.cases.access import (
    JOIN_CASES,
    OPEN_CASES,
    SIGN_OFF,
    WORK_CASES,
    may,
    require,
    require_on_case,
)
from custodes.cases.casefile import (
    CaseFile,
    CaseList,
    CaseRow,
    TimelineEntry,
    case_choices,
    case_overview,
    closing_blockers,
    get_case,
    list_cases,
    timeline,
)
from custodes.cases.db import CaseDb
from custodes.cases.errors import Forbidden, Invalid, NotFound
from custodes.cases.models import (
    Allegation,
    Case,
    CaseEvent,
    CaseMember,
    CasePerson,
    Note,
    PersonOutcome,
    Task,
    User,
)
from custodes.cases.people import case_roles, stored_event_ids
from custodes.cases.taxonomy import (
    BREACH_TYPES,
    CASE_STATUSES,
    CASE_TRANSITIONS,
    EMPLOYEE_ROLES,
    NOT_PROVIDED,
    OUTCOME_CODES,
    outcome,
)

__all__ = [
    "OUTCOME_STATUSES",
    "CaseFile",
    "CaseList",
    "CaseRow",
    "Step",
    "TimelineEntry",
    "add_allegation",
    "add_member",
    "add_note",
    "add_person",
    "add_task",
    "assign",
    "case_choices",
    "case_overview",
    "change_status",
    "cite_events",
    "close_case",
    "closing_blockers",
    "complete_task",
    "get_case",
    "list_cases",
    "open_case",
    "record_outcome",
    "remove_allegation",
    "remove_member",
    "remove_person",
    "timeline",
]

OUTCOME_STATUSES: Final = ("assessment", "investigation", "outcome")
"""The statuses in which outcomes are recorded (in review the reviewer sends a case back)."""

REFERENCE_PREFIX: Final = "PSD"


# opening ---------------------------------------------------------------------------------------


def open_case(
    db: CaseDb,
    user: User,
    title: str,
    *,
    reason: str = "",
    reviewer: int | str | None = None,
) -> Step:
    """Open a case by hand (not from alerts); the user becomes its owner."""
    title = check.text(title, "title", check.MAX_TITLE)
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    with writing(db, lambda s: Invalid("the new case could not be saved: try again")) as session:
        actor = acting(session, user)
        require(actor, OPEN_CASES)
        chosen = _reviewer(session, reviewer, owner=actor) if reviewer is not None else None
        case = create_case(session, actor, title, reviewer=chosen)
        detail = f"reviewer {chosen.name}" if chosen else None
        return _finish(db, session, actor, case, "open", None, reason, detail)


def create_case(
    session: Session,
    owner: User,
    title: str,
    *,
    reviewer: User | None = None,
    incident_date: date | None = None,
) -> Case:
    """Insert a new open case owned by ``owner``, with its reference ``PSD-YEAR-NNNNN`` (from
    its id, so two cases opened at once never race for a number)."""
    now = datetime.now(UTC)
    case = Case(
        reference=f"{REFERENCE_PREFIX}-pending-{uuid.uuid4().hex}",
        origin="workflow",
        title=title,
        status="open",
        owner_id=owner.id,
        reviewer_id=reviewer.id if reviewer else None,
        incident_date=incident_date,
        opened_at=now,
    )
    session.add(case)
    session.flush()
    reference = f"{REFERENCE_PREFIX}-{now:%Y}-{case.id:05d}"
    # Set beside the ORM so that naming the case is not a change of version.
    session.execute(
        update(cast(Table, Case.__table__)).where(Case.id == case.id).values(reference=reference)
    )
    set_committed_value(case, "reference", reference)
    return case


# the step machinery ----------------------------------------------------------------------------


@dataclass
class _Work:
    session: Session
    actor: User
    case: Case


@contextmanager
def _changing(
    db: CaseDb,
    user: User,
    ref: int | str,
    version: int,
    *,
    permission: str | None = WORK_CASES,
) -> Iterator[_Work]:
    """Open a write transaction on one case, after the checks every step shares: the actor is
    active, on the case, allowed by role; the case is not closed and is at ``version``."""
    seen = check.version(version)
    with writing(db, lambda s: case_conflict(s, ref)) as session:
        actor = acting(session, user)
        case = find_case(session, ref, lock=True)
        require_on_case(actor, case)
        if permission is not None:
            require(actor, permission)
        if case.version != seen:
            raise case_conflict(session, case.id)
        if case.status == "closed":
            raise Invalid(f"case {case.reference} is closed: a closed case cannot be changed")
        yield _Work(session, actor, case)


def _finish(
    db: CaseDb,
    session: Session,
    actor: User,
    case: Case,
    action: str,
    from_state: str | None,
    reason: str = "",
    detail: str | None = None,
    item_id: int | None = None,
    extra: Sequence[Change] = (),
) -> Step:
    """Record the step, bumping the case's version even if only a related row changed (a new
    case, ``from_state`` None, starts at version 1)."""
    if from_state is not None:
        flag_modified(case, "status")
    change = Change(
        "case",
        str(case.id),
        action,
        from_state,
        case.status,
        reason,
        detail,
        case.reference,
    )
    leaves = record(db, session, actor, [change, *extra])
    return Step(case.reference, case.id, case.version, leaves[0], item_id)


def _step(
    db: CaseDb,
    work: _Work,
    action: str,
    reason: str = "",
    detail: str | None = None,
    item_id: int | None = None,
) -> Step:
    case = work.case
    return _finish(db, work.session, work.actor, case, action, case.status, reason, detail, item_id)


def _owner_or_reviewer(work: _Work, doing: str) -> None:
    if work.actor.id not in (work.case.owner_id, work.case.reviewer_id):
        raise Forbidden(f"only the owner or the reviewer of {work.case.reference} may {doing}")


# status ----------------------------------------------------------------------------------------


def change_status(
    db: CaseDb, user: User, case: int | str, version: int, to: str, reason: str
) -> Step:
    """Move the case along ``taxonomy.CASE_TRANSITIONS``, saying why. Closing is
    :func:`close_case` (it needs a reviewer's sign-off)."""
    to = check.choice(to, "status", CASE_STATUSES)
    reason = check.text(reason, "reason", check.MAX_REASON)
    with _changing(db, user, case, version) as work:
        current = work.case.status
        if to == "closed":
            raise Invalid(
                f"case {work.case.reference} is closed by its reviewer's sign-off: use close"
            )
        allowed = CASE_TRANSITIONS[current]
        if to not in allowed:
            raise Invalid(
                f"case {work.case.reference} is {current}: it can move to "
                f"{' or '.join(allowed)}, not {to}"
            )
        if to == "review" and work.case.reviewer_id is None:
            raise Invalid(f"case {work.case.reference} has no reviewer: assign one first")
        if current == "review" and work.actor.id != work.case.reviewer_id:
            raise Forbidden(f"only the reviewer of {work.case.reference} sends it back")
        work.case.status = to
        return _finish(db, work.session, work.actor, work.case, "status", current, reason)


def close_case(db: CaseDb, user: User, case: int | str, version: int, note: str) -> Step:
    """Close a case in review: the reviewer (who is not the owner) signs off, with a closing
    note, once every person on the case has an outcome."""
    note = check.text(note, "closing note", check.MAX_NOTE)
    with _changing(db, user, case, version) as work:
        c, actor = work.case, work.actor
        if c.status != "review":
            raise Invalid(f"case {c.reference} is {c.status}: only a case in review can be closed")
        if actor.id != c.reviewer_id or not may(actor, SIGN_OFF):
            raise Forbidden(f"only the reviewer of {c.reference} can sign it off")
        if actor.id == c.owner_id:
            raise Forbidden(f"{actor.name} owns {c.reference}: the owner cannot sign it off")
        blockers = closing_blockers(c)
        if blockers:
            raise Invalid(f"case {c.reference} cannot be closed: {'; '.join(blockers)}")
        now = datetime.now(UTC)
        c.status, c.closing_note, c.closed_at = "closed", note, now
        c.signed_off_by, c.signed_off_at = actor.id, now
        return _finish(db, work.session, actor, c, "close", "review", note, "signed off")


# who is on the case ----------------------------------------------------------------------------


def assign(
    db: CaseDb,
    user: User,
    case: int | str,
    version: int,
    *,
    owner: int | str | None = None,
    reviewer: int | str | None = None,
    reason: str = "",
) -> Step:
    """Give the case a new owner and/or reviewer (by user name or id): one step each. The
    owner must be able to own cases, the reviewer to sign them off, and they must differ."""
    if owner is None and reviewer is None:
        raise Invalid("name an owner or a reviewer to assign")
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    with _changing(db, user, case, version) as work:
        _owner_or_reviewer(work, "assign its owner and reviewer")
        s, c = work.session, work.case
        changes: list[tuple[str, str]] = []
        new_owner = find_user(s, owner, "owner") if owner is not None else None
        new_reviewer = _reviewer(s, reviewer, owner=new_owner) if reviewer is not None else None
        if new_owner is not None:
            if not may(new_owner, OPEN_CASES):
                raise Invalid(f"{new_owner.name} ({new_owner.role}) cannot own cases")
            if new_owner.id == (new_reviewer.id if new_reviewer else c.reviewer_id):
                raise Invalid(f"{new_owner.name} reviews {c.reference}: the owner must differ")
            if new_owner.id != c.owner_id:
                changes.append(("assign_owner", f"{_name(s, c.owner_id)} -> {new_owner.name}"))
                c.owner_id = new_owner.id
        if new_reviewer is not None:
            if new_reviewer.id == c.owner_id:
                raise Invalid(f"{new_reviewer.name} owns {c.reference}: the reviewer must differ")
            if new_reviewer.id != c.reviewer_id:
                before = _name(s, c.reviewer_id)
                changes.append(("assign_reviewer", f"{before} -> {new_reviewer.name}"))
                c.reviewer_id = new_reviewer.id
        if not changes:
            raise Invalid(f"{c.reference} already has that owner and reviewer")
        status = c.status
        extra = [
            Change("case", str(c.id), a, status, status, reason, d, c.reference)
            for a, d in changes[1:]
        ]
        action, detail = changes[0]
        return _finish(db, s, work.actor, c, action, status, reason, detail, extra=extra)


def _reviewer(session: Session, ref: int | str, *, owner: User | None) -> User:
    chosen = find_user(session, ref, "reviewer")
    if not may(chosen, SIGN_OFF):
        raise Invalid(f"{chosen.name} ({chosen.role}) cannot review cases: choose a reviewer")
    if owner is not None and chosen.id == owner.id:
        raise Invalid(f"{chosen.name} would own and review the case: the reviewer must differ")
    return chosen


def _name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return "nobody"
    user = session.get(User, user_id)
    return user.name if user else f"user {user_id}"


def add_member(
    db: CaseDb, user: User, case: int | str, version: int, member: int | str, reason: str = ""
) -> Step:
    """Add someone to the case's access list (need-to-know): they may then open it."""
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    with _changing(db, user, case, version) as work:
        _owner_or_reviewer(work, "change who is on it")
        added = find_user(work.session, member, "member")
        if not may(added, JOIN_CASES):
            raise Invalid(f"{added.name} ({added.role}) cannot be added to cases")
        c = work.case
        if added.id in (c.owner_id, c.reviewer_id) or any(m.user_id == added.id for m in c.members):
            raise Invalid(f"{added.name} is already on {c.reference}")
        c.members.append(CaseMember(user_id=added.id, added_by=work.actor.id))
        return _step(db, work, "add_member", reason, added.name)


def remove_member(
    db: CaseDb, user: User, case: int | str, version: int, member: int | str, reason: str = ""
) -> Step:
    """Take someone off the case's access list."""
    reason = check.text(reason, "reason", check.MAX_REASON, required=False)
    with _changing(db, user, case, version) as work:
        _owner_or_reviewer(work, "change who is on it")
        removed = find_user(work.session, member, "member")
        c = work.case
        entry = next((m for m in c.members if m.user_id == removed.id), None)
        if entry is None:
            raise NotFound(f"{removed.name} is not a member of {c.reference}")
        c.members.remove(entry)
        return _step(db, work, "remove_member", reason, removed.name)


# what the case is about ------------------------------------------------------------------------


def add_allegation(
    db: CaseDb,
    user: User,
    case: int | str,
    version: int,
    breach_type: str,
    *,
    description: str = "",
    systems: str | Sequence[str] = "",
    incident_date: date | str | None = None,
) -> Step:
    """Allege a breach (``taxonomy.BREACH_TYPES``), in which systems, from when. The earliest
    incident date places the case in a reporting period."""
    breach_type = check.choice(breach_type, "breach type", BREACH_TYPES)
    description = check.text(description, "description", check.MAX_DESCRIPTION, required=False)
    joined = systems if isinstance(systems, str) else ";".join(s.strip() for s in systems)
    systems = check.text(joined, "systems", check.MAX_SYSTEMS, required=False)
    when = check.optional_date(incident_date, "incident date")
    with _changing(db, user, case, version) as work:
        c = work.case
        allegation = Allegation(
            breach_type=breach_type, description=description, systems=systems, incident_date=when
        )
        c.allegations.append(allegation)
        if when is not None and (c.incident_date is None or when < c.incident_date):
            c.incident_date = when
        work.session.flush()
        return _step(
            db, work, "add_allegation", "", f"#{allegation.id} {breach_type}", allegation.id
        )


def remove_allegation(
    db: CaseDb, user: User, case: int | str, version: int, allegation_id: int, reason: str
) -> Step:
    """Withdraw an allegation, saying why."""
    reason = check.text(reason, "reason", check.MAX_REASON)
    with _changing(db, user, case, version) as work:
        found = next((a for a in work.case.allegations if a.id == allegation_id), None)
        if found is None:
            raise NotFound(f"no allegation {allegation_id!r} on {work.case.reference}")
        work.case.allegations.remove(found)
        return _step(db, work, "remove_allegation", reason, f"#{found.id} {found.breach_type}")


def add_person(
    db: CaseDb,
    user: User,
    case: int | str,
    version: int,
    person_ref: str,
    role: str | None = None,
) -> Step:
    """Add an employee involved (a workforce ``person_id``). Their role, officer or staff, is
    looked up in the workforce; give it for someone the workforce does not hold."""
    person_ref = check.identifier(person_ref, "person")
    if role is not None:
        role = check.choice(role, "role", EMPLOYEE_ROLES)
    else:
        role = case_roles(db.home, [person_ref]).get(person_ref)
        if role is None:
            raise Invalid(
                f"{person_ref} is not in the workforce: give their role (officer or staff)"
            )
    with _changing(db, user, case, version) as work:
        c = work.case
        if any(p.person_ref == person_ref for p in c.people):
            raise Invalid(f"{person_ref} is already on {c.reference}")
        person = CasePerson(person_ref=person_ref, role=role)
        c.people.append(person)
        work.session.flush()
        return _step(db, work, "add_person", "", f"{person_ref} ({role})", person.id)


def attach_people(case: Case, roles: Mapping[str, str]) -> list[str]:
    """Add these people (``person_id -> role``) to the case unless already on it; returns
    those added."""
    present = {p.person_ref for p in case.people}
    added = [pid for pid in roles if pid not in present]
    for pid in added:
        case.people.append(CasePerson(person_ref=pid, role=roles[pid]))
    return added


def remove_person(
    db: CaseDb, user: User, case: int | str, version: int, person_ref: str, reason: str
) -> Step:
    """Take a person off the case (added by mistake), saying why; not once they have an
    outcome."""
    reason = check.text(reason, "reason", check.MAX_REASON)
    with _changing(db, user, case, version) as work:
        person = _person(work.case, person_ref)
        if person.outcomes:
            raise Invalid(f"{person_ref} has outcomes on {work.case.reference}: they stay on it")
        work.case.people.remove(person)
        return _step(db, work, "remove_person", reason, person_ref)


def _person(case: Case, person_ref: str) -> CasePerson:
    found = next((p for p in case.people if p.person_ref == person_ref), None)
    if found is None:
        raise NotFound(f"{person_ref!r} is not a person on {case.reference}")
    return found


def cite_events(
    db: CaseDb, user: User, case: int | str, version: int, event_ids: Sequence[str]
) -> Step:
    """Cite access events as evidence (their receipts go into the evidence pack)."""
    wanted = check.identifiers(event_ids, "event")
    stored = stored_event_ids(db.home, wanted)
    missing = [e for e in wanted if e not in stored]
    if missing:
        raise NotFound(f"no access event {_few(missing)} is stored: check the event ids")
    with _changing(db, user, case, version) as work:
        added = cite(work.session, work.case, work.actor, wanted)
        if not added:
            raise Invalid(f"{_few(wanted)} already cited on {work.case.reference}")
        return _step(db, work, "cite_events", "", _few(added, 20))


def cite(session: Session, case: Case, actor: User, event_ids: Sequence[str]) -> list[str]:
    """Cite events on the case unless already cited; returns those added."""
    present = set(session.scalars(select(CaseEvent.event_id).where(CaseEvent.case_id == case.id)))
    added = [e for e in dict.fromkeys(event_ids) if e not in present]
    session.add_all(CaseEvent(case_id=case.id, event_id=e, added_by=actor.id) for e in added)
    return added


def _few(items: Sequence[str], limit: int = 5) -> str:
    shown = " ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# tasks and notes -------------------------------------------------------------------------------


def add_task(
    db: CaseDb,
    user: User,
    case: int | str,
    version: int,
    title: str,
    *,
    assignee: int | str | None = None,
    due: date | str | None = None,
) -> Step:
    """A task on the case, for someone on it, perhaps with a due date."""
    title = check.text(title, "task title", check.MAX_TITLE)
    when = check.optional_date(due, "due date")
    with _changing(db, user, case, version) as work:
        c = work.case
        person = find_user(work.session, assignee, "assignee") if assignee is not None else None
        if person is not None and not _is_on(c, person):
            raise Invalid(f"{person.name} is not on {c.reference}: add them first")
        task = Task(
            case_id=c.id,
            title=title,
            assignee_id=person.id if person else None,
            due=when,
            created_by=work.actor.id,
        )
        work.session.add(task)
        work.session.flush()
        return _step(db, work, "add_task", "", f"#{task.id} {title}", task.id)


def _is_on(case: Case, user: User) -> bool:
    return user.id in (case.owner_id, case.reviewer_id) or any(
        m.user_id == user.id for m in case.members
    )


def complete_task(db: CaseDb, user: User, case: int | str, version: int, task_id: int) -> Step:
    """Mark a task of the case done."""
    with _changing(db, user, case, version) as work:
        task = work.session.get(Task, task_id) if isinstance(task_id, int) else None
        if task is None or task.case_id != work.case.id:
            raise NotFound(f"no task {task_id!r} on {work.case.reference}")
        if task.done_at is not None:
            raise Invalid(f"task #{task.id} on {work.case.reference} is already done")
        task.done_at = datetime.now(UTC)
        return _step(db, work, "complete_task", "", f"#{task.id} {task.title}", task.id)


def add_note(db: CaseDb, user: User, case: int | str, version: int, body: str) -> Step:
    """A note on the case; anyone on it may add one."""
    body = check.text(body, "note", check.MAX_NOTE)
    with _changing(db, user, case, version, permission=None) as work:
        note = Note(case_id=work.case.id, author_id=work.actor.id, body=body)
        work.session.add(note)
        work.session.flush()
        return _step(db, work, "add_note", "", f"#{note.id}", note.id)


# outcomes --------------------------------------------------------------------------------------


def record_outcome(
    db: CaseDb,
    user: User,
    case: int | str,
    version: int,
    person_ref: str,
    code: str,
    *,
    outcome_date: date | str | None = None,
    note: str = "",
) -> Step:
    """Record an outcome for a person on the case: a code of the taxonomy that applies to the
    person's role. A person may have several (tracks run in parallel), each code once."""
    code = check.choice(code, "outcome", OUTCOME_CODES)
    if code == NOT_PROVIDED:
        raise Invalid(f"{NOT_PROVIDED} is for historical records that lack the outcome")
    when = check.optional_date(outcome_date, "outcome date")
    note = check.text(note, "note", check.MAX_NOTE, required=False)
    with _changing(db, user, case, version) as work:
        c = work.case
        if c.status not in OUTCOME_STATUSES:
            raise Invalid(
                f"case {c.reference} is {c.status}: outcomes are recorded in "
                f"{', '.join(OUTCOME_STATUSES)}"
            )
        person = _person(c, person_ref)
        item = outcome(code)
        if person.role not in item.applies_to:
            raise Invalid(
                f"{code} does not apply to {person_ref}, who is {person.role} "
                f"(it applies to {' and '.join(item.applies_to)})"
            )
        if any(o.code == code for o in person.outcomes):
            raise Invalid(f"{person_ref} already has {code} on {c.reference}")
        recorded = PersonOutcome(code=code, outcome_date=when, note=note, recorded_by=work.actor.id)
        person.outcomes.append(recorded)
        work.session.flush()
        detail = f"#{recorded.id} {person_ref} {code}"
        return _step(db, work, "record_outcome", "", detail, recorded.id)
