"""The alert queue on SQLite and PostgreSQL: syncing from detection, what each role sees,
filters and paging, and triage (explain, dismiss, escalate, merge) that is all-or-nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from custodes.cases import alerts, workflow
from custodes.cases.alerts import AlertFilter
from custodes.cases.db import CaseDb
from custodes.cases.errors import Conflict, Forbidden, Invalid, NotFound
from custodes.cases.models import Alert, Case, Transition, User
from custodes.detect.run import ALERTS
from custodes.store.store import open_store
from tests.test_cases_workflow import ledger_verifies, snapshot, system_events


@pytest.fixture
def queue(case_db: CaseDb, case_users: dict[str, User]) -> CaseDb:
    """The case database with the detected force's 18 alerts in the queue."""
    alerts.sync_alerts(case_db)
    return case_db


def by_rule(db: CaseDb, user: User, rule: str) -> list[alerts.AlertView]:
    return list(alerts.list_alerts(db, user, AlertFilter(rule=rule), per_page=500).items)


def identifiers(home: Path) -> set[str]:
    """Every employee and subject identifier the force holds."""
    with open_store(home) as store:
        rows = store.query("SELECT person_id FROM workforce UNION SELECT subject_id FROM subjects")
        rows += store.query("SELECT DISTINCT person_id FROM access_events")
    return {str(r[0]) for r in rows}


def rewrite_alerts(home: Path, change: Any) -> None:
    path = home / ALERTS
    pq.write_table(change(pq.read_table(path)), path)


# sync ------------------------------------------------------------------------------------------


