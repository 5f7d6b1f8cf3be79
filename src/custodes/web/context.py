"""What every request shares: the store's HOME, the case database, the pseudonym key.

One :class:`WebContext` is made by ``create_app`` and kept on ``app.state``; endpoints reach it
through :func:`context`. The store (DuckDB over Parquet) is opened for reading once per thread
of the server and kept between requests (see :meth:`WebContext.store`), since neither DuckDB's
connection nor the catalog's SQLite connection may be shared between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from sqlalchemy import select

from custodes.cases.access import on_case, sees_names
from custodes.cases.casefile import case_ids_of
from custodes.cases.db import CaseDb
from custodes.cases.models import Alert, Case, CasePerson, User
from custodes.store.store import Store, open_store
from custodes.web.errors import WebError
from custodes.web.rules import Scope


class _ThreadStore(threading.local):
    """One thread's open store, and the committed files its views were made from."""

    store: Store | None = None
    files: list[str] | None = None


@dataclass
class WebContext:
    home: Path
    db: CaseDb
    pseudonym_key: bytes
    _kept: _ThreadStore = field(default_factory=_ThreadStore, init=False, repr=False)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store, open for reading, for the length of a ``with`` block.

        Opening DuckDB and making its views over the Parquet files costs tens of milliseconds,
        more than most pages' queries, so each thread keeps its store between requests. Before
        each use it asks the catalog which files are committed and remakes the views if an
        ingest or an erasure changed them (files are never rewritten under the same name), so
        a request sees exactly what a freshly opened store would show."""
        kept = self._kept
        store, kept.store = kept.store, None
        if store is None:
            store, kept.files = open_store(self.home), None
        files = store.catalog.committed_files()
        if files != kept.files:
            store.refresh_views()  # made on first use instead, if DuckDB is not open yet
            kept.files = files
        try:
            yield store
        finally:
            if kept.store is None:
                kept.store = store
            else:  # a nested use kept its own
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
            mine = case_ids_of(user)
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
