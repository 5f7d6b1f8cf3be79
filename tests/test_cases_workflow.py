"""Working a case, on SQLite and PostgreSQL: its whole life, the steps it refuses (and that a
refused step changes nothing), need-to-know, optimistic locking, and the ledger's record of it."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from typer.testing import CliRunner

from custodes.cases import workflow
from custodes.cases._steps import case_conflict, writing
from custodes.cases.db import CaseDb
from custodes.cases.errors import Conflict, Forbidden, Invalid, NotFound
from custodes.cases.models import Case, Transition, User
from custodes.cases.taxonomy import CASE_STATUSES, CASE_TRANSITIONS
from custodes.cli import app
from custodes.store.store import open_store

TABLES = (
    "cases",
    "case_members",
    "allegations",
    "case_people",
    "outcomes",
    "case_events",
    "tasks",
    "notes",
    "transitions",
    "alerts",
)


def workforce(home: Path, role: str, n: int = 1) -> list[str]:
    with open_store(home) as store:
        rows = store.query(
            "SELECT person_id FROM workforce WHERE role = ? ORDER BY person_id LIMIT ?", [role, n]
        )
    return [str(r[0]) for r in rows]


def events(home: Path, n: int) -> list[str]:
    with open_store(home) as store:
        rows = store.query("SELECT event_id FROM access_events ORDER BY event_id LIMIT ?", [n])
    return [str(r[0]) for r in rows]


def system_events(home: Path) -> list[tuple[int, str, dict[str, Any]]]:
    with open_store(home) as store:
        found = store.catalog.system_events()
    return [(e.leaf_index, e.kind, json.loads(e.encoding or b"{}")) for e in found]


def snapshot(db: CaseDb) -> dict[str, Any]:
    """Every row of the case database, and the ledger's size: what "nothing changed" means."""
    with db.engine.connect() as connection:
        rows = {
            t: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {t}")).all()), key=repr)
            for t in TABLES
        }
    with open_store(db.home) as store:
        rows["ledger"] = store.catalog.ledger_size()
    return rows


def ledger_verifies(home: Path) -> bool:
    result = CliRunner().invoke(app, ["ledger", "verify", "--home", str(home), "--quiet"])
    return result.exit_code == 0


def case_at(db: CaseDb, users: dict[str, User], status: str) -> workflow.Step:
    """A case owned by ann, reviewed by rita, with an officer on it, walked to ``status``."""
    ann = users["ann"]
    step = workflow.open_case(db, ann, "Repeated lookups of a neighbour", reviewer="rita")
    (officer,) = workforce(db.home, "officer")
    step = workflow.add_person(db, ann, step.case, step.version, officer)
    path = {
        "open": [],
        "assessment": ["assessment"],
        "investigation": ["assessment", "investigation"],
        "outcome": ["assessment", "outcome"],
        "review": ["assessment", "outcome", "review"],
    }[status]
    for to in path:
        if to == "review":
            step = workflow.record_outcome(
                db, ann, step.case, step.version, officer, "management_advice"
            )
        step = workflow.change_status(db, ann, step.case, step.version, to, f"on to {to}")
    return step


# the whole life --------------------------------------------------------------------------------


