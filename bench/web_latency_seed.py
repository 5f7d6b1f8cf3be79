"""A seeded case database for bench/web_latency.py: a million alerts and a hundred thousand
cases about a small synthetic force, written in bulk.

Alerts and cases are fabricated with a fixed seed around the store's real access events (each
alert cites events of one employee, in time order, so a case's timeline reads real events from
the store), in the proportions a busy Professional Standards department would have: three in
four alerts still new, the rest explained, dismissed, or escalated and merged into cases of one
to three alerts; four cases in five closed and signed off, the rest at every earlier status;
each case with its people, allegations, outcomes, tasks, notes, cited events, access list and a
transition for every step. The steps are appended to the store's ledger in bulk
(``record_actions`` takes many at once), so every transition carries a real leaf, as the
workflow would have left it. Nothing goes through the workflow row by row: SQLite gets
SQLAlchemy Core ``insert()`` with lists of rows, PostgreSQL gets ``COPY``.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from argon2 import PasswordHasher
from sqlalchemy import Table, insert, select, text

from custodes.cases.db import CaseDb
from custodes.cases.models import Alert, Base, User
from custodes.cases.people import CASE_ROLE
from custodes.cases.taxonomy import CASE_TRANSITIONS, OUTCOMES
from custodes.detect.rules import RULES
from custodes.store.ledger import record_actions
from custodes.store.store import open_store

INVESTIGATORS = tuple(f"inv{i:03d}" for i in range(1, 101))
REVIEWERS = tuple(f"rev{i:02d}" for i in range(1, 11))
SIGNED_IN = (*INVESTIGATORS[:10], *REVIEWERS[:2])
"""The accounts the load signs in with: ten investigators and two reviewers of the hundred
investigators and ten reviewers who worked the cases over the years (each of the ten is on
about a thousand cases, a reviewer on ten thousand)."""
PASSWORD = "web-latency-bench-password"  # every account's; the database is throwaway
VERSION = 3  # of what this module writes: a database seeded by another version is rebuilt
CASES_PER_CHUNK = 2_000
ALERTS_PER_CHUNK = 50_000

RULE_WEIGHTS = {  # alerts the queue holds, by rule (behaviour rules fire most)
    "off_pattern": 20,
    "repeated_interest": 15,
    "bulk_browsing": 10,
    "name_fishing": 10,
    "neighbour_lookup": 10,
    "colleague_lookup": 10,
    "sensitive_subject": 7,
    "family_lookup": 5,
    "unknown_recipient": 4,
    "self_lookup": 3,
    "leaver_access": 2,
    "unknown_account": 2,
    "conflict_of_interest": 1,
    "ex_partner_lookup": 1,
}
CASE_RULE_WEIGHTS = {  # alerts worth a case lean to relationships and sensitive subjects
    "self_lookup": 10,
    "family_lookup": 15,
    "ex_partner_lookup": 8,
    "neighbour_lookup": 12,
    "colleague_lookup": 10,
    "sensitive_subject": 12,
    "repeated_interest": 15,
    "unknown_recipient": 8,
    "bulk_browsing": 5,
    "name_fishing": 5,
}
NO_SUBJECT = {"bulk_browsing", "name_fishing", "leaver_access", "unknown_account", "off_pattern"}
DETAILS = {
    "self_lookup": "linked with match weight 14.2: surname exact, date_of_birth exact",
    "family_lookup": "partner",
    "ex_partner_lookup": "linked with match weight 9.1",
    "neighbour_lookup": "at their address",
    "colleague_lookup": "P0000042",
    "conflict_of_interest": "their declared partner",
    "repeated_interest": "4",
    "sensitive_subject": "a VIP",
    "unknown_recipient": "enquiries@example.org",
    "bulk_browsing": "27",
    "name_fishing": "surname=SMITH",
    "leaver_access": "2026-01-03",
    "unknown_account": "",
    "off_pattern": "08:00-18:00",
}
STATUS_WEIGHTS = {  # where the cases are now: most of an archive is closed
    "closed": 92,
    "open": 1,
    "assessment": 1.5,
    "investigation": 3.5,
    "outcome": 1,
    "review": 1,
}
BREACH_WEIGHTS = {"unauthorised_access": 75, "inappropriate_disclosure": 15, "other": 10}
PHRASES = (
    "interviewed the officer about the lookups",
    "the account was used from the custody suite terminal on both days",
    "line manager confirms no tasking",
    "duty rota checked",
    "the subject is a neighbour",
    "audit extract requested from PNC",
    "reply from HR on declared associations",
    "statement taken",
    "legal advice sought on disclosure",
    "the recipient is not a partner agency",
)
TABLE_ORDER = (
    "users",
    "cases",
    "case_members",
    "allegations",
    "case_people",
    "outcomes",
    "case_events",
    "tasks",
    "notes",
    "alerts",
    "transitions",
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


@dataclass(frozen=True)
class Sizes:
    alerts: int
    cases: int
    seed: int


@dataclass
class EventPool:
    """The store's access events by employee (time order), and the workforce's roles."""

    by_person: dict[str, list[tuple[str, datetime, str | None]]]
    roles: dict[str, str]
    persons: list[str]

    @classmethod
    def read(cls, home: Path) -> EventPool:
        with open_store(home) as store:
            events = store.query(
                "SELECT event_id, ts, person_id, subject_id FROM access_events "
                "ORDER BY person_id, ts, event_id"
            )
            workforce = store.query("SELECT person_id, role FROM workforce")
        by_person: dict[str, list[tuple[str, datetime, str | None]]] = defaultdict(list)
        for event_id, ts, person_id, subject_id in events:
            by_person[str(person_id)].append((str(event_id), ts, subject_id))
        roles = {str(p): CASE_ROLE[str(r)] for p, r in workforce if str(r) in CASE_ROLE}
        persons = sorted(p for p, e in by_person.items() if len(e) >= 3)
        return cls(dict(by_person), roles, persons)


@dataclass
class Chunk:
    """Rows for each table, and the ledger actions of the chunk's transitions (in order)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    actions: list[tuple[str, dict[str, str | int | None]]] = field(default_factory=list)


