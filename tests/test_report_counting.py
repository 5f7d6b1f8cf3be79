"""The counting rules, on examples a reader can check by hand: the published Dorset figures,
period boundaries, one person in several categories, outcomes not provided, officer or staff.
Each runs on SQLite and on PostgreSQL (the ``case_db_url`` fixture)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from custodes.cases.importer import import_cases
from custodes.report import Period, Source, build_report
from custodes.report.foi import FoiReport

HEADER = (
    "case_id,force,incident_date,person_ref,role,breach_type,outcome,outcome_date,systems,notes"
)


@dataclass(frozen=True)
class Person:
    ref: str
    role: str
    outcomes: tuple[str, ...]


def officer(ref: str, *outcomes: str) -> Person:
    return Person(ref, "officer", outcomes)


def staff(ref: str, *outcomes: str) -> Person:
    return Person(ref, "staff", outcomes)


@dataclass(frozen=True)
class Incident:
    case: str
    date: str
    people: tuple[Person, ...]
    breach: str = "unauthorised_access"
    systems: str = "PNC"
    force: str = "Dorset"


def incident(case: str, date: str, *people: Person, **more: str) -> Incident:
    return Incident(case, date, people, **more)


def case_file(path: Path, incidents: list[Incident]) -> Path:
    """One row per person-outcome, as a force's spreadsheet would have it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for item in incidents:
        for person in item.people:
            for code in person.outcomes:
                where = [item.case, item.force, item.date]
                who = [person.ref, person.role, item.breach]
                writer.writerow([*where, *who, code, "", item.systems, ""])
    path.write_text(HEADER + "\n" + buffer.getvalue(), encoding="utf-8")
    return path


def report_for(
    tmp_path: Path, url: str, incidents: list[Incident], start: str, end: str
) -> FoiReport:
    home = tmp_path / "home"
    report = import_cases(case_file(tmp_path / "cases.csv", incidents), home, db_url=url)
    assert report.quarantined == 0
    return build_report([Source(home, url)], Period.parse(start, end))


def answers(report: FoiReport) -> dict[str, tuple[int, int]]:
    data = report.to_dict()
    keys = (
        "convicted",
        "employment_terminated",
        "internally_disciplined",
        "resigned_during_proceedings",
        "no_disciplinary_action",
    )
    return {k: (data[k]["officer"], data[k]["staff"]) for k in keys}


# Dorset Police, June 2011 to December 2015 (DESIGN.md): the published answers, rebuilt ----------

