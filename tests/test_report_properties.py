"""Properties of the counting that hold for any case data: random incidents, counted directly
and through a case file imported into the database."""

from __future__ import annotations

import csv
import io
import random
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.cases import taxonomy
from custodes.cases.import_rows import COLUMNS
from custodes.cases.importer import import_cases
from custodes.report import Incident, Involvement, Period, Source, build_report, count_force
from custodes.report.counting import QUESTIONS, RESULTS, Counts
from custodes.report.forces import forces_table

YEAR = Period(date(2014, 1, 1), date(2014, 12, 31))
WIDER = Period(date(2013, 7, 1), date(2015, 6, 30))


@st.composite
def involvement(draw: st.DrawFn, ref: str) -> Involvement:
    role = draw(st.sampled_from(taxonomy.EMPLOYEE_ROLES))
    allowed = [o.code for o in taxonomy.OUTCOMES if role in o.applies_to]
    codes = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=3, unique=True))
    return Involvement(ref, role, tuple(sorted(codes)))


@st.composite
def incidents(draw: st.DrawFn, forces: tuple[str, ...] = ("F",)) -> list[Incident]:
    count = draw(st.integers(0, 14))
    found = []
    for n in range(count):
        refs = draw(
            st.lists(
                st.sampled_from([f"P{i}" for i in range(9)]), min_size=1, max_size=3, unique=True
            )
        )
        found.append(
            Incident(
                draw(st.sampled_from(forces)),
                f"C{n:03d}",
                draw(st.dates(WIDER.start, WIDER.end)),
                tuple(draw(involvement(ref)) for ref in sorted(refs)),
                tuple(
                    sorted(
                        draw(
                            st.sets(st.sampled_from(taxonomy.BREACH_TYPES), min_size=1, max_size=1)
                        )
                    )
                ),
                tuple(sorted(draw(st.sets(st.sampled_from(["PNC", "PND", "RMS"]), max_size=2)))),
            )
        )
    return found


def check_invariants(c: Counts) -> None:
    persons = c.persons.total
    assert c.persons.officer + c.persons.staff == persons
    for q in QUESTIONS[:4]:
        split = c.questions[q.key]
        assert split.officer + split.staff == split.total <= persons
    assert sum(c.results[r].total for r in RESULTS) == c.incidents.total
    assert c.questions["no_disciplinary_action"] == c.results["no_disciplinary_action"]
    incidents_ = c.incidents
    assert max(incidents_.officer, incidents_.staff) <= incidents_.total
    assert incidents_.total <= incidents_.officer + incidents_.staff
    assert c.naive_sum == sum(
        c.questions[q.key].officer + c.questions[q.key].staff for q in QUESTIONS
    )
    assert sum(s.total for s in c.by_month.values()) == incidents_.total
    assert sum(s.total for s in c.by_outcome.values()) == c.person_outcomes.total
    assert c.not_provided_outcomes == c.by_outcome[taxonomy.NOT_PROVIDED]
    assert c.not_provided_persons.total <= c.by_outcome_persons[taxonomy.NOT_PROVIDED].total


@given(incidents())
def test_every_count_keeps_the_rules_invariants(items: list[Incident]) -> None:
    check_invariants(count_force(items, YEAR))


@given(incidents(), st.randoms())
def test_the_order_of_the_incidents_does_not_matter(
    items: list[Incident], rng: random.Random
) -> None:
    shuffled = list(items)
    rng.shuffle(shuffled)
    assert count_force(shuffled, YEAR) == count_force(items, YEAR)


@given(incidents(), st.dates(YEAR.start, YEAR.end - timedelta(days=1)))
def test_incident_counts_of_two_adjacent_periods_add_up(items: list[Incident], cut: date) -> None:
    first = count_force(items, Period(YEAR.start, cut))
    second = count_force(items, Period(cut + timedelta(days=1), YEAR.end))
    whole = count_force(items, YEAR)
    assert first.incidents + second.incidents == whole.incidents
    for result in RESULTS:
        assert first.results[result] + second.results[result] == whole.results[result]
    # persons do not add up: one person can have incidents in both periods
    assert first.persons.total + second.persons.total >= whole.persons.total


def literal_answers(items: list[Incident], period: Period) -> dict[str, tuple[int, int]]:
    """The five answers and the persons, computed the slow, literal way the rules read."""
    inside = [i for i in items if period.contains(i.incident_date)]
    everyone = {p.person_ref for i in inside for p in i.people}

    def role_when_last(ref: str, codes: frozenset[str]) -> str | None:
        hits = [
            (i.incident_date, i.reference, p.role)
            for i in inside
            for p in i.people
            if p.person_ref == ref and codes & set(p.codes)
        ]
        return max(hits)[2] if hits else None

    def split(roles: list[str | None]) -> tuple[int, int]:
        return roles.count("officer"), roles.count("staff")

    answers = {q.key: split([role_when_last(r, q.codes) for r in everyone]) for q in QUESTIONS[:4]}
    quiet = [
        i for i in inside if all(set(p.codes) <= taxonomy.NO_DISCIPLINARY_ACTION for p in i.people)
    ]
    answers["no_disciplinary_action"] = (
        sum(any(p.role == "officer" for p in i.people) for i in quiet),
        sum(any(p.role == "staff" for p in i.people) for i in quiet),
    )
    every_code = frozenset(taxonomy.OUTCOME_CODES)
    answers["persons"] = split([role_when_last(r, every_code) for r in everyone])
    answers["incidents"] = (len(inside), len(inside))
    return answers


@given(incidents())
def test_the_counts_are_what_the_rules_say_read_literally(items: list[Incident]) -> None:
    c = count_force(items, YEAR)
    counted = {q.key: (c.questions[q.key].officer, c.questions[q.key].staff) for q in QUESTIONS}
    counted["persons"] = (c.persons.officer, c.persons.staff)
    counted["incidents"] = (c.incidents.total, c.incidents.total)
    assert counted == literal_answers(items, YEAR)


def write_case_file(path: Path, items: list[Incident]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        for person in item.people:
            for code in person.codes:
                where = [item.reference, item.force, item.incident_date.isoformat()]
                what = [person.role, item.breach_types[0], code, "", ";".join(item.systems), ""]
                writer.writerow([*where, person.person_ref, *what])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(incidents(forces=("Avon", "Kent", "Dorset")))
def test_the_database_counts_what_the_rules_count_and_totals_are_the_sum_of_forces(
    tmp_path: Path, items: list[Incident]
) -> None:
    work = tmp_path / uuid.uuid4().hex
    work.mkdir()
    items = [replace(i, reference=f"{i.force}-{i.reference}") for i in items]
    imported = import_cases(write_case_file(work / "cases.csv", items), work / "home")
    assert imported.quarantined == 0 and imported.imported == sum(
        len(p.codes) for i in items for p in i.people
    )
    report = build_report([Source(work / "home")], YEAR)
    for force in report.forces:
        mine = [i for i in items if i.force == force]
        assert report.per_force[force] == count_force(mine, YEAR), force
    table = forces_table(report)
    for key in ("distinct_incidents", "distinct_persons", "naive_sum", "not_provided_incidents"):
        assert table["totals"][key] == sum(row[key] for row in table["rows"]), key
    for q in QUESTIONS:
        for role in taxonomy.EMPLOYEE_ROLES:
            assert table["totals"][q.key][role] == sum(row[q.key][role] for row in table["rows"])