@dataclass
class Counters:
    """Ids of the tables with integer keys, carried from chunk to chunk."""

    allegation: int = 0
    person: int = 0
    outcome: int = 0
    task: int = 0
    note: int = 0
    transition: int = 0
    alert: int = 0

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


def alert_id(index: int, seed: int) -> str:
    """A unique alert id that looks like detection's (``A`` and 12 hex digits): multiplying by
    an odd number modulo 2**48 is a bijection, so no two indexes collide."""
    return f"A{(index * 0x9E3779B97F4B + seed * 7919) % 2**48:012x}"


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Generator:
    """Builds the rows, chunk by chunk, the same for both engines (one seed, fixed order)."""

    def __init__(self, sizes: Sizes, pool: EventPool, users: dict[str, int], now: datetime):
        self.sizes, self.pool, self.users, self.now = sizes, pool, users, now
        self.names = {user_id: name for name, user_id in users.items()}
        self.ids = Counters()
        self.codes = {
            role: [o.code for o in OUTCOMES if role in o.applies_to and o.code != "not_provided"]
            for role in ("officer", "staff")
        }

    def synced(self, moment: datetime) -> datetime:
        """When an alert raised by ``moment`` reached the queue: the nightly sync (02:00) at or
        before it. Every alert of one sync has the same time, as ``custodes cases sync`` gives."""
        night = moment.replace(hour=2, minute=0, second=0, microsecond=0)
        return night if night <= moment else night - timedelta(days=1)

    # alerts ------------------------------------------------------------------------------------

    def alert(self, rng: random.Random, person: str, rule_name: str) -> dict[str, Any]:
        events = self.pool.by_person[person]
        n = min(len(events), rng.choice((1, 1, 2, 3, 4, 6)))
        start = rng.randrange(0, len(events) - n + 1)
        chosen = events[start : start + n]
        rule = RULES_BY_NAME[rule_name]
        subject = None if rule_name in NO_SUBJECT else (chosen[0][2] or None)
        first, last = chosen[0][1], chosen[-1][1]
        detail = DETAILS[rule_name]
        index = self.ids.next("alert")
        return {
            "alert_id": alert_id(index, self.sizes.seed),
            "person_id": person,
            "subject_id": subject,
            "rule": rule_name,
            "family": rule.family,
            "score": round(min(1.0, rule.score * (0.8 + 0.2 * min(n, 5) / 5)), 3),
            "first_ts": first,
            "last_ts": last,
            "event_ids": " ".join(e[0] for e in chosen),
            "summary": rule.summary.format(
                person=person, subject=subject, n=n, first=first, last=last, detail=detail
            ),
            "evidence": json.dumps(
                {"rule": rule_name, "looks_for": rule.looks_for, "signal": detail, "events": n},
                sort_keys=True,
            ),
            "state": "new",
            "case_id": None,
            "reason": None,
            "triaged_by": None,
            "triaged_at": None,
            "detected_at": self.synced(self.now - timedelta(days=rng.uniform(0, 180))),
            "version": 1,
        }

    def unlinked_alerts(self, count: int) -> Iterator[Chunk]:
        """Alerts in no case: 93% new, the rest explained or dismissed (with a transition)."""
        for number, start in enumerate(range(0, count, ALERTS_PER_CHUNK)):
            rng = random.Random(f"{self.sizes.seed}-alerts-{number}")
            chunk = Chunk()
            for _ in range(min(ALERTS_PER_CHUNK, count - start)):
                row = self.alert(rng, rng.choice(self.pool.persons), pick(rng, RULE_WEIGHTS))
                roll = rng.random()
                if roll >= 0.93:
                    state = "explained" if roll < 0.965 else "dismissed"
                    user = self.users[rng.choice(INVESTIGATORS)]
                    at = row["detected_at"] + timedelta(days=rng.uniform(0.1, 20))
                    reason = "assigned to the incident" if state == "explained" else "test account"
                    row.update(state=state, reason=reason, triaged_by=user, triaged_at=at)
                    action = "explain" if state == "explained" else "dismiss"
                    self.transition(
                        chunk,
                        "alert",
                        row["alert_id"],
                        action,
                        "new",
                        state,
                        user,
                        at,
                        None,
                        reason,
                    )
                chunk.rows["alerts"].append(row)
            yield chunk

    # cases -------------------------------------------------------------------------------------

    def cases(self) -> Iterator[Chunk]:
        for number, start in enumerate(range(0, self.sizes.cases, CASES_PER_CHUNK)):
            rng = random.Random(f"{self.sizes.seed}-cases-{number}")
            chunk = Chunk()
            for case_id in range(start + 1, min(start + CASES_PER_CHUNK, self.sizes.cases) + 1):
                self.case(rng, chunk, case_id)
            yield chunk

    def case(self, rng: random.Random, chunk: Chunk, case_id: int) -> None:
        rows = chunk.rows
        owner = self.users[rng.choice(INVESTIGATORS)]
        status = pick(rng, STATUS_WEIGHTS)
        late = status in ("outcome", "review", "closed")
        reviewer = self.users[rng.choice(REVIEWERS)] if late or rng.random() < 0.5 else None
        persons = [rng.choice(self.pool.persons)]
        if rng.random() < 0.15:
            persons.append(rng.choice(self.pool.persons))
        alerts = [
            self.alert(rng, persons[i % len(persons)], pick(rng, CASE_RULE_WEIGHTS))
            for i in range(rng.choice((1, 1, 2, 2, 3, 3)) if len(persons) == 1 else 2)
        ]
        first_ts = min(a["first_ts"] for a in alerts)
        opened = min(first_ts + timedelta(days=rng.uniform(1, 300)), self.now)
        clock = _Clock(opened, rng)
        reference = f"PSD-{opened:%Y}-{case_id:05d}"
        case = {
            "id": case_id,
            "reference": reference,
            "force": "",
            "origin": "workflow",
            "title": f"{alerts[0]['rule'].replace('_', ' ')}: {persons[0]}",
            "status": status,
            "owner_id": owner,
            "reviewer_id": reviewer,
            "incident_date": first_ts.date(),
            "opened_at": opened,
            "closed_at": None,
            "closing_note": None,
            "signed_off_by": None,
            "signed_off_at": None,
            "version": 1,
        }
        rows["cases"].append(case)
        step = _Steps(self, chunk, case_id, reference)
        ids = " ".join(a["alert_id"] for a in alerts)
        step("escalate", None, "open", owner, clock(), detail=f"alerts {ids}; people {persons[0]}")
        for i, alert in enumerate(alerts):
            state = "escalated" if i == 0 else "merged"
            action = "escalate" if i == 0 else "merge"
            at = clock.now
            alert.update(state=state, case_id=case_id, triaged_by=owner, triaged_at=at)
            alert["detected_at"] = min(alert["detected_at"], self.synced(at - timedelta(hours=1)))
            self.transition(
                chunk,
                "alert",
                alert["alert_id"],
                action,
                "new",
                state,
                owner,
                at,
                None,
                "",
                reference,
            )
        rows["alerts"].extend(alerts)
        events = list(dict.fromkeys(e for a in alerts for e in a["event_ids"].split()))[:20]
        for event_id in events:
            rows["case_events"].append(
                {"case_id": case_id, "event_id": event_id, "added_by": owner, "added_at": opened}
            )
        people = []
        for person in dict.fromkeys(persons):
            role = self.pool.roles.get(person)
            if role is None:
                continue
            person_row = {
                "id": self.ids.next("person"),
                "case_id": case_id,
                "person_ref": person,
                "role": role,
            }
            rows["case_people"].append(person_row)
            people.append(person_row)
        if reviewer is not None:
            step(
                "assign_reviewer",
                "open",
                "open",
                owner,
                clock(),
                f"nobody -> {self.names[reviewer]}",
            )
        if rng.random() < 0.3:
            member = self.users[rng.choice([i for i in INVESTIGATORS if self.users[i] != owner])]
            at = clock()
            rows["case_members"].append(
                {"case_id": case_id, "user_id": member, "added_by": owner, "added_at": at}
            )
            step("add_member", "open", "open", owner, at, self.names[member])
        for _ in range(1 if rng.random() < 0.85 else 2):
            breach = pick(rng, BREACH_WEIGHTS)
            allegation = self.ids.next("allegation")
            rows["allegations"].append(
                {
                    "id": allegation,
                    "case_id": case_id,
                    "breach_type": breach,
                    "description": _sentence(rng, 12),
                    "systems": rng.choice(("PNC", "PNC;RMS", "RMS", "PND", "INTEL;RMS")),
                    "incident_date": first_ts.date(),
                }
            )
            step("add_allegation", "open", "open", owner, clock(), f"#{allegation} {breach}")
        path = _path_to(status, rng)
        actors = [owner] + ([reviewer] if reviewer else [])
        for before, after in itertools.pairwise(path):
            if after == "closed":
                continue  # the sign-off, below
            if after == "outcome":
                self._outcomes(rng, chunk, step, people, owner, clock, before)
            who = reviewer if before == "review" and reviewer else owner
            step("status", before, after, who, clock(), reason=_sentence(rng, 6))
        for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
            task = self.ids.next("task")
            title = _sentence(rng, 5)
            created = clock.between(opened)
            done = status == "closed" or rng.random() < 0.4
            done_at = created + timedelta(days=rng.uniform(0.5, 10)) if done else None
            rows["tasks"].append(
                {
                    "id": task,
                    "case_id": case_id,
                    "title": title,
                    "assignee_id": rng.choice(actors),
                    "due": (created + timedelta(days=14)).date(),
                    "done_at": done_at,
                    "created_by": owner,
                    "created_at": created,
                }
            )
            step("add_task", status, status, owner, created, f"#{task} {title}")
            if done_at is not None:
                step("complete_task", status, status, owner, done_at, f"#{task} {title}")
        for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
            note = self.ids.next("note")
            author = rng.choice(actors)
            at = clock.between(opened)
            rows["notes"].append(
                {
                    "id": note,
                    "case_id": case_id,
                    "author_id": author,
                    "body": _sentence(rng, rng.randint(10, 40)),
                    "created_at": at,
                }
            )
            step("add_note", status, status, author, at, f"#{note}")
        if status == "closed":
            assert reviewer is not None
            at = clock()
            note = _sentence(rng, 15)
            case.update(closed_at=at, closing_note=note, signed_off_by=reviewer, signed_off_at=at)
            step("close", "review", "closed", reviewer, at, reason=note)
        case["version"] = step.count

    def _outcomes(
        self,
        rng: random.Random,
        chunk: Chunk,
        step: _Steps,
        people: list[dict[str, Any]],
        owner: int,
        clock: _Clock,
        status: str,
    ) -> None:
        for person in people:
            codes = rng.sample(self.codes[person["role"]], rng.choice((1, 1, 1, 2, 2, 3)))
            for code in codes:
                outcome = self.ids.next("outcome")
                at = clock()
                chunk.rows["outcomes"].append(
                    {
                        "id": outcome,
                        "case_person_id": person["id"],
                        "code": code,
                        "outcome_date": at.date(),
                        "note": "",
                        "recorded_by": owner,
                        "recorded_at": at,
                    }
                )
                detail = f"#{outcome} {person['person_ref']} {code}"
                step("record_outcome", status, status, owner, at, detail)

    def transition(
        self,
        chunk: Chunk,
        entity: str,
        entity_id: str,
        action: str,
        before: str | None,
        after: str,
        user: int,
        at: datetime,
        detail: str | None = None,
        reason: str = "",
        reference: str | None = None,
    ) -> None:
        chunk.rows["transitions"].append(
            {
                "id": self.ids.next("transition"),
                "entity": entity,
                "entity_id": entity_id,
                "from_state": before,
                "to_state": after,
                "user_id": user,
                "at": at,
                "reason": reason,
                "ledger_leaf": None,  # set once the chunk's actions are in the ledger
                "action": action,
                "detail": detail,
            }
        )
        fields: dict[str, str | int | None] = {
            "case": reference,
            "action": action,
            "from": before,
            "to": after,
            "user": self.names[user],
            "reason": reason,
            "detail": detail,
        }
        if entity == "alert":
            fields["alert"] = entity_id
        chunk.actions.append(("alert_step" if entity == "alert" else "case_step", fields))


