"""Explanations: each access is explained by a path through the force's own data, or is not.

A tiny force: PC Smith (response) is assigned to incident INC-1, where Ann Brown is the victim;
call handler Jones (control room, another watch than the one owning the incident); leaver Old.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodes.cli import app
from custodes.explain import TEMPLATES, UNEXPLAINED, explain_store
from custodes.explain.one import explain_event
from custodes.store import ingest, open_store
from custodes.synth import generate
from tests.conftest import BundleFactory

UNITS = """unit_id,name,kind
U1,Response A,response
U2,Control room watch 1,control_room
U3,Control room watch 2,control_room
U4,CID,cid
"""
WORKFORCE = """person_id,role,surname,forenames,date_of_birth,home_postcode,home_address,unit_id,joined,left
P1,officer,Smith,John,1980-01-01,AB1 2CD,1 High St,U1,2010-01-01,
P2,staff,Jones,Ann,1985-02-03,AB1 2CE,2 High St,U3,2012-01-01,
P3,officer,Old,Bill,1970-05-05,AB1 3CE,3 Low St,U1,2000-01-01,2026-01-01
P4,officer,Cole,Dee,1982-05-05,AB1 3CF,4 Low St,U4,2005-01-01,
P5,officer,Park,Rae,1983-05-05,AB1 3CG,5 Low St,U4,2005-01-01,
"""
SUBJECTS = """subject_id,surname,forenames,date_of_birth,postcode,address,flags
S1,Brown,Ann Marie,1990-03-04,AB2 1XY,9 Elm Rd,
S2,Green,Tom,1991-04-05,AB2 1XZ,8 Elm Rd,
S3,Brown,Zoe,2001-01-01,AB2 1XA,7 Elm Rd,
"""
OPERATIONS = """operation_id,kind,opened,closed,unit_id
INC-1,incident,2026-01-05,2026-01-06,U2
CRM-1,crime,2026-01-02,,U4
"""
OPERATION_SUBJECTS = """operation_id,subject_id,role
INC-1,S1,victim
CRM-1,S3,suspect
"""
ASSIGNMENTS = """operation_id,person_id,start,end,role
INC-1,P1,2026-01-05T10:00:00Z,2026-01-05T14:00:00Z,attending officer
CRM-1,P4,2026-01-02T09:00:00Z,,officer in case
"""
HEADER = "event_id,ts,person_id,action,system,subject_id,purpose,query,recipient,operation_ref\n"
EVENTS = HEADER + "\n".join(
    [
        # assigned, and naming the operation
        "E1,2026-01-05T10:30:00Z,P1,consult,PNC,S1,attending,,,INC-1",
        # assigned, not naming it
        "E2,2026-01-05T11:00:00Z,P1,consult,PND,S1,,,,",
        # three days after the assignment ended, twice: follow-up (circumstantial evidence
        # counts only when the person comes back to the operation that day)
        "E3,2026-01-08T11:00:00Z,P1,consult,PND,S1,,,,",
        "E3b,2026-01-08T11:30:00Z,P1,alter,RMS,S1,,,,",
        # a month later: nothing
        "E4,2026-02-08T11:00:00Z,P1,consult,PND,S1,,,,",
        # a lie: names a real operation that does not involve the subject
        "E5,2026-01-05T11:00:00Z,P1,consult,PNC,S2,Routine check,,,INC-1",
        # a call handler in another watch of the control room that owns the incident, taking
        # the call (unit-level work is circumstantial: it counts for repeated looks)
        "E6,2026-01-05T10:05:00Z,P2,consult,CAD,S1,,,,",
        "E6b,2026-01-05T10:06:00Z,P2,alter,CAD,S1,,,,",
        # a disclosure to a known partner, and one to a personal address
        "E7,2026-01-05T12:00:00Z,P1,disclose,RMS,S1,,,CPS,INC-1",
        "E8,2026-01-05T12:05:00Z,P1,disclose,RMS,S1,,,ann.b77@example.com,INC-1",
        # a leaver's account still in use
        "E9,2026-01-05T11:00:00Z,P3,consult,PNC,S1,,,,",
        # a name search that found nobody: specific, then a surname alone
        "E10,2026-01-05T10:20:00Z,P1,search,PNC,,,surname=BROWN;forenames=ANN,,",
        "E11,2026-01-05T10:21:00Z,P1,search,PNC,,,surname=BROWN,,",
        # covering a CID colleague's crime; and one look at it on another day, alone
        "E12,2026-01-06T10:00:00Z,P5,consult,RMS,S3,,,,",
        "E12b,2026-01-06T10:40:00Z,P5,alter,RMS,S3,,,,",
        "E14,2026-01-07T10:00:00Z,P5,consult,RMS,S3,,,,",
        # an unknown account
        "E13,2026-01-05T11:00:00Z,P99,consult,PNC,S1,,,,",
    ]
)
EXPECTED = {
    "E1": "named_operation",
    "E2": "assigned",
    "E3": "assignment_follow_up",
    "E3b": "assignment_follow_up",
    "E4": UNEXPLAINED,
    "E5": UNEXPLAINED,
    "E6": "control_room_call",
    "E6b": "control_room_call",
    "E7": "named_operation",
    "E8": UNEXPLAINED,
    "E9": UNEXPLAINED,
    "E10": "assigned",
    "E11": UNEXPLAINED,
    "E12": "colleague_case",
    "E12b": "colleague_case",
    "E13": UNEXPLAINED,
    "E14": UNEXPLAINED,
}


@pytest.fixture
def force(make_bundle: BundleFactory, home: Path) -> Path:
    bundle = make_bundle(
        units=UNITS,
        workforce=WORKFORCE,
        subjects=SUBJECTS,
        operations=OPERATIONS,
        operation_subjects=OPERATION_SUBJECTS,
        assignments=ASSIGNMENTS,
        access_events=EVENTS + "\n",
    )
    ingest(bundle, home)
    return home


def _explained(home: Path) -> dict[str, str]:
    rows = duckdb.execute(
        "SELECT event_id, explanation FROM read_parquet(?)",
        [str(home / "derived" / "explain" / "explanations.parquet")],
    ).fetchall()
    return dict(rows)


def test_every_event_gets_its_best_explanation_or_none(force: Path) -> None:
    with open_store(force) as store:
        report = explain_store(store)
    assert _explained(force) == EXPECTED
    assert report.events == len(EXPECTED)
    assert report.by_template[UNEXPLAINED] == list(EXPECTED.values()).count(UNEXPLAINED)
    assert set(report.by_template) == {t.name for t in TEMPLATES} | {UNEXPLAINED}


def test_the_kept_explanations_are_in_event_order_with_names_as_text(force: Path) -> None:
    """The web application reads a few events' explanations by id and relies on that order to
    skip the rest of the file; the names are sorted as an ENUM but kept as plain text."""
    with open_store(force) as store:
        explain_store(store, incremental=False)
    path = force / "derived" / "explain" / "explanations.parquet"
    table = pq.read_table(path)
    ids = table.column("event_id").to_pylist()
    assert ids == sorted(ids) and len(ids) == len(EXPECTED)
    assert table.schema.field("explanation").type == pa.string()
    assert table.schema.field("weak_explanation").type == pa.string()
    assert dict(zip(ids, table.column("explanation").to_pylist(), strict=True)) == EXPECTED


def test_one_event_says_which_path_explains_it(force: Path) -> None:
    with open_store(force) as store:
        found = explain_event(store, "E2")
        named = explain_event(store, "E1")
    assert found.explanation == "assigned"
    assert found.operation_id == "INC-1"
    assert found.sentence == "assigned to INC-1, which involves the subject (victim)"
    assert named.explanation == "named_operation"
    assert named.also == ["assigned", "assignment_follow_up"]


def test_a_lie_is_not_an_explanation_and_says_why(force: Path) -> None:
    with open_store(force) as store:
        lie = explain_event(store, "E5")
        leak = explain_event(store, "E8")
        late = explain_event(store, "E4")
    assert lie.explanation == UNEXPLAINED
    assert "it names INC-1, which does not involve S2" in lie.checked
    assert any("not a known partner" in line for line in leak.checked)
    assert any(
        line.startswith("P1 was assigned to INC-1 (involving the subject) from")
        for line in late.checked
    )


def test_explain_on_the_command_line(force: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "--home", str(force), "--event", "E6", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["explanation"], data["operation_id"]) == ("control_room_call", "INC-1")
    table = runner.invoke(app, ["explain", "--home", str(force)])
    assert table.exit_code == 0, table.output
    assert "explained: 58.82% of events" in table.stdout
    missing = runner.invoke(app, ["explain", "--home", str(force), "--event", "E404"])
    assert missing.exit_code == 2
    assert "no access event 'E404'" in missing.output


def test_a_synthetic_force_is_explained_except_its_misuse(tmp_path: Path) -> None:
    """Legitimate work (noise included) is explained; misuse is not. A seed not used to write
    the templates. The goals (docs/explain.md) are 99% and 1% (measured over larger forces);
    a 300-person force has few misuse events, so this guards a looser floor."""
    bundle, home = tmp_path / "bundle", tmp_path / "home"
    generate(bundle, workforce=300, days=5, seed=2718)
    ingest(bundle, home)
    with open_store(home) as store:
        explain_store(store)
    explained = _explained(home)
    misuse = {
        line.split(",")[0]
        for line in (bundle / "truth" / "misuse_events.csv").read_text().splitlines()[1:]
    }
    legit = [e for e in explained if e not in misuse]
    legit_share = sum(explained[e] != UNEXPLAINED for e in legit) / len(legit)
    misuse_share = sum(explained[e] != UNEXPLAINED for e in misuse) / len(misuse)
    assert legit_share >= 0.99, legit_share
    assert misuse_share <= 0.03, misuse_share


def test_a_call_counts_as_worked_on_when_its_subjects_are_looked_at_twice_in_all(
    make_bundle: BundleFactory, home: Path
) -> None:
    """Unit-level work is matched per person, day and subject (a call handler looks at one
    caller many times a day), yet an operation's looks are still counted across its subjects:
    one look at each of two people in the same call is two looks at the call. A lone look at a
    call's subject the next day is a plausible reason (``weak_explanation``), not an
    explanation."""
    bundle = make_bundle(
        units=UNITS,
        workforce=WORKFORCE,
        subjects=SUBJECTS,
        operations=OPERATIONS,
        operation_subjects=OPERATION_SUBJECTS + "INC-1,S2,witness\n",
        assignments=ASSIGNMENTS,
        access_events=HEADER
        + "\n".join(
            [
                "C1,2026-01-05T10:05:00Z,P2,consult,CAD,S1,,,,",
                "C2,2026-01-05T10:10:00Z,P2,consult,CAD,S2,,,,",
                "C3,2026-01-06T09:00:00Z,P2,consult,CAD,S2,,,,",
            ]
        )
        + "\n",
    )
    ingest(bundle, home)
    with open_store(home) as store:
        explain_store(store)
    rows = duckdb.execute(
        "SELECT event_id, explanation, operation_id, weak_explanation FROM read_parquet(?) "
        "ORDER BY event_id",
        [str(home / "derived" / "explain" / "explanations.parquet")],
    ).fetchall()
    assert rows == [
        ("C1", "control_room_call", "INC-1", None),
        ("C2", "control_room_call", "INC-1", None),
        ("C3", UNEXPLAINED, None, "control_room_call"),
    ]