def test_the_whole_life_of_a_case(case_db: CaseDb, case_users: dict[str, User]) -> None:
    db, ann, rita = case_db, case_users["ann"], case_users["rita"]
    (officer,) = workforce(db.home, "officer")
    (staff,) = workforce(db.home, "staff")
    cited = events(db.home, 3)

    s = workflow.open_case(db, ann, "Two employees looked up a neighbour", reason="a complaint")
    assert s.case.startswith("PSD-") and s.version == 1
    s = workflow.assign(db, ann, s.case, s.version, reviewer="rita", reason="senior reviewer")
    s = workflow.add_member(db, ann, s.case, s.version, "bob", reason="interviews")
    s = workflow.add_person(db, ann, s.case, s.version, officer)
    s = workflow.add_person(db, ann, s.case, s.version, staff)
    s = workflow.add_allegation(
        db,
        ann,
        s.case,
        s.version,
        "unauthorised_access",
        description="looked up a neighbour with no policing purpose",
        systems=["PNC", "RMS"],
        incident_date="2026-01-05",
    )
    s = workflow.cite_events(db, ann, s.case, s.version, cited)
    s = workflow.change_status(db, ann, s.case, s.version, "assessment", "a case to answer")
    s = workflow.change_status(db, ann, s.case, s.version, "investigation", "interviews needed")
    task = workflow.add_task(
        db, ann, s.case, s.version, "Interview both", assignee="bob", due="2026-02-01"
    )
    s = workflow.complete_task(db, case_users["bob"], s.case, task.version, task.item_id or 0)
    s = workflow.add_note(db, case_users["bob"], s.case, s.version, "Both admitted the lookups.")
    s = workflow.change_status(db, ann, s.case, s.version, "outcome", "findings made")
    # parallel tracks: a disciplinary outcome and a conviction for the officer
    s = workflow.record_outcome(db, ann, s.case, s.version, officer, "final_written_warning")
    s = workflow.record_outcome(
        db, ann, s.case, s.version, officer, "conviction_dpa_s170", outcome_date="2026-06-01"
    )
    s = workflow.record_outcome(db, ann, s.case, s.version, staff, "verbal_warning")
    s = workflow.change_status(db, ann, s.case, s.version, "review", "ready for sign-off")
    s = workflow.close_case(db, rita, s.case, s.version, "Outcomes proportionate; closed.")

    case = workflow.get_case(db, ann, s.case)
    assert (case.status, case.owner, case.reviewer, case.signed_off_by) == (
        "closed",
        "ann",
        "rita",
        "rita",
    )
    assert case.closing_note == "Outcomes proportionate; closed." and case.closed_at is not None
    assert case.members == ("bob",) and case.incident_date is not None
    assert {p.person_ref: [o.code for o in p.outcomes] for p in case.people} == {
        officer: ["final_written_warning", "conviction_dpa_s170"],
        staff: ["verbal_warning"],
    }
    assert case.allegations[0].systems == ("PNC", "RMS")
    assert case.event_ids == tuple(sorted(cited)) and case.next_statuses == ()
    assert case.tasks[0].done_at is not None and case.notes[0].author == "bob"

    entries = workflow.timeline(db, ann, s.case)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    kinds = Counter(e.kind for e in entries)
    assert kinds["event"] == 3 and kinds["outcome"] == 3 and kinds["note"] == 1
    assert kinds["task"] == 1 and kinds["task_done"] == 1
    assert entries[-1].text.startswith("closed and signed off") and entries[-1].actor == "rita"
    assert all(e.leaf is not None for e in entries if e.kind not in ("event", "alert"))
    assert ledger_verifies(db.home)


