"""Recording a step of case work: one transition row and one ledger leaf per change of state.

Every mutating call of the workflow runs in :func:`writing` and ends with :func:`record`, in
this order:

1. check everything (need-to-know, role, the version the caller saw, the transition, the input);
2. change the rows and **flush**: a lost optimistic-locking race (SQLAlchemy's
   ``StaleDataError``) aborts here, before anything is recorded, and comes out as
   :class:`~custodes.cases.errors.Conflict`;
3. insert the transition rows and flush again;
4. append one ledger leaf per transition (``custodes.store.ledger.record_actions``: synced to
   the tree and committed in the catalog) and keep its index in ``Transition.ledger_leaf``;
5. commit.

A failure before step 4 leaves no trace anywhere. A failure of the commit itself (the database
gone between steps 4 and 5) leaves a ledger leaf that no transition points at: the ledger then
says a step was attempted that the case database does not hold, which an audit can see.

On SQLite every write transaction starts with ``BEGIN IMMEDIATE``, so two writers queue rather
than one failing at commit; on PostgreSQL the rows a step changes are read ``FOR UPDATE``.
Either way the version the caller saw is compared with the row's, under the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from custodes.cases.db import CaseDb
from custodes.cases.errors import CaseWorkError, Conflict, Forbidden, Invalid, NotFound
from custodes.cases.models import Case, Transition, User
from custodes.store.ledger import record_actions

LEDGER_KINDS: Final = {"case": "case_step", "alert": "alert_step"}
"""The ledger kind of a step, by what it changed: a case, or an alert under triage."""


@dataclass(frozen=True)
class Step:
    """What a mutating call did: the case it changed, the case's new ``version`` (pass it to
    the next call), the ledger leaf that records the step, and the id of a row it created (a
    note, a task, an allegation, a person, an outcome), if any."""

    case: str  # the case reference, e.g. PSD-2026-00012
    case_id: int
    version: int
    leaf: int
    item_id: int | None = None


@dataclass(frozen=True)
class Change:
    """One change of state, before it is recorded."""

    entity: str  # case | alert
    entity_id: str  # the case's id as text, or the alert_id
    action: str
    from_state: str | None
    to_state: str
    reason: str = ""
    detail: str | None = None
    case_reference: str | None = None

    def ledger_fields(self, user: User) -> dict[str, str | int | None]:
        fields: dict[str, str | int | None] = {
            "case": self.case_reference,
            "action": self.action,
            "from": self.from_state,
            "to": self.to_state,
            "user": user.name,
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.entity == "alert":
            fields["alert"] = self.entity_id
        return fields


@contextmanager
def writing(db: CaseDb, on_stale: Callable[[Session], CaseWorkError]) -> Iterator[Session]:
    """One write transaction. A lost optimistic-locking race becomes the error ``on_stale``
    builds (in a fresh session, since the failed one is rolled back)."""
    try:
        with db.session() as session:
            if session.get_bind().dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
    except StaleDataError:
        with db.session() as fresh:
            error = on_stale(fresh)
        raise error from None
    except OperationalError as error:
        if "locked" in str(error.orig) or "deadlock" in str(error.orig):
            raise Conflict(
                "the case database is busy with another change: try again in a moment"
            ) from None
        raise


def record(db: CaseDb, session: Session, user: User, changes: Sequence[Change]) -> list[int]:
    """Flush the changes made so far, then record each change as a transition row and a
    ledger leaf (in that order: see the module's docstring). Returns the leaf indexes."""
    session.flush()
    rows = [
        Transition(
            entity=c.entity,
            entity_id=c.entity_id,
            action=c.action,
            from_state=c.from_state,
            to_state=c.to_state,
            user_id=user.id,
            reason=c.reason,
            detail=c.detail,
        )
        for c in changes
    ]
    session.add_all(rows)
    session.flush()
    events = record_actions(
        db.home, [(LEDGER_KINDS[c.entity], c.ledger_fields(user)) for c in changes]
    )
    for row, event in zip(rows, events, strict=True):
        row.ledger_leaf = event.leaf_index
    session.flush()
    return [event.leaf_index for event in events]


def acting(session: Session, user: User) -> User:
    """The acting user as the database has them now: an account disabled since the user signed
    in may do nothing."""
    current = session.get(User, user.id)
    if current is None or not current.active:
        raise Forbidden(f"the account {user.name!r} is unknown or disabled")
    return current


def last_change(session: Session, entity: str, entity_id: str) -> str:
    """Who last changed an entity and when, for a conflict message."""
    row = session.execute(
        select(User.name, Transition.at)
        .outerjoin(User, User.id == Transition.user_id)
        .where(Transition.entity == entity, Transition.entity_id == entity_id)
        .order_by(Transition.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return "someone else"
    name, at = row
    return f"{name or 'the system'} at {_when(at)}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def find_case(session: Session, ref: int | str, *, lock: bool = False) -> Case:
    """A case by its id (an int) or its reference (a string such as ``PSD-2026-00012``);
    ``lock`` reads it ``FOR UPDATE`` (PostgreSQL) before a change."""
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise NotFound(f"no case {ref!r}: give a case reference or id")
    statement = select(Case).where(
        Case.id == ref if isinstance(ref, int) else Case.reference == ref.strip()
    )
    if lock:
        statement = statement.with_for_update()
    found = session.scalars(statement).all()
    if not found:
        raise NotFound(f"no case {ref!r}: check the reference")
    if len(found) > 1:
        raise Invalid(f"{ref!r} names {len(found)} cases (of different forces): use the case id")
    return found[0]


def case_conflict(session: Session, ref: int | str) -> Conflict:
    """The error for a case that moved on since the caller loaded it."""
    try:
        case = find_case(session, ref)
    except CaseWorkError as error:
        return Conflict(f"case {ref!r} changed since you loaded it ({error}); reload it")
    who = last_change(session, "case", str(case.id))
    return Conflict(f"case {case.reference} was changed by {who}; reload and try again")


def find_user(session: Session, ref: int | str, field: str) -> User:
    """A user by id (an int) or name (a string), for assignments."""
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise NotFound(f"no user {ref!r} for {field}: give a user name or id")
    statement = select(User).where(User.id == ref if isinstance(ref, int) else User.name == ref)
    user = session.scalars(statement).first()
    if user is None:
        raise NotFound(f"no user {ref!r} for {field}: check the name")
    if not user.active:
        raise Invalid(f"{user.name} ({field}) is disabled: choose an active user")
    return user