NDA = ("no_further_action", "no_case_to_answer", "reflective_practice", "criminal_nfa", "caution")
DORSET = [
    # convicted officers: one also dismissed, one also resigned, one convicted, dismissed AND
    # resigned, one convicted and given a final written warning (and a warning in a later case)
    incident("D01", "2011-06-01", officer("O1", "conviction_dpa_s170", "dismissal_without_notice")),
    incident("D02", "2012-02-10", officer("O2", "conviction_cma", "resigned_during_proceedings")),
    incident(
        "D03",
        "2012-05-20",
        officer("O3", "conviction_mipo", "would_have_been_dismissed", "resigned_during_proceedings"),
        breach="inappropriate_disclosure",
        systems="PNC;RMS",
    ),
    incident("D04", "2013-01-15", officer("O4", "conviction_other", "final_written_warning")),
    incident("D05", "2014-03-03", officer("O4", "written_warning")),
    incident("D06", "2013-04-04", officer("O5", "dismissal_without_notice"), officer("O6", "written_warning")),
    incident("D07", "2013-06-06", officer("O7", "final_written_warning"), staff("S2", "verbal_warning", "resigned_during_proceedings")),
    incident("D08", "2013-08-08", officer("O8", "reduction_in_rank")),
    incident("D09", "2014-01-09", officer("O9", "management_advice")),
    incident("D10", "2014-05-10", officer("O10", "written_warning", "retired_during_proceedings")),
    incident("D11", "2014-06-11", officer("O11", "final_written_warning")),
    incident("D12", "2014-09-12", officer("O12", "resigned_during_proceedings"), officer("O13", "resigned_during_proceedings")),
    incident("D13", "2015-01-13", officer("O14", "retired_during_proceedings")),
    incident("D14", "2015-03-14", officer("O15", "resigned_during_proceedings", "criminal_nfa")),
    incident("D15", "2015-12-31", officer("O16", "resigned_during_proceedings")),
    # staff: one convicted and dismissed; thirteen disciplined (S5 twice); two resigned
    incident("D20", "2012-10-20", staff("S1", "conviction_dpa_s170", "dismissal"), breach="inappropriate_disclosure"),
    incident("D21", "2012-11-01", staff("S3", "written_warning"), staff("S4", "verbal_warning")),
    *[
        incident(f"D{22 + i}", f"2013-{i + 1:02d}-15", staff(f"S{5 + i}", ("verbal_warning", "written_warning", "final_written_warning", "management_advice")[i % 4]), systems="RMS")
        for i in range(10)
    ],
    incident("D32", "2015-02-02", staff("S5", "verbal_warning")),
    incident("D33", "2015-06-01", staff("S15", "resigned_during_proceedings")),
    # incidents with no disciplinary action: 29 with officers only (O20 twice, N05 with two),
    # one with an officer and a member of staff, 11 with staff only
    *[
        incident(f"N{i:02d}", f"2012-{i % 12 + 1:02d}-{i % 27 + 1:02d}", officer("O20" if i in (1, 2) else f"O{20 + i}", NDA[i % 5]), *([officer("O99", "no_further_action")] if i == 5 else []))
        for i in range(1, 30)
    ],
    incident("N30", "2014-12-01", officer("O50", "no_further_action"), staff("S30", "no_case_to_answer")),
    *[incident(f"M{i:02d}", f"2015-{i:02d}-03", staff(f"S{30 + i}", NDA[i % 5]), systems="") for i in range(1, 12)],
    # outcomes not provided: counted apart, never as "no action"
    incident("P01", "2013-02-02", officer("O60", "not_provided")),
    incident("P02", "2014-02-02", staff("S60", "not_provided", "no_further_action")),
    # outside the period: a day before it starts and a day after it ends
    incident("X01", "2011-05-31", officer("O1", "conviction_other")),
    incident("X02", "2016-01-01", staff("S1", "written_warning")),
]  # fmt: skip


def test_the_published_dorset_figures_are_reproduced_exactly(
    tmp_path: Path, case_db_url: str
) -> None:
    report = report_for(tmp_path, case_db_url, DORSET, "2011-06-01", "2015-12-31")
    assert answers(report) == {
        "convicted": (4, 1),
        "employment_terminated": (3, 1),
        "internally_disciplined": (7, 13),
        "resigned_during_proceedings": (8, 2),
        "no_disciplinary_action": (30, 12),
    }
    data = report.to_dict()
    assert data["naive_sum"] == 81
    in_period = [i for i in DORSET if not i.case.startswith("X")]
    assert data["distinct_incidents"] == len(in_period) == 72 < 81
    people = {p.ref for i in in_period for p in i.people}
    assert data["distinct_persons"] == len(people)
    assert data["incidents_by_result"]["no_disciplinary_action"]["total"] == 41, (
        "N30 involves an officer and a member of staff: once in each column, once in all"
    )
    assert data["not_provided"]["incidents"]["total"] == 2
    assert "must not be added up" in data["overlap_statement"]
    assert "Added up they make 81" in data["overlap_statement"]


def test_an_incident_is_in_the_period_by_its_incident_date_both_ends_included(
    tmp_path: Path, case_db_url: str
) -> None:
    incidents = [
        incident("A", "2015-03-31", officer("O1", "written_warning")),
        incident("B", "2015-04-01", officer("O2", "written_warning")),
        incident("C", "2016-03-31", officer("O3", "written_warning")),
        incident("D", "2016-04-01", officer("O4", "written_warning")),
    ]
    report = report_for(tmp_path, case_db_url, incidents, "2015-04-01", "2016-03-31")
    assert answers(report)["internally_disciplined"] == (2, 0)
    data = report.to_dict()
    months = {m["month"]: m["incidents"]["total"] for m in data["breakdowns"]["month"]}
    assert len(months) == 12 and months["2015-04"] == 1 and months["2016-03"] == 1
    assert sum(months.values()) == data["distinct_incidents"] == 2