def test_sync_adds_new_alerts_refreshes_untriaged_ones_and_keeps_decisions(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    first = alerts.sync_alerts(case_db)
    assert (first.alerts, first.inserted, first.kept) == (18, 18, 0)
    again = alerts.sync_alerts(case_db)
    assert (again.inserted, again.refreshed, again.unchanged) == (0, 0, 18)

    queue = alerts.list_alerts(case_db, case_users["rita"], per_page=500).items
    decided, escalated = queue[0].alert_id, queue[1].alert_id
    alerts.dismiss(case_db, case_users["ann"], [decided], "a known test account")
    alerts.escalate(case_db, case_users["ann"], [escalated], "Leaver still logging in")
    before = {
        a.alert_id: a
        for a in alerts.list_alerts(
            case_db, case_users["rita"], AlertFilter(state=None), per_page=500
        ).items
    }

    rewrite_alerts(
        case_db.home,
        lambda t: t.set_column(
            t.schema.get_field_index("score"), "score", pc.multiply(t.column("score"), 0.5)
        ),
    )
    third = alerts.sync_alerts(case_db)
    assert (third.refreshed, third.kept, third.inserted) == (16, 2, 0)
    after = {
        a.alert_id: a
        for a in alerts.list_alerts(
            case_db, case_users["rita"], AlertFilter(state=None), per_page=500
        ).items
    }
    for alert_id, old in before.items():
        new = after[alert_id]
        if alert_id in (decided, escalated):
            assert (new.score, new.version, new.state) == (old.score, old.version, old.state)
        else:
            assert new.score == pytest.approx(old.score * 0.5) and new.version == old.version + 1
    assert after[decided].reason == "a known test account"

    rewrite_alerts(case_db.home, lambda t: t.slice(0, 10))
    fourth = alerts.sync_alerts(case_db)
    assert (
        fourth.no_longer_raised > 0 and alerts.queue_counts(case_db, case_users["ann"])["new"] == 16
    )

    kinds = [kind for _, kind, _ in system_events(case_db.home)]
    assert kinds.count("alert_sync") == 4
    assert ledger_verifies(case_db.home)


# what each role sees ---------------------------------------------------------------------------


def test_investigators_see_pseudonyms_until_they_are_on_the_case(
    queue: CaseDb, case_users: dict[str, User]
) -> None:
    ann, rita = case_users["ann"], case_users["rita"]
    known = identifiers(queue.home)
    page = alerts.list_alerts(queue, ann, per_page=500)
    assert page.total == 18 and not page.shows_personal_data
    for view in page.items:
        assert re.fullmatch(r"EMP-[0-9a-f]{12}", view.person) and not view.named
        assert view.subject is None or re.fullmatch(r"SUBJ-[0-9a-f]{12}", view.subject)
        shown = json.dumps([view.summary, view.signal, dict(view.evidence)])
        assert not {word for word in re.findall(r"[A-Z]*\d{4,}", shown)} & known, view.summary
    fishing = by_rule(queue, ann, "name_fishing")[0]
    assert fishing.signal == alerts.WITHHELD and "surname=" not in fishing.summary
    recipient = by_rule(queue, ann, "unknown_recipient")[0]
    assert "WhatsApp" not in recipient.summary

    names = alerts.list_alerts(queue, rita, per_page=500)
    assert all(v.named for v in names.items) and names.shows_personal_data
    assert {v.person for v in names.items} == set(names.person_ids)
    assert by_rule(queue, rita, "name_fishing")[0].signal != alerts.WITHHELD

    # the same employee has the same pseudonym in every alert, and a filter by it works
    leaver = by_rule(queue, ann, "leaver_access")
    assert len({v.person for v in leaver}) == 1
    mine = alerts.list_alerts(queue, ann, AlertFilter(person=leaver[0].person), per_page=500)
    assert {v.alert_id for v in mine.items} >= {v.alert_id for v in leaver}
    real = by_rule(queue, rita, "leaver_access")[0].person
    with pytest.raises(Invalid, match="pseudonym"):
        alerts.list_alerts(queue, ann, AlertFilter(person=real))

    # escalated by ann, the alert shows ann the names; bob, not on the case, still sees pseudonyms
    step = alerts.escalate(queue, ann, [leaver[0].alert_id], "Leaver")
    shown = alerts.get_alert(queue, ann, leaver[0].alert_id)
    assert shown.named and shown.person == real and shown.case_reference == step.case
    assert not alerts.get_alert(queue, case_users["bob"], leaver[0].alert_id).named


def test_an_employee_whose_alerts_arrive_later_is_found_by_pseudonym(
    case_db: CaseDb, case_users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, rita = case_users["ann"], case_users["rita"]
    alerts.sync_alerts(case_db)
    real = by_rule(case_db, rita, "leaver_access")[0].person
    pseudonymous = by_rule(case_db, ann, "leaver_access")[0].person
    table = pq.read_table(case_db.home / ALERTS)
    later = table.filter(pc.equal(table["person_id"], real))
    with case_db.session() as session:  # as if the leaver's alerts had not been synced yet
        session.query(Alert).filter(Alert.person_id == real).delete()
    others = alerts.list_alerts(case_db, ann, per_page=500).items
    assert real not in {v.person for v in alerts.list_alerts(case_db, rita, per_page=500).items}
    # a filter by someone else's pseudonym makes the book of pseudonyms without the leaver
    assert alerts.list_alerts(case_db, ann, AlertFilter(person=others[0].person)).total
    assert alerts.list_alerts(case_db, ann, AlertFilter(person=pseudonymous)).total == 0

    rewrite_alerts(case_db.home, lambda _: later)
    alerts.sync_alerts(case_db)
    monkeypatch.setattr(alerts._PseudonymBook, "REFRESH", 0.0)  # as when 5 seconds have passed
    found = alerts.list_alerts(case_db, ann, AlertFilter(person=pseudonymous), per_page=500)
    assert found.total == later.num_rows and {v.person for v in found.items} == {pseudonymous}


def test_filters_sorting_paging_and_counting(queue: CaseDb, case_users: dict[str, User]) -> None:
    rita = case_users["rita"]
    everything = alerts.list_alerts(queue, rita, per_page=500).items
    assert [v.score for v in everything] == sorted((v.score for v in everything), reverse=True)
    pages = [alerts.list_alerts(queue, rita, page=n, per_page=5) for n in (1, 2, 3, 4)]
    assert [v.alert_id for p in pages for v in p.items] == [v.alert_id for v in everything]
    assert all(p.total == 18 for p in pages) and len(pages[3].items) == 3

    recent_first = alerts.list_alerts(queue, rita, sort="-last_ts", per_page=500).items
    assert [v.last_ts for v in recent_first] == sorted(
        (v.last_ts for v in everything), reverse=True
    )
    relationship = AlertFilter(family="relationship", min_score=0.6)
    found = alerts.list_alerts(queue, rita, relationship, per_page=500).items
    assert found and all(v.family == "relationship" and v.score >= 0.6 for v in found)
    assert alerts.count_alerts(queue, rita, relationship) == len(found)
    assert alerts.count_alerts(queue, rita, AlertFilter(min_age=timedelta(days=1))) == 0
    assert alerts.count_alerts(queue, rita, AlertFilter(max_age=timedelta(days=1))) == 18
    assert alerts.queue_counts(queue, rita) == {
        "new": 18,
        "explained": 0,
        "dismissed": 0,
        "merged": 0,
        "escalated": 0,
    }
    for bad, message in [
        ({"sort": "person_id"}, "cannot sort"),
        ({"sort": "first_ts"}, "cannot sort"),
        ({"page": 0}, "page"),
        ({"per_page": 501}, "between 1 and 500"),
        ({"where": AlertFilter(state="open")}, "unknown alert state"),
        ({"where": AlertFilter(min_score="high")}, "not a number"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(Invalid, match=message):
            alerts.list_alerts(queue, rita, **bad)
    with pytest.raises(NotFound, match="no alert"):
        alerts.get_alert(queue, rita, "A-NOPE")


# triage ----------------------------------------------------------------------------------------


def test_explain_and_dismiss_need_a_reason_and_record_each_alert(
    queue: CaseDb, case_users: dict[str, User]
) -> None:
    ann = case_users["ann"]
    first, second, third = (v.alert_id for v in alerts.list_alerts(queue, ann).items[:3])
    before = len(system_events(queue.home))
    done = alerts.explain(queue, ann, [first, second], "covered by operation OP-12")
    assert done.state == "explained" and len(done.leaves) == 2
    alerts.dismiss(queue, ann, [third], "the rule misfired on a test account")
    recorded = system_events(queue.home)[before:]
    assert [(k, f["alert"], f["to"], f["user"]) for _, k, f in recorded] == [
        ("alert_step", first, "explained", "ann"),
        ("alert_step", second, "explained", "ann"),
        ("alert_step", third, "dismissed", "ann"),
    ]
    with queue.session() as session:
        rows = session.scalars(select(Transition).where(Transition.entity == "alert")).all()
        assert sorted((t.entity_id, t.from_state, t.to_state) for t in rows) == sorted(
            [(first, "new", "explained"), (second, "new", "explained"), (third, "new", "dismissed")]
        )
        assert session.get_one(Alert, third).reason == "the rule misfired on a test account"
    with pytest.raises(Invalid, match="reason is required"):
        alerts.explain(queue, ann, [first], "")
    assert ledger_verifies(queue.home)


def test_bulk_triage_is_all_or_nothing(queue: CaseDb, case_users: dict[str, User]) -> None:
    ann = case_users["ann"]
    items = alerts.list_alerts(queue, ann).items
    alerts.explain(queue, ann, [items[0].alert_id], "legitimate")
    before = snapshot(queue)
    good = [v.alert_id for v in items[1:4]]
    attempts = [
        (lambda: alerts.dismiss(queue, ann, [*good, "A-UNKNOWN"], "bulk"), NotFound, "A-UNKNOWN"),
        (
            lambda: alerts.dismiss(queue, ann, [*good, items[0].alert_id], "bulk"),
            Invalid,
            "already explained .*ann",
        ),
        (
            lambda: alerts.escalate(queue, ann, [*good, items[0].alert_id], "t"),
            Invalid,
            "only new alerts",
        ),
        (
            lambda: alerts.dismiss(queue, ann, good, "bulk", versions={good[1]: 99}),
            Conflict,
            "reload",
        ),
        (lambda: alerts.dismiss(queue, ann, [], "bulk"), Invalid, "no alert"),
        (
            lambda: alerts.dismiss(queue, ann, [f"A{i}" for i in range(1001)], "bulk"),
            Invalid,
            "too many",
        ),
        (
            lambda: alerts.dismiss(queue, case_users["otto"], good, "bulk"),
            Forbidden,
            "may not triage",
        ),
        (
            lambda: alerts.escalate(queue, case_users["dora"], good, "t"),
            Forbidden,
            "may not triage",
        ),
    ]
    for attempt, error, message in attempts:
        with pytest.raises(error, match=message):
            attempt()
    assert snapshot(queue) == before
    versions = {v.alert_id: v.version for v in items[1:4]}
    assert len(alerts.dismiss(queue, ann, good, "bulk", versions=versions).leaves) == 3


def test_escalating_alerts_opens_a_case_with_their_people_and_events(
    queue: CaseDb, case_users: dict[str, User]
) -> None:
    ann, rita = case_users["ann"], case_users["rita"]
    relationship = [v for v in alerts.list_alerts(queue, rita, per_page=500).items if v.subject]
    unknown = by_rule(queue, rita, "unknown_account")[0]
    chosen = [relationship[0], relationship[1], unknown]
    step = alerts.escalate(
        queue, ann, [v.alert_id for v in chosen], "Lookups with no purpose", reason="pattern"
    )
    case = workflow.get_case(queue, ann, step.case)
    assert (case.status, case.owner, step.version) == ("open", "ann", 1)
    assert set(case.alert_ids) == {v.alert_id for v in chosen}
    assert set(case.person_ids) == {relationship[0].person, relationship[1].person}
    assert all(p.role in ("officer", "staff") for p in case.people)
    assert set(case.event_ids) == {e for v in chosen for e in v.event_ids}
    assert case.incident_date == min(v.first_ts for v in chosen).date()
    opened = workflow.timeline(queue, ann, step.case, with_events=False)
    assert any("not in the workforce: " + unknown.person in e.text for e in opened)
    assert {
        v.state
        for v in alerts.list_alerts(queue, rita, AlertFilter(state=None, case_id=case.id)).items
    } == {"escalated"}
    recorded = [(k, f.get("alert"), f["case"]) for _, k, f in system_events(queue.home)[-4:]]
    assert recorded[0] == ("case_step", None, step.case)
    assert {r[1] for r in recorded[1:]} == {v.alert_id for v in chosen}
    assert ledger_verifies(queue.home)


def test_merging_alerts_into_a_case_needs_a_place_on_it(
    queue: CaseDb, case_users: dict[str, User]
) -> None:
    ann, bob = case_users["ann"], case_users["bob"]
    items = alerts.list_alerts(queue, ann, per_page=500).items
    step = alerts.escalate(queue, ann, [items[0].alert_id], "First")
    before = snapshot(queue)
    with pytest.raises(Forbidden, match="need-to-know"):
        alerts.merge(queue, bob, [items[1].alert_id], step.case)
    with pytest.raises(Conflict, match=f"case {step.case} was changed"):
        alerts.merge(queue, ann, [items[1].alert_id], step.case, case_version=step.version + 1)
    with pytest.raises(NotFound, match="no case"):
        alerts.merge(queue, ann, [items[1].alert_id], "PSD-1999-00001")
    assert snapshot(queue) == before

    merged = alerts.merge(
        queue, ann, [items[1].alert_id, items[2].alert_id], step.case, case_version=step.version
    )
    assert merged.version == step.version + 1
    case = workflow.get_case(queue, ann, step.case)
    assert set(case.alert_ids) == {items[i].alert_id for i in (0, 1, 2)}
    assert alerts.get_alert(queue, ann, items[2].alert_id).state == "merged"
    # a closed case takes no more alerts
    with queue.session() as session:
        session.get_one(Case, step.case_id).status = "closed"
    with pytest.raises(Invalid, match="closed"):
        alerts.merge(queue, ann, [items[3].alert_id], step.case)