def test_every_change_is_one_transition_and_one_ledger_leaf(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    before = len(system_events(case_db.home))
    step = case_at(case_db, case_users, "review")
    step = workflow.close_case(case_db, case_users["rita"], step.case, step.version, "done")
    with case_db.session() as session:
        transitions = session.scalars(select(Transition).order_by(Transition.id)).all()
    recorded = {leaf: (kind, fields) for leaf, kind, fields in system_events(case_db.home)[before:]}
    assert len(recorded) == len(transitions) == 7  # open, person, outcome, 3 statuses, close
    assert len({t.ledger_leaf for t in transitions}) == len(transitions)
    for t in transitions:
        kind, fields = recorded[t.ledger_leaf or -1]
        assert kind == "case_step"
        assert (fields["case"], fields["action"], fields["to"]) == (step.case, t.action, t.to_state)
        assert fields["from"] == t.from_state and fields["reason"] == t.reason
        assert fields["user"] == ("rita" if t.action == "close" else "ann")
    assert [t.to_state for t in transitions if t.action in ("status", "close")] == [
        "assessment",
        "outcome",
        "review",
        "closed",
    ]
    assert ledger_verifies(case_db.home)


# what is refused, and that a refusal changes nothing -------------------------------------------


def test_every_invalid_transition_is_refused_and_changes_nothing(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann = case_users["ann"]
    for status in ("open", "assessment", "investigation", "outcome", "review"):
        step = case_at(case_db, case_users, status)
        before = snapshot(case_db)
        for to in CASE_STATUSES:
            if to in CASE_TRANSITIONS[status] and to != "closed":
                continue
            with pytest.raises(Invalid, match=status if to != "closed" else "close"):
                workflow.change_status(case_db, ann, step.case, step.version, to, "try")
        with pytest.raises(Invalid, match="unknown status"):
            workflow.change_status(case_db, ann, step.case, step.version, "archived", "try")
        with pytest.raises(Invalid, match="reason is required"):
            allowed = CASE_TRANSITIONS[status][0]
            workflow.change_status(case_db, ann, step.case, step.version, allowed, "  ")
        assert snapshot(case_db) == before, status


def test_a_closed_case_cannot_be_changed(case_db: CaseDb, case_users: dict[str, User]) -> None:
    step = case_at(case_db, case_users, "review")
    step = workflow.close_case(case_db, case_users["rita"], step.case, step.version, "done")
    before = snapshot(case_db)
    with pytest.raises(Invalid, match="closed"):
        workflow.add_note(case_db, case_users["ann"], step.case, step.version, "one more thing")
    with pytest.raises(Invalid, match="closed"):
        workflow.change_status(case_db, case_users["rita"], step.case, step.version, "outcome", "x")
    assert snapshot(case_db) == before


def test_outcomes_must_be_in_the_taxonomy_and_fit_the_role(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann = case_users["ann"]
    (staff,) = workforce(case_db.home, "staff")
    step = case_at(case_db, case_users, "outcome")
    step = workflow.add_person(case_db, ann, step.case, step.version, staff)
    officer = workflow.get_case(case_db, ann, step.case).people[0].person_ref
    step = workflow.record_outcome(
        case_db, ann, step.case, step.version, officer, "no_further_action"
    )
    before = snapshot(case_db)
    refused = [
        (officer, "sacked", Invalid, "unknown outcome"),
        (officer, "verbal_warning", Invalid, "does not apply to .* officer"),
        (staff, "reduction_in_rank", Invalid, "does not apply to .* staff"),
        (staff, "dismissal_without_notice", Invalid, "does not apply"),
        (officer, "not_provided", Invalid, "historical records"),
        (officer, "no_further_action", Invalid, "already has"),
        ("P-NOBODY", "written_warning", NotFound, "not a person on"),
    ]
    for person, code, error, message in refused:
        with pytest.raises(error, match=message):
            workflow.record_outcome(case_db, ann, step.case, step.version, person, code)
    with pytest.raises(Invalid, match="not a date"):
        workflow.record_outcome(
            case_db, ann, step.case, step.version, staff, "dismissal", outcome_date="last week"
        )
    assert snapshot(case_db) == before


def test_outcomes_wait_for_assessment(case_db: CaseDb, case_users: dict[str, User]) -> None:
    step = case_at(case_db, case_users, "open")
    officer = workflow.get_case(case_db, case_users["ann"], step.case).people[0].person_ref
    with pytest.raises(Invalid, match="is open: outcomes are recorded in assessment"):
        workflow.record_outcome(
            case_db, case_users["ann"], step.case, step.version, officer, "no_case_to_answer"
        )


def test_closing_needs_outcomes_a_note_and_a_reviewer_who_is_not_the_owner(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann, rita, rex = case_users["ann"], case_users["rita"], case_users["rex"]
    step = case_at(case_db, case_users, "outcome")
    (staff,) = workforce(case_db.home, "staff")
    step = workflow.add_person(case_db, ann, step.case, step.version, staff)  # no outcome yet
    step = workflow.add_member(case_db, ann, step.case, step.version, "rex")
    officer = workflow.get_case(case_db, ann, step.case).people[0].person_ref
    step = workflow.record_outcome(
        case_db, ann, step.case, step.version, officer, "no_case_to_answer"
    )
    with pytest.raises(Invalid, match="only a case in review"):
        workflow.close_case(case_db, rita, step.case, step.version, "too early")
    step = workflow.change_status(case_db, ann, step.case, step.version, "review", "please")
    before = snapshot(case_db)
    with pytest.raises(Invalid, match=f"no outcome recorded for {staff}"):
        workflow.close_case(case_db, rita, step.case, step.version, "all done")
    with pytest.raises(Invalid, match="closing note is required"):
        workflow.close_case(case_db, rita, step.case, step.version, " ")
    with pytest.raises(Forbidden, match="only the reviewer"):
        workflow.close_case(case_db, ann, step.case, step.version, "I sign my own case off")
    with pytest.raises(Forbidden, match="only the reviewer"):  # a reviewer, but not this one's
        workflow.close_case(case_db, rex, step.case, step.version, "signed by the wrong reviewer")
    with pytest.raises(Invalid, match=r"rita reviews .*: the owner must differ"):
        workflow.assign(case_db, rita, step.case, step.version, owner="rita")
    assert snapshot(case_db) == before
    assert workflow.get_case(case_db, ann, step.case).closing_blockers == (
        f"no outcome recorded for {staff}",
    )

    # the reviewer sends it back; the owner records the outcome; the reviewer signs off
    with pytest.raises(Forbidden, match="only the reviewer"):
        workflow.change_status(case_db, ann, step.case, step.version, "outcome", "back")
    step = workflow.change_status(case_db, rita, step.case, step.version, "outcome", "add staff")
    step = workflow.record_outcome(case_db, ann, step.case, step.version, staff, "verbal_warning")
    step = workflow.change_status(case_db, ann, step.case, step.version, "review", "again")
    step = workflow.close_case(case_db, rita, step.case, step.version, "all done")
    assert workflow.get_case(case_db, rita, step.case).status == "closed"


def test_review_needs_a_reviewer(case_db: CaseDb, case_users: dict[str, User]) -> None:
    ann = case_users["ann"]
    step = workflow.open_case(case_db, ann, "No reviewer yet")
    step = workflow.change_status(case_db, ann, step.case, step.version, "assessment", "go")
    step = workflow.change_status(case_db, ann, step.case, step.version, "outcome", "go")
    with pytest.raises(Invalid, match="no reviewer: assign one"):
        workflow.change_status(case_db, ann, step.case, step.version, "review", "go")
    for name in ("ann", "bob", "dora"):  # not reviewers
        with pytest.raises((Invalid, Forbidden)):
            workflow.assign(case_db, ann, step.case, step.version, reviewer=name)


def test_bad_input_is_refused_with_a_clear_message(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann = case_users["ann"]
    step = case_at(case_db, case_users, "assessment")
    before = snapshot(case_db)
    attempts = [
        (lambda: workflow.open_case(case_db, ann, "x" * 201), Invalid, "title is too long"),
        (lambda: workflow.open_case(case_db, ann, "  "), Invalid, "title is required"),
        (
            lambda: workflow.add_note(case_db, ann, step.case, step.version, "y" * 20_001),
            Invalid,
            "too long",
        ),
        (
            lambda: workflow.add_note(case_db, ann, step.case, step.version, "a\x00b"),
            Invalid,
            "control character",
        ),
        (lambda: workflow.add_note(case_db, ann, "PSD-1999-99999", 1, "z"), NotFound, "no case"),
        (lambda: workflow.add_note(case_db, ann, 999_999, 1, "z"), NotFound, "no case"),
        (lambda: workflow.add_note(case_db, ann, step.case, "1", "z"), Invalid, "version"),  # type: ignore[arg-type]
        (lambda: workflow.add_note(case_db, ann, step.case, 0, "z"), Invalid, "version"),
        (
            lambda: workflow.assign(case_db, ann, step.case, step.version, owner="nobody"),
            NotFound,
            "no user",
        ),
        (
            lambda: workflow.add_member(case_db, ann, step.case, step.version, "otto"),
            Invalid,
            "cannot be added",
        ),
        (
            lambda: workflow.add_allegation(case_db, ann, step.case, step.version, "snooping"),
            Invalid,
            "unknown breach type",
        ),
        (
            lambda: workflow.add_allegation(
                case_db, ann, step.case, step.version, "other", incident_date="05/01/2026"
            ),
            Invalid,
            "YYYY-MM-DD",
        ),
        (
            lambda: workflow.add_person(case_db, ann, step.case, step.version, "P-UNKNOWN"),
            Invalid,
            "not in the workforce",
        ),
        (
            lambda: workflow.add_person(case_db, ann, step.case, step.version, "P X"),
            Invalid,
            "space",
        ),
        (
            lambda: workflow.add_person(
                case_db, ann, step.case, step.version, "P-UNKNOWN", "special"
            ),
            Invalid,
            "unknown role",
        ),
        (
            lambda: workflow.cite_events(case_db, ann, step.case, step.version, ["E-NOPE"]),
            NotFound,
            "E-NOPE",
        ),
        (
            lambda: workflow.cite_events(case_db, ann, step.case, step.version, []),
            Invalid,
            "no event",
        ),
        (
            lambda: workflow.complete_task(case_db, ann, step.case, step.version, 12345),
            NotFound,
            "no task",
        ),
        (
            lambda: workflow.remove_member(case_db, ann, step.case, step.version, "bob"),
            NotFound,
            "not a member",
        ),
        (
            lambda: workflow.remove_allegation(case_db, ann, step.case, step.version, 777, "oops"),
            NotFound,
            "no allegation",
        ),
    ]
    for attempt, error, message in attempts:
        with pytest.raises(error, match=message):
            attempt()
    assert snapshot(case_db) == before


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=60))
def test_any_note_is_kept_exactly_or_refused_with_a_message(
    case_db: CaseDb, case_users: dict[str, User], body: str
) -> None:
    ann = case_users["ann"]
    with case_db.session() as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
    if case is None:
        step = workflow.open_case(case_db, ann, "Notes of any shape")
        case_id, version = step.case_id, step.version
    else:
        case_id, version = case.id, case.version
    try:
        step = workflow.add_note(case_db, ann, case_id, version, body)
    except Invalid as refused:
        assert "note" in str(refused)
        assert not body.strip() or any(ord(c) < 32 and c not in "\t\n\r" for c in body)
        return
    notes = workflow.get_case(case_db, ann, case_id).notes
    assert notes[-1].body == body.strip() and step.version == version + 1


def test_people_come_with_their_workforce_role(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann = case_users["ann"]
    (staff,) = workforce(case_db.home, "staff")
    step = case_at(case_db, case_users, "outcome")
    step = workflow.add_person(case_db, ann, step.case, step.version, staff)
    step = workflow.add_person(case_db, ann, step.case, step.version, "P-SHARED-LOGIN", "staff")
    people = {p.person_ref: p.role for p in workflow.get_case(case_db, ann, step.case).people}
    assert people[staff] == "staff" and people["P-SHARED-LOGIN"] == "staff"
    with pytest.raises(Invalid, match="already on"):
        workflow.add_person(case_db, ann, step.case, step.version, staff)
    step = workflow.record_outcome(case_db, ann, step.case, step.version, staff, "verbal_warning")
    with pytest.raises(Invalid, match="has outcomes"):
        workflow.remove_person(case_db, ann, step.case, step.version, staff, "added by mistake")
    step = workflow.remove_person(
        case_db, ann, step.case, step.version, "P-SHARED-LOGIN", "the login was identified"
    )
    assert "P-SHARED-LOGIN" not in workflow.get_case(case_db, ann, step.case).person_ids


# need-to-know ----------------------------------------------------------------------------------


def test_only_the_people_on_a_case_may_open_it(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann, bob, dora = case_users["ann"], case_users["bob"], case_users["dora"]
    step = case_at(case_db, case_users, "assessment")
    before = snapshot(case_db)
    for outsider in ("bob", "rex", "dora", "otto", "adam"):
        user = case_users[outsider]
        with pytest.raises(Forbidden, match="need-to-know"):
            workflow.get_case(case_db, user, step.case)
        with pytest.raises(Forbidden, match="need-to-know"):
            workflow.timeline(case_db, user, step.case)
        with pytest.raises(Forbidden):
            workflow.add_note(case_db, user, step.case, step.version, "let me in")
        assert workflow.list_cases(case_db, user).total == 0
    assert snapshot(case_db) == before

    # the owner shares the case: a DPO may read it and add notes, not change it
    step = workflow.add_member(case_db, ann, step.case, step.version, "dora", "subject access")
    case = workflow.get_case(case_db, dora, step.case)
    assert case.members == ("dora",)
    note = workflow.add_note(case_db, dora, case.reference, case.version, "SAR received")
    with pytest.raises(Forbidden, match="dora \\(dpo\\) may not change cases"):
        workflow.change_status(case_db, dora, case.reference, note.version, "outcome", "x")
    assert [c.reference for c in workflow.list_cases(case_db, dora).items] == [case.reference]
    assert [c.reference for c in workflow.case_choices(case_db, dora)] == [case.reference]
    assert workflow.case_choices(case_db, case_users["rex"]) == ()

    # a member who may work the case still may not change who is on it
    step = workflow.add_member(case_db, ann, step.case, note.version, "bob")
    with pytest.raises(Forbidden, match="only the owner or the reviewer"):
        workflow.add_member(case_db, bob, step.case, step.version, "rex")
    step = workflow.add_note(case_db, bob, step.case, step.version, "interview booked")

    step = workflow.remove_member(case_db, ann, step.case, step.version, "dora", "SAR answered")
    with pytest.raises(Forbidden, match="need-to-know"):
        workflow.get_case(case_db, dora, step.case)
    assert workflow.list_cases(case_db, dora).items == ()


def test_a_disabled_account_can_do_nothing(case_db: CaseDb, case_users: dict[str, User]) -> None:
    step = case_at(case_db, case_users, "open")
    with case_db.session() as session:
        session.get_one(User, case_users["ann"].id).active = False
    with pytest.raises(Forbidden, match="disabled"):
        workflow.get_case(case_db, case_users["ann"], step.case)
    with pytest.raises(Forbidden, match="disabled"):
        workflow.add_note(case_db, case_users["ann"], step.case, step.version, "still here?")


# optimistic locking ----------------------------------------------------------------------------


def test_two_investigators_saving_the_same_case_lose_nothing(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    ann, rita = case_users["ann"], case_users["rita"]
    step = case_at(case_db, case_users, "assessment")
    seen_by_ann = workflow.get_case(case_db, ann, step.case)
    seen_by_rita = workflow.get_case(case_db, rita, step.case)
    workflow.add_note(case_db, ann, step.case, seen_by_ann.version, "ann's note")
    before = snapshot(case_db)
    with pytest.raises(Conflict, match=rf"case {step.case} was changed by ann at .*reload"):
        workflow.change_status(
            case_db, rita, step.case, seen_by_rita.version, "investigation", "rita's change"
        )
    assert snapshot(case_db) == before
    fresh = workflow.get_case(case_db, rita, step.case)
    workflow.change_status(case_db, rita, step.case, fresh.version, "investigation", "again")
    case = workflow.get_case(case_db, ann, step.case)
    assert case.status == "investigation" and [n.body for n in case.notes] == ["ann's note"]


def test_a_stale_write_below_the_workflow_comes_out_as_a_conflict(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    step = case_at(case_db, case_users, "open")
    with case_db.session() as session:
        stale = session.get_one(Case, step.case_id)
    workflow.add_note(case_db, case_users["ann"], step.case, step.version, "moves the version on")
    with (
        pytest.raises(Conflict, match=f"case {step.case} was changed by ann"),
        writing(case_db, lambda s: case_conflict(s, step.case_id)) as session,
    ):
        mine = session.merge(stale, load=False)
        mine.title = "an edit made on an old copy"
        session.flush()
    assert (
        workflow.get_case(case_db, case_users["ann"], step.case).title
        == "Repeated lookups of a neighbour"
    )


def test_concurrent_writers_never_lose_an_update(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    """Two threads add notes to one case as fast as they can, each retrying on Conflict with
    the version it reloads: every note lands, and every note is one version."""
    step = case_at(case_db, case_users, "assessment")
    per_writer, conflicts, failures = 6, Counter[str](), []

    def write(user: User) -> None:
        try:
            done = 0
            while done < per_writer:
                version = workflow.get_case(case_db, user, step.case).version
                try:
                    workflow.add_note(case_db, user, step.case, version, f"{user.name} {done}")
                    done += 1
                except Conflict:
                    conflicts[user.name] += 1
        except Exception as error:  # surfaced below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(case_users[n],)) for n in ("ann", "rita")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    case = workflow.get_case(case_db, case_users["ann"], step.case)
    assert len(case.notes) == 2 * per_writer
    assert case.version == step.version + 2 * per_writer
    assert ledger_verifies(case_db.home)


def test_the_admin_overview_names_nobody(case_db: CaseDb, case_users: dict[str, User]) -> None:
    step = case_at(case_db, case_users, "assessment")
    (row,) = workflow.case_overview(case_db)
    assert (row.reference, row.status, row.owner, row.reviewer) == (
        step.case,
        "assessment",
        "ann",
        "rita",
    )
    assert row.last_step_at is not None and row.last_step_at >= row.opened_at
    assert not hasattr(row, "title") and workflow.case_overview(case_db, status="closed") == []