def test_one_person_convicted_dismissed_and_resigned_counts_once_in_each_and_once_in_all(
    tmp_path: Path, case_db_url: str
) -> None:
    incidents = [
        incident(
            "A",
            "2014-01-01",
            officer("O1", "conviction_dpa_s170", "dismissal_without_notice", "resigned_during_proceedings"),
        ),
        incident("B", "2014-02-01", officer("O1", "conviction_cma")),
    ]  # fmt: skip
    report = report_for(tmp_path, case_db_url, incidents, "2014-01-01", "2014-12-31")
    assert answers(report) == {
        "convicted": (1, 0),
        "employment_terminated": (1, 0),
        "internally_disciplined": (0, 0),
        "resigned_during_proceedings": (1, 0),
        "no_disciplinary_action": (0, 0),
    }
    data = report.to_dict()
    assert (data["distinct_persons"], data["distinct_incidents"], data["naive_sum"]) == (1, 2, 3)
    assert data["person_outcomes"]["total"] == 4
    lines = {line["code"]: line for line in data["lines"]}
    assert lines["G.conviction_dpa_s170"]["total"] == 1
    assert lines["B6"]["unit"] == "sum"


def test_an_outcome_not_provided_is_never_counted_as_no_action(
    tmp_path: Path, case_db_url: str
) -> None:
    incidents = [
        incident("A", "2014-01-01", officer("O1", "not_provided")),
        incident(
            "B", "2014-01-02", officer("O2", "no_further_action"), staff("S2", "not_provided")
        ),
        incident(
            "C", "2014-01-03", officer("O3", "not_provided"), officer("O4", "written_warning")
        ),
        incident("D", "2014-01-04", staff("S5", "no_case_to_answer")),
    ]
    report = report_for(tmp_path, case_db_url, incidents, "2014-01-01", "2014-12-31")
    data = report.to_dict()
    assert data["no_disciplinary_action"] == {"officer": 0, "staff": 1}
    assert data["not_provided"]["incidents"] == {"officer": 2, "staff": 1, "total": 2}
    # O3 had nothing decisive either, even though O4 in the same incident did
    assert data["not_provided"]["persons"] == {"officer": 2, "staff": 1, "total": 3}
    assert data["not_provided"]["person_outcomes"]["total"] == 3
    result = data["incidents_by_result"]
    assert [
        result[r]["total"] for r in ("formal_action", "no_disciplinary_action", "not_provided")
    ] == [1, 1, 2]
    assert data["share_no_formal_action"] == 0.25


def test_officer_or_staff_is_the_role_in_the_latest_incident_that_counts(
    tmp_path: Path, case_db_url: str
) -> None:
    incidents = [
        # P1 was a member of staff, then became an officer: disciplined in both roles
        incident("A", "2013-01-01", staff("P1", "written_warning")),
        incident("B", "2014-01-01", officer("P1", "final_written_warning")),
        # P2 was convicted as staff, then was an officer in an incident without action
        incident("C", "2013-06-01", staff("P2", "conviction_cma")),
        incident("D", "2014-06-01", officer("P2", "no_further_action"), staff("S9", "caution")),
    ]
    report = report_for(tmp_path, case_db_url, incidents, "2013-01-01", "2014-12-31")
    data = report.to_dict()
    assert data["internally_disciplined"] == {"officer": 1, "staff": 0}
    assert data["convicted"] == {"officer": 0, "staff": 1}, "the role when convicted"
    assert data["persons"] == {"officer": 2, "staff": 1, "total": 3}
    # D involved an officer and a member of staff: counted under each, once in all
    assert data["no_disciplinary_action"] == {"officer": 1, "staff": 1}
    assert data["incidents_by_result"]["no_disciplinary_action"]["total"] == 1
