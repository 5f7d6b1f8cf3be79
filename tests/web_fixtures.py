"""A running web application over a small detected force, with one user per role, for the
web tests (``tests/test_web_*.py`` and ``tests/test_browser.py``).

Built from ``conftest.detected_force`` (40 people, 3 days, 18 alerts), copied so each test module
writes to its own ledger and case database.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from custodes.cases import workflow
from custodes.cases.alerts import escalate
from custodes.cases.db import CaseDb, open_cases
from custodes.cases.models import Alert
from custodes.cases.sync import sync_alerts
from custodes.cases.users import add_user, get_user
from custodes.ledger import generate_signer
from custodes.store import issue_checkpoint
from custodes.store.store import open_store
from custodes.web.app import create_app

with warnings.catch_warnings():
    # Starlette would rather have the `httpx2` fork; the `httpx` we pin works the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
USERS = {
    "ann": "investigator",
    "bob": "investigator",
    "rita": "reviewer",
    "rex": "reviewer",
    "dora": "dpo",
    "olly": "overseer",
    "adam": "admin",
}
ONE_PER_ROLE = {
    "investigator": "ann",
    "reviewer": "rita",
    "dpo": "dora",
    "overseer": "olly",
    "admin": "adam",
}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    home: Path
    db: CaseDb
    app: FastAPI
    clients: list[TestClient] = field(default_factory=list)

    def anonymous(self) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        self.clients.append(client)
        return client

    def api(self, name: str) -> TestClient:
        """A client signed in through the API, sending its CSRF header on every request."""
        client = self.anonymous()
        answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def browser(self, name: str) -> tuple[TestClient, str]:
        """A client signed in through the form, as a browser is; and its CSRF token (for
        forms, which send it as a field, not a header)."""
        client = self.anonymous()
        form = client.get("/login")
        token = CSRF_FIELD.search(form.text)
        assert token, form.text
        answer = client.post(
            "/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert answer.status_code == 303, answer.text
        page = client.get("/")
        csrf = CSRF_FIELD.search(page.text)
        assert csrf, page.text
        return client, csrf.group(1)

    def ledger_size(self) -> int:
        with open_store(self.home) as store:
            return store.catalog.ledger_size()

    def actions_since(self, size: int) -> list[tuple[str, dict[str, Any]]]:
        """The system's ledger actions from leaf ``size`` on: (kind, fields)."""
        import json

        with open_store(self.home) as store:
            events = store.catalog.system_events(size)
        return [(e.kind, json.loads(e.encoding) if e.encoding else {}) for e in events]

    def changes(self) -> tuple[int, ...]:
        """Counts that any change would move: transitions, cases, people, outcomes, notes,
        tasks, triaged alerts, and the ledger's size."""
        from sqlalchemy import func

        from custodes.cases.models import Case, CasePerson, Note, PersonOutcome, Task, Transition

        with self.db.session() as session:
            counts = [
                session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Transition, Case, CasePerson, PersonOutcome, Note, Task)
            ]
            counts.append(
                session.scalar(select(func.count()).select_from(Alert).where(Alert.state != "new"))
                or 0
            )
        return (*counts, self.ledger_size())

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.app.state.custodes.db.close()  # the application's own engine (no lifespan here)
        self.db.close()


def build_site(detected_force: Path, directory: Path, db_url: str | None = None) -> Site:
    home = directory / "home"
    shutil.copytree(detected_force, home)
    db = open_cases(home, db_url)
    for name, role in USERS.items():
        add_user(db, name, role, PASSWORD)
    sync_alerts(db, home)
    return Site(home, db, create_app(home, db_url))


def site_fixture(detected_force: Path, directory: Path) -> Iterator[Site]:
    site = build_site(detected_force, directory)
    try:
        yield site
    finally:
        site.close()


@dataclass(frozen=True)
class CaseIds:
    """Identifiers for the path parameters: the case ``own`` (every role's user who can be on
    a case is on it) and the case ``other`` (none of them is), each with a task, a person and
    a subject; and an alert with one of its events."""

    own: dict[str, str]
    other: dict[str, str]


def two_cases(site: Site) -> CaseIds:
    """Case ``own`` (ann owns it, rita reviews it, dora is a member) and case ``other`` (bob
    owns it, rex reviews it), each escalated from an alert about a different employee."""
    db = site.db
    ann, bob = get_user(db, "ann"), get_user(db, "bob")
    with db.session() as session:
        alerts = list(
            session.scalars(
                select(Alert)
                .where(Alert.subject_id.is_not(None), Alert.state == "new")
                .order_by(Alert.alert_id)
            )
        )
    mine = alerts[0]
    theirs = next(
        a for a in alerts if a.person_id != mine.person_id and a.subject_id != mine.subject_id
    )
    own = escalate(db, ann, [mine.alert_id], "the matrix: ann's case")
    other = escalate(db, bob, [theirs.alert_id], "the matrix: bob's case")
    step = workflow.assign(db, ann, own.case_id, own.version, reviewer="rita")
    step = workflow.add_member(db, ann, own.case_id, step.version, "dora")
    workflow.add_task(db, ann, own.case_id, step.version, "check the terminal")
    step = workflow.assign(db, bob, other.case_id, other.version, reviewer="rex")
    workflow.add_task(db, bob, other.case_id, step.version, "interview")
    tasks = {
        c: workflow.get_case(db, u, c).tasks[0].id
        for c, u in ((own.case_id, ann), (other.case_id, bob))
    }
    with open_store(site.home) as store:  # the log's operator signs what the cases hold so far
        if not store.catalog.checkpoints():
            issue_checkpoint(store, generate_signer("police.example/custodes"))
    shared = {"alert_id": mine.alert_id, "event_id": mine.event_ids.split()[0]}
    return CaseIds(
        own={
            **shared,
            "case_id": str(own.case_id),
            "task_id": str(tasks[own.case_id]),
            "person_id": mine.person_id,
            "subject_id": str(mine.subject_id),
        },
        other={
            **shared,
            "case_id": str(other.case_id),
            "task_id": str(tasks[other.case_id]),
            "person_id": theirs.person_id,
            "subject_id": str(theirs.subject_id),
        },
    )
