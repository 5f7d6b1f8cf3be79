"""Importing historical case records: every row is imported, a duplicate, or quarantined with
its line and reason; importing again adds nothing; every import is in the ledger."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from custodes.cases.db import open_cases
from custodes.cases.importer import (
    CaseImportError,
    import_cases,
    list_imports,
    list_quarantine,
)
from custodes.cases.models import (
    Allegation,
    Case,
    CaseImportRow,
    CasePerson,
    PersonOutcome,
    Transition,
)
from custodes.cli import app
from custodes.store.store import open_store

HEADER = [
    "case_id",
    "force",
    "incident_date",
    "person_ref",
    "role",
    "breach_type",
    "outcome",
    "outcome_date",
    "systems",
    "notes",
]
GOOD = [
    ["C1", "Dorset", "2012-03-04", "P1", "officer", "unauthorised_access", "conviction_dpa_s170", "2013-01-10", "PNC;rms", "fined"],
    ["C1", "Dorset", "2012-03-04", "P1", "officer", "unauthorised_access", "dismissal_without_notice", "2013-02-01", "RMS;PNC", ""],
    ["C1", "Dorset", "2012-03-05", "P2", "staff", "inappropriate_disclosure", "verbal_warning", "", "PND", ""],
    ["C2", "Dorset", "2014-07-01", "P3", "staff", "other", "not_provided", "", "", ""],
]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def count(home: Path, model: type) -> int:
    db = open_cases(home)
    try:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        db.close()


def quarantined(home: Path) -> dict[int, tuple[str, str]]:
    db = open_cases(home)
    try:
        return {q["line"]: (q["column"], q["reason"]) for q in list_quarantine(db, limit=1000)}
    finally:
        db.close()


def test_a_case_file_becomes_closed_imported_cases(tmp_path: Path) -> None:
    home = tmp_path / "home"
    report = import_cases(write_csv(tmp_path / "cases.csv", GOOD), home)
    assert (report.read, report.imported, report.duplicates, report.quarantined) == (4, 4, 0, 0)
    assert report.balanced and report.cases_created == 2
    db = open_cases(home)
    with db.session() as session:
        cases = {c.reference: c for c in session.scalars(select(Case))}
        assert {c.origin for c in cases.values()} == {"import"}
        assert {c.status for c in cases.values()} == {"closed"}
        # a case's incident date is its earliest; P2's own date stays with its row
        assert str(cases["C1"].incident_date) == "2012-03-04"
        people = {(p.case_id, p.person_ref): p for p in session.scalars(select(CasePerson))}
        p1 = people[(cases["C1"].id, "P1")]
        assert p1.role == "officer"
        assert sorted(o.code for o in p1.outcomes) == [
            "conviction_dpa_s170",
            "dismissal_without_notice",
        ]
        # systems are normalised: upper case, sorted, one allegation per breach and systems
        allegations = session.scalars(
            select(Allegation).where(Allegation.case_id == cases["C1"].id)
        ).all()
        assert sorted((a.breach_type, a.systems) for a in allegations) == [
            ("inappropriate_disclosure", "PND"),
            ("unauthorised_access", "PNC;RMS"),
        ]
        steps = session.scalars(select(Transition).where(Transition.action == "import")).all()
        assert {s.to_state for s in steps} == {"closed"} and len(steps) == 2
        assert {s.ledger_leaf for s in steps} == {report.ledger_leaf}
    db.close()


def test_importing_the_same_file_again_adds_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = [*GOOD, ["C3", "Dorset", "2015-01-01", "P4", "pcso", "other", "caution", "", "", ""]]
    path = write_csv(tmp_path / "cases.csv", rows)
    first = import_cases(path, home)
    before = {m: count(home, m) for m in (Case, CasePerson, PersonOutcome, CaseImportRow)}
    second = import_cases(path, home)
    assert (second.imported, second.duplicates, second.quarantined) == (0, 4, 1)
    assert second.read == second.ingested + second.quarantined
    assert {m: count(home, m) for m in before} == before
    assert len(quarantined(home)) == 1, "a quarantined line is kept once"
    assert second.ledger_leaf == first.ledger_leaf + 1, "every run is in the ledger"
    db = open_cases(home)
    assert [r["import_id"] for r in list_imports(db)] == [second.import_id, first.import_id]
    db.close()


def test_a_later_file_adds_to_an_imported_case_without_repeating_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    import_cases(write_csv(tmp_path / "a.csv", GOOD), home)
    later = [
        GOOD[0],  # already there
        ["C1", "Dorset", "2012-03-04", "P1", "officer", "unauthorised_access", "resigned_during_proceedings", "", "PNC;RMS", ""],
        ["C1", "Dorset", "2012-06-01", "P9", "staff", "other", "written_warning", "", "", ""],
    ]  # fmt: skip
    report = import_cases(write_csv(tmp_path / "b.csv", later), home)
    assert (report.imported, report.duplicates, report.quarantined) == (2, 1, 0)
    assert report.cases_created == 0
    assert count(home, Case) == 2


# every kind of bad row -------------------------------------------------------------------------

BAD_ROWS: list[tuple[list[str], str, str]] = [
    (["", "F", "2012-01-01", "P", "officer", "other", "caution", "", "", ""], "case_id", "case_id is required but empty"),
    (["X", "F", "2012-02-30", "P", "officer", "other", "caution", "", "", ""], "incident_date", "incident_date '2012-02-30' is not a date YYYY-MM-DD"),
    (["X", "F", "01/02/2012", "P", "officer", "other", "caution", "", "", ""], "incident_date", "is not a date YYYY-MM-DD"),
    (["X", "F", "2012-01-01", "", "officer", "other", "caution", "", "", ""], "person_ref", "person_ref is required but empty"),
    (["X", "F", "2012-01-01", "P", "pcso", "other", "caution", "", "", ""], "role", "unknown role 'pcso'; expected one of: officer, staff"),
    (["X", "F", "2012-01-01", "P", "officer", "snooping", "caution", "", "", ""], "breach_type", "unknown breach_type 'snooping'"),
    (["X", "F", "2012-01-01", "P", "officer", "other", "sacked", "", "", ""], "outcome", "unknown outcome 'sacked'; expected one of: no_case_to_answer"),
    (["X", "F", "2012-01-01", "P", "officer", "other", "", "", "", ""], "outcome", "outcome is required but empty"),
    (["X", "F", "2012-01-01", "P", "officer", "other", "verbal_warning", "", "", ""], "outcome", "outcome 'verbal_warning' does not apply to officer (only to staff)"),
    (["X", "F", "2012-01-01", "P", "staff", "other", "reduction_in_rank", "", "", ""], "outcome", "does not apply to staff (only to officer)"),
    (["X", "F", "2012-01-01", "P", "officer", "other", "caution", "2011-12-31", "", ""], "outcome_date", "outcome_date 2011-12-31 is before incident_date 2012-01-01"),
    (["X", "F", "2012-01-01", "P", "officer", "other", "caution", "", "PNC;P N C", ""], "systems", "systems 'P N C': a system code is"),
    (["X" * 65, "F", "2012-01-01", "P", "officer", "other", "caution", "", "", ""], "case_id", "case_id is longer than 64 characters"),
]  # fmt: skip


def test_every_kind_of_bad_row_is_quarantined_with_its_line_and_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = [GOOD[0]] + [row for row, _, _ in BAD_ROWS]
    report = import_cases(write_csv(tmp_path / "bad.csv", rows), home)
    assert (report.read, report.imported, report.quarantined) == (len(rows), 1, len(BAD_ROWS))
    assert report.ingested + report.quarantined == report.read
    found = quarantined(home)
    for line, (_, column, reason) in enumerate(BAD_ROWS, start=3):  # header 1, good row 2
        assert found[line][0] == column, (line, found[line])
        assert reason in found[line][1], (line, found[line])


def test_a_row_lists_every_problem_it_has(tmp_path: Path) -> None:
    home = tmp_path / "home"
    row = ["X", "F", "someday", "P", "pcso", "snooping", "sacked", "", "", ""]
    import_cases(write_csv(tmp_path / "bad.csv", [row]), home)
    column, reason = quarantined(home)[2]
    assert column == "incident_date"
    for part in ("someday", "pcso", "snooping", "sacked"):
        assert part in reason


def test_rows_the_csv_parser_cannot_take_are_quarantined_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    good = ",".join(GOOD[0]).encode()
    lines = [
        ",".join(HEADER).encode(),
        good,
        b"C9,F,2012-01-01,P9,officer",  # too few fields
        b"C9,F,2012-01-01,P9,officer,other,caution,,,,surplus",  # too many
        b"C9,F,2012-01-01,P9,officer,other,caution,,,caf\xe9 latin-1",  # not UTF-8
        b'C9,F,2012-01-01,P9,officer,other,caution,,,"a quote never closed',
        b"C10,F,2012-01-01,P10,officer,other,caution,,,",  # swallowed by the open quote
    ]
    path = tmp_path / "messy.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = import_cases(path, home)
    assert report.imported == 1 and report.balanced
    found = quarantined(home)
    assert "fewer fields than the header (10): 5 found" in found[3][1]
    assert "more fields than the header (10): 11 found" in found[4][1]
    assert found[5] == ("notes", "notes: not valid UTF-8; export the file as UTF-8")
    assert found[6][1] == "malformed quoting: a quoted value is never closed"
    assert report.read == 5, "the open quote makes one record of the last two lines"


def test_rows_that_contradict_each_other_in_one_file_are_all_quarantined(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = [
        ["C1", "F", "2012-01-01", "P1", "officer", "other", "caution", "", "", ""],
        ["C1", "F", "2012-01-01", "P1", "staff", "other", "written_warning", "", "", ""],
        ["C2", "F", "2012-01-01", "P2", "officer", "other", "caution", "", "", ""],
        ["C2", "F", "2012-02-01", "P2", "officer", "other", "written_warning", "", "", ""],
        ["C3", "F", "2012-01-01", "P3", "officer", "other", "caution", "", "", ""],
        ["C3", "F", "2012-01-01", "P3", "officer", "other", "caution", "2012-05-01", "", ""],
        ["C3", "F", "2012-01-01", "P3", "officer", "other", "caution", "", "", ""],  # duplicate
    ]
    report = import_cases(write_csv(tmp_path / "c.csv", rows), home)
    assert (report.imported, report.duplicates, report.quarantined) == (1, 1, 5)
    found = quarantined(home)
    assert "has role officer on line 2, staff on line 3" in found[2][1]
    assert found[2] == found[3]
    assert "has incident_date 2012-01-01 on line 4, 2012-02-01 on line 5" in found[4][1]
    assert found[7] == (
        "outcome_date",
        "case 'C3' of force 'F', person 'P3', outcome 'caution' is earlier in this file "
        "(line 6) with a different outcome_date",
    )


def test_rows_that_contradict_an_earlier_import_are_quarantined(tmp_path: Path) -> None:
    home = tmp_path / "home"
    import_cases(write_csv(tmp_path / "a.csv", GOOD), home)
    later = [
        ["C1", "Dorset", "2012-03-04", "P1", "officer", "unauthorised_access", "conviction_dpa_s170", "2013-01-11", "PNC;RMS", "fined"],
        ["C1", "Dorset", "2012-03-05", "P2", "officer", "unauthorised_access", "written_warning", "", "", ""],
        ["C1", "Dorset", "2012-01-01", "P7", "officer", "other", "caution", "", "", ""],
    ]  # fmt: skip
    report = import_cases(write_csv(tmp_path / "b.csv", later), home)
    assert (report.imported, report.quarantined) == (0, 3)
    found = quarantined(home)
    assert (
        "already imported (line 2 of an earlier file) with a different outcome_date" in found[2][1]
    )
    assert "person 'P2' in case 'C1' of force 'Dorset' was imported with role staff" in found[3][1]
    assert "was imported with incident date 2012-03-04 (its earliest)" in found[4][1]


def test_a_case_worked_in_custodes_takes_no_imported_rows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    import_cases(write_csv(tmp_path / "a.csv", GOOD[:1]), home)  # creates the store
    db = open_cases(home)
    with db.session() as session:
        session.add(Case(reference="PSD-1", force="Dorset", origin="workflow", title="t"))
    db.close()
    row = ["PSD-1", "Dorset", "2012-01-01", "P1", "officer", "other", "caution", "", "", ""]
    report = import_cases(write_csv(tmp_path / "b.csv", [row]), home)
    assert report.quarantined == 1
    assert "is a case worked in Custodes, not an imported one" in quarantined(home)[2][1]


def test_the_force_option_fills_empty_force_cells(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = [
        ["C1", "", "2012-01-01", "P1", "officer", "other", "caution", "", "", ""],
        ["C1", "Kent", "2012-01-01", "P1", "officer", "other", "caution", "", "", ""],
    ]
    import_cases(write_csv(tmp_path / "a.csv", rows), home, default_force="Dorset")
    db = open_cases(home)
    with db.session() as session:
        assert sorted(session.scalars(select(Case.force))) == ["Dorset", "Kent"]
    db.close()


def test_parquet_files_are_read_too(tmp_path: Path) -> None:
    home = tmp_path / "home"
    columns = list(zip(*GOOD, strict=True))
    table = pa.table({name: list(values) for name, values in zip(HEADER, columns, strict=True)})
    pq.write_table(table, tmp_path / "cases.parquet")
    report = import_cases(tmp_path / "cases.parquet", home)
    assert (report.imported, report.quarantined) == (4, 0)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("cases.xlsx", b"x", "a case file is .csv or .parquet, not .xlsx"),
        ("empty.csv", b"", "the file is empty"),
        ("short.csv", b"case_id,person_ref\nC1,P1\n", "the header lacks incident_date, role"),
        ("twice.csv", (",".join(HEADER) + ",role\n").encode(), "names role more than once"),
        ("bad.parquet", b"not parquet", "not a readable Parquet file"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_one_clear_line(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaseImportError, match=message):
        import_cases(path, tmp_path / "home")
    assert not (tmp_path / "home" / "cases.sqlite").exists(), "nothing is created for it"


def test_a_home_without_a_store_gets_one_whose_ledger_verifies(tmp_path: Path) -> None:
    home = tmp_path / "national"
    report = import_cases(write_csv(tmp_path / "a.csv", GOOD), home)
    store = open_store(home)
    try:
        assert store.catalog.ledger_size() == 1
        (event,) = store.catalog.system_events()
        assert event.kind == "cases_import" and event.leaf_index == report.ledger_leaf
        assert report.sha256.encode() in (event.encoding or b"")
    finally:
        store.close()
    result = CliRunner().invoke(app, ["ledger", "verify", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_the_commands_import_list_runs_and_list_the_quarantine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = ["X", "F", "2012-01-01", "P", "pcso", "other", "caution", "", "", ""]
    path = write_csv(tmp_path / "cases.csv", [*GOOD, bad])
    runner = CliRunner()
    result = runner.invoke(app, ["cases", "import", str(path), "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["read"], data["ingested"], data["quarantined"], data["balanced"]) == (
        5,
        4,
        1,
        True,
    )
    result = runner.invoke(app, ["cases", "import", str(path), "--home", str(home)])
    assert result.exit_code == 0
    assert "1 rows quarantined: see `custodes cases quarantine" in result.stdout
    listing = runner.invoke(app, ["cases", "quarantine", "--home", str(home), "--json"])
    (row,) = json.loads(listing.stdout)
    assert (row["file"], row["line"], row["column"]) == ("cases.csv", 6, "role")
    assert json.loads(row["raw"])["role"] == "pcso", "the original text is kept"
    runs = runner.invoke(app, ["cases", "imports", "--home", str(home), "--json"])
    assert [r["imported"] for r in json.loads(runs.stdout)] == [0, 4]
    missing = runner.invoke(app, ["cases", "import", str(tmp_path / "no.csv"), "--home", str(home)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_import_and_reimport_behave_the_same_on_sqlite_and_postgresql(
    tmp_path: Path, case_db_url: str
) -> None:
    home = tmp_path / "home"
    bad = ["X", "F", "2012-01-01", "P", "officer", "other", "verbal_warning", "", "", ""]
    path = write_csv(tmp_path / "cases.csv", [*GOOD, bad])
    first = import_cases(path, home, db_url=case_db_url)
    again = import_cases(path, home, db_url=case_db_url)
    conflicting = [[*GOOD[0][:7], "2013-01-11", "PNC;RMS", "fined"]]
    later = import_cases(write_csv(tmp_path / "b.csv", conflicting), home, db_url=case_db_url)
    assert (first.imported, first.quarantined) == (4, 1)
    assert (again.imported, again.duplicates, again.quarantined) == (0, 4, 1)
    assert (later.imported, later.quarantined) == (0, 1)
    db = open_cases(home, case_db_url)
    try:
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(PersonOutcome)) == 4
            assert session.scalar(select(func.count()).select_from(Case)) == 2
        reasons = [q["reason"] for q in list_quarantine(db)]
        assert len(reasons) == 2 and "already imported" in reasons[0]
    finally:
        db.close()


VALUES = {
    "case_id": ["C1", "C2", "C3", ""],
    "force": ["", "Kent"],
    "incident_date": ["2012-01-01", "2012-01-02", "2012-02-30", ""],
    "person_ref": ["P1", "P2", ""],
    "role": ["officer", "staff", "Officer ", "pcso"],
    "breach_type": ["unauthorised_access", "other", "peeking"],
    "outcome": ["caution", "written_warning", "verbal_warning", "dismissal", "not_provided", "x"],
    "outcome_date": ["", "2012-06-01", "2011-01-01"],
    "systems": ["", "PNC", "pnc;RMS", "P N C"],
    "notes": ["", 'a, "quoted" note'],
}


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(*(st.sampled_from(v) for v in VALUES.values())), max_size=12))
def test_every_row_read_is_ingested_or_quarantined_and_a_reimport_adds_nothing(
    tmp_path: Path, rows: list[tuple[str, ...]]
) -> None:
    work = tmp_path / uuid.uuid4().hex
    work.mkdir()
    path = write_csv(work / "cases.csv", [list(r) for r in rows])
    first = import_cases(path, work / "home")
    assert first.read == len(rows) == first.ingested + first.quarantined
    outcomes = count(work / "home", PersonOutcome)
    assert outcomes == first.imported
    again = import_cases(path, work / "home")
    assert (again.imported, again.duplicates) == (0, first.ingested)
    assert again.quarantined == first.quarantined
    assert count(work / "home", PersonOutcome) == outcomes
    assert len(quarantined(work / "home")) == first.quarantined
