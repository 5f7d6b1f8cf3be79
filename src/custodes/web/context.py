"""What every request shares: the store's HOME, the case database, the pseudonym key.

One :class:`WebContext` is made by ``create_app`` and kept on ``app.state``; endpoints reach it
through :func:`context`. The store (DuckDB over Parquet) is opened per request, read-only, since
DuckDB connections are not shared between threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from sqlalchemy import or_, select

from custodes.cases.access import on_case, sees_names
from custodes.cases.db import CaseDb
from custodes.cases.models import Alert, Case, CaseMember, CasePerson, User
from custodes.store.store import Store, open_store
from custodes.web.errors import WebError
from custodes.web.rules import Scope


@dataclass
class WebContext:
    home: Path
    db: CaseDb
    pseudonym_key: bytes

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store, opened for reading for the length of a ``with`` block."""
        store = open_store(self.home)
        try:
            yield store
        finally:
            store.close()

    def need_to_know(self, user: User, scope: Scope, identifier: str) -> None:
        """Refuse (404, 403) unless ``user`` may open this case, or this employee's or
        subject's history (see :mod:`custodes.web.rules`)."""
        if scope == "case":
            self._case_access(user, identifier)
        elif not sees_names(user) and not self._in_users_cases(user, scope, identifier):
            kind = "an employee" if scope == "person" else "a subject"
            raise WebError(
                403,
                f"you may open the history of {kind} only if they are in a case you are on: "
                f"{identifier!r} is in none of yours",
            )

    def _case_access(self, user: User, case_id: str) -> None:
        if not case_id.isdigit() or len(case_id) > 18:
            raise WebError(404, f"there is no case {case_id!r}: case numbers are digits")
        with self.db.session() as session:
            case = session.get(Case, int(case_id))
            if case is None:
                raise WebError(404, f"there is no case {case_id}: see /cases for yours")
            if not on_case(user, case):
                raise WebError(
                    403,
                    f"case {case.reference} is need-to-know and you are not on it: ask its "
                    "owner to add you",
                )

    def _in_users_cases(self, user: User, scope: Scope, identifier: str) -> bool:
        with self.db.session() as session:
            mine = select(Case.id).where(
                or_(
                    Case.owner_id == user.id,
                    Case.reviewer_id == user.id,
                    Case.id.in_(select(CaseMember.case_id).where(CaseMember.user_id == user.id)),
                )
            )
            if scope == "person":
                hit = session.scalar(
                    select(CasePerson.id)
                    .where(CasePerson.person_ref == identifier, CasePerson.case_id.in_(mine))
                    .limit(1)
                ) or session.scalar(
                    select(Alert.alert_id)
                    .where(Alert.person_id == identifier, Alert.case_id.in_(mine))
                    .limit(1)
                )
            else:
                hit = session.scalar(
                    select(Alert.alert_id)
                    .where(Alert.subject_id == identifier, Alert.case_id.in_(mine))
                    .limit(1)
                )
            return hit is not None


def context(request: Request) -> WebContext:
    found = request.app.state.custodes
    assert isinstance(found, WebContext)
    return found