class _Steps:
    """Records a case's steps (a transition and a ledger action each), counting them: the
    case's version is one more than its steps after opening, as the workflow leaves it."""

    def __init__(self, generator: Generator, chunk: Chunk, case_id: int, reference: str):
        self.generator, self.chunk = generator, chunk
        self.case_id, self.reference = str(case_id), reference
        self.count = 0

    def __call__(
        self,
        action: str,
        before: str | None,
        after: str,
        user: int,
        at: datetime,
        detail: str | None = None,
        reason: str = "",
    ) -> None:
        self.generator.transition(
            self.chunk,
            "case",
            self.case_id,
            action,
            before,
            after,
            user,
            at,
            detail,
            reason,
            self.reference,
        )
        self.count += 1


class _Clock:
    """A case's time, moving on by hours to days with each step."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.now, self.rng = start, rng

    def __call__(self) -> datetime:
        self.now += timedelta(hours=self.rng.uniform(1, 120))
        return self.now

    def between(self, start: datetime) -> datetime:
        return start + (self.now - start) * self.rng.random()


def _path_to(status: str, rng: random.Random) -> list[str]:
    """The statuses a case went through to reach ``status`` (sometimes skipping investigation,
    as an assessment that finds no case to answer does)."""
    skip = status != "investigation" and rng.random() < 0.3
    path = ["open"]
    while path[-1] != status:
        options = CASE_TRANSITIONS[path[-1]]
        path.append("outcome" if skip and path[-1] == "assessment" else options[0])
    return path


def _sentence(rng: random.Random, words: int) -> str:
    """About ``words`` words of case-file prose."""
    text = ""
    while len(text.split()) < words:
        text += ("; " if text else "") + rng.choice(PHRASES)
    return text.capitalize()


# loading -----------------------------------------------------------------------------------------


def tables() -> dict[str, Table]:
    found = {name: Base.metadata.tables[name] for name in TABLE_ORDER}
    assert found["alerts"] is Alert.__table__ and found["users"] is User.__table__
    return found


def seed(db: CaseDb, sizes: Sizes, *, log: Any = print) -> dict[str, int]:
    """Fill an empty, migrated case database (and append the steps to its store's ledger).
    Returns the rows written per table."""
    started = time.perf_counter()
    pool = EventPool.read(db.home)
    writer = _writer(db)
    hashed = PasswordHasher().hash(PASSWORD)
    now = datetime.now(UTC)
    accounts = [(name, "investigator") for name in INVESTIGATORS]
    accounts += [(name, "reviewer") for name in REVIEWERS]
    users = [
        {
            "id": i,
            "name": name,
            "role": role,
            "password_hash": hashed,
            "active": True,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": now - timedelta(days=1000),
        }
        for i, (name, role) in enumerate(accounts, start=1)
    ]
    writer.write("users", users)
    generator = Generator(sizes, pool, {u["name"]: u["id"] for u in users}, now)
    written: dict[str, int] = defaultdict(int, users=len(users))
    linked = 0
    for number, chunk in enumerate(generator.cases()):
        linked += len(chunk.rows["alerts"])
        _commit(db, writer, chunk, written)
        if number % 10 == 0:
            log(f"  cases: {written['cases']:,} ({time.perf_counter() - started:.0f} s)")
    for chunk in generator.unlinked_alerts(max(0, sizes.alerts - linked)):
        _commit(db, writer, chunk, written)
        log(f"  alerts: {written['alerts']:,} ({time.perf_counter() - started:.0f} s)")
    writer.finish()
    return dict(written)


def _commit(db: CaseDb, writer: _Writer, chunk: Chunk, written: dict[str, int]) -> None:
    events = record_actions(db.home, chunk.actions)
    for row, event in zip(chunk.rows["transitions"], events, strict=True):
        row["ledger_leaf"] = event.leaf_index
    for name in TABLE_ORDER:
        rows = chunk.rows.get(name)
        if rows:
            writer.write(name, rows)
            written[name] += len(rows)


class _Writer(Protocol):
    def write(self, name: str, rows: Sequence[dict[str, Any]]) -> None: ...

    def finish(self) -> None: ...


class _SQLiteWriter(_Writer):
    """SQLAlchemy Core ``insert()`` with lists of rows, one transaction per table and chunk."""

    def __init__(self, db: CaseDb) -> None:
        self.db, self.tables = db, tables()

    def write(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(insert(self.tables[name]), list(rows))

    def finish(self) -> None:
        with self.db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        with self.db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class _PostgresWriter(_Writer):
    """``COPY … FROM STDIN`` through psycopg, then the sequences moved past the ids written and
    ``VACUUM ANALYZE`` (planner statistics, and the visibility map index-only scans need)."""

    def __init__(self, db: CaseDb) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(db.url).set(drivername="postgresql")
        self.connection = psycopg.connect(url.render_as_string(hide_password=False))
        self.tables = tables()

    def write(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        columns = [c.name for c in self.tables[name].columns]
        statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(statement.encode()) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        self.connection.commit()

    def finish(self) -> None:
        for name, table in self.tables.items():
            if "id" in table.columns and table.columns["id"].autoincrement is not False:
                self.connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))".encode()
                )
        self.connection.commit()
        self.connection.autocommit = True
        self.connection.execute(b"VACUUM ANALYZE")
        self.connection.close()


def _writer(db: CaseDb) -> _Writer:
    if db.engine.dialect.name == "sqlite":
        return _SQLiteWriter(db)
    return _PostgresWriter(db)


def cases_of(db: CaseDb, name: str, limit: int) -> list[int]:
    """Up to ``limit`` ids of cases the account is on (owner, reviewer or member), spread over
    all of them, for the load to open."""
    with db.session() as session:
        user = session.scalars(select(User.id).where(User.name == name)).one()
        ids = list(
            session.scalars(
                text(
                    "SELECT id FROM cases WHERE owner_id = :u OR reviewer_id = :u "
                    "UNION SELECT case_id FROM case_members WHERE user_id = :u ORDER BY 1"
                ),
                {"u": user},
            )
        )
    step = max(1, len(ids) // limit)
    return ids[::step][:limit]


def person_ids(db: CaseDb, limit: int) -> list[str]:
    """Employees with alerts in the queue (for filters by employee)."""
    with db.session() as session:
        return list(
            session.scalars(
                select(Alert.person_id).where(Alert.state == "new").distinct().limit(limit)
            )
        )
