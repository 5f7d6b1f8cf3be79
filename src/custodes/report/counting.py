"""The counting rules of the transparency statistics, as data and small functions.

Published figures on police data misuse are hard to use because nobody says what was counted:
the campaigners' five questions mix counts of persons with counts of incidents, one person can be
convicted, dismissed and resign over the same incident (outcomes run on parallel tracks), and
forces could not say which date put an incident in the year asked about. Here every figure has a
unit (incidents, persons or person-outcomes), one date decides the period, and the rules are
written once, in :data:`COUNTING_RULES`, which every output prints.

Counting is in two steps: :mod:`custodes.report.facts` selects the incidents of a period (one
query path, SQLite and PostgreSQL alike); :func:`count_force` counts them, one force at a time.
Persons are identified within a force, so the figures of several forces add up exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date

from custodes.cases import taxonomy
from custodes.errors import CustodesError

MAX_MONTHS = 1200
NOT_RECORDED = "not_recorded"  # a breach type or system the case does not name


class ReportError(CustodesError):
    """A report that cannot be made as asked (a bad period, an unknown force, no data)."""


@dataclass(frozen=True)
class Period:
    """Both ends inclusive: an incident dated ``end`` is in the period."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportError(f"the period ends ({self.end}) before it starts ({self.start})")
        if len(self.months()) > MAX_MONTHS:
            raise ReportError(f"the period is longer than {MAX_MONTHS // 12} years")

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        dates = []
        for option, text in (("--from", start), ("--to", end)):
            try:
                dates.append(date.fromisoformat(text))
            except ValueError:
                raise ReportError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None
        return cls(dates[0], dates[1])

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[str]:
        """Every month the period touches, as ``YYYY-MM``, in order."""
        first = self.start.year * 12 + self.start.month - 1
        last = self.end.year * 12 + self.end.month - 1
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


@dataclass(frozen=True)
class Question:
    """One of the campaigners' five questions: the outcomes that answer it and its unit."""

    key: str
    line: str
    label: str
    unit: str  # persons | incidents
    codes: frozenset[str]


QUESTIONS = (
    Question("convicted", "B1", "Convicted of an offence", "persons", taxonomy.CONVICTED),
    Question(
        "employment_terminated",
        "B2",
        "Employment terminated (dismissed, or would have been)",
        "persons",
        taxonomy.EMPLOYMENT_TERMINATED,
    ),
    Question(
        "internally_disciplined",
        "B3",
        "Internally disciplined",
        "persons",
        taxonomy.INTERNALLY_DISCIPLINED,
    ),
    Question(
        "resigned_during_proceedings",
        "B4",
        "Resigned or retired during proceedings",
        "persons",
        taxonomy.RESIGNED_DURING_PROCEEDINGS,
    ),
    Question(
        "no_disciplinary_action",
        "B5",
        "Incidents with no disciplinary action",
        "incidents",
        taxonomy.NO_DISCIPLINARY_ACTION,
    ),
)
PERSON_QUESTIONS = QUESTIONS[:4]
DECISIVE: frozenset[str] = frozenset().union(*(q.codes for q in PERSON_QUESTIONS))
"""Outcomes that answer one of the four person questions: an incident with one of them had a
formal result, whatever else it had."""

RESULTS = ("formal_action", "no_disciplinary_action", "not_provided")
"""What an incident came to; every counted incident has exactly one."""


def _codes(codes: Iterable[str]) -> str:
    return ", ".join(sorted(codes))


def counting_rules() -> list[str]:
    """The rules, in words, with the outcome codes of each question spelled out from the
    taxonomy (so the text cannot drift from the counting)."""
    persons = "; ".join(f"{q.line} {q.key}: {_codes(q.codes)}" for q in PERSON_QUESTIONS)
    return [
        "Period: an incident (one case) is in the period when its incident date (the date of "
        "the earliest access or disclosure the case is about) is on or after the first day and "
        "on or before the last day of the period; both days are included. Outcome dates and "
        "when a case was opened or closed play no part. Incidents without an incident date are "
        "in no period and are counted apart (A5).",
        "Concluded incidents only: historical cases imported from a file, and cases worked in "
        "Custodes once closed (signed off by a reviewer). Cases still being worked are counted "
        "apart (A4) and in nothing else.",
        "Units: B1-B4, A2 and D2 count persons; B5, A1, A4, A5, C, D1, E, F and H count "
        "incidents; A3, D3 and G count person-outcomes (one outcome given to one person in one "
        "incident).",
        f"Persons (B1-B4) are counted once in each question they answer, however many incidents "
        f"or outcomes put them there: {persons}. The same person can answer several questions "
        "(a person can be convicted, dismissed and resign over one incident: outcomes run on "
        "parallel tracks). A person involved in several incidents of the period is one person "
        "in A2.",
        "Officer or staff: a person is counted under the role they had in the latest incident "
        "(by incident date, then case reference) that put them in the count. An incident is "
        "counted under officer when an officer was involved and under staff when a member of "
        "staff was; an incident involving both is counted under each, and once in the total, "
        "so for incidents officer + staff can exceed the total.",
        f"No disciplinary action (B5, C2): an incident in which every person involved has only "
        f"outcomes among: {_codes(taxonomy.NO_DISCIPLINARY_ACTION)}.",
        f"Not provided (C3, D): an incident in which nobody has an outcome of B1-B4 and at "
        f"least one person's outcome is {taxonomy.NOT_PROVIDED} (a historical record without "
        "it) is counted as not provided, never as no disciplinary action. A person is in D2 "
        "when they have such an outcome and none of B1-B4 in the period.",
        "Every incident of A1 is in exactly one of C1 (formal action: at least one person "
        "answers B1-B4), C2 and C3, so C1 + C2 + C3 = A1.",
        "The five answers B1-B5 overlap and must not be added up: B6 is their sum, shown only "
        "because it is what adding them gives; it is not a count of anything.",
        "Breakdowns: an incident is counted under each breach type (E) and each system (F) its "
        "case names, so these lines overlap; H places incidents in the month of their incident "
        "date.",
        "Forces: persons are identified within a force (person_ref), so the figures of several "
        "forces are added: a total over forces is the sum of the forces' rows.",
        "Data: only what the ledger had recorded before the report's as-of size counts "
        "(imports whose ledger leaf is below it; worked cases whose closing step's leaf is "
        "below it); the same as-of size gives the same report.",
    ]


# what is counted -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Involvement:
    """One person in one incident, with every outcome they were given in it (sorted)."""

    person_ref: str
    role: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Incident:
    """A concluded case in the period, as the counting sees it."""

    force: str
    reference: str
    incident_date: date
    people: tuple[Involvement, ...]
    breach_types: tuple[str, ...]
    systems: tuple[str, ...]

    @property
    def order(self) -> tuple[date, str]:
        """Which of a person's incidents is the latest (for their role, rule R5)."""
        return (self.incident_date, self.reference)

    def result(self) -> str:
        codes = {c for p in self.people for c in p.codes}
        if codes & DECISIVE:
            return "formal_action"
        if self.people and all(
            p.codes and set(p.codes) <= taxonomy.NO_DISCIPLINARY_ACTION for p in self.people
        ):
            return "no_disciplinary_action"
        return "not_provided"


@dataclass(frozen=True)
class Split:
    """A count for officers, for staff, and in all. For persons and person-outcomes the total is
    officer + staff; for incidents it is the distinct count, which can be less."""

    officer: int = 0
    staff: int = 0
    total: int = 0

    def __add__(self, other: Split) -> Split:
        return Split(
            self.officer + other.officer, self.staff + other.staff, self.total + other.total
        )

    def to_dict(self) -> dict[str, int]:
        return {"officer": self.officer, "staff": self.staff, "total": self.total}


def _add(a: Mapping[str, Split], b: Mapping[str, Split]) -> dict[str, Split]:
    return {k: a.get(k, Split()) + b.get(k, Split()) for k in sorted(set(a) | set(b))}


@dataclass(frozen=True)
class Counts:
    """Every figure of a report for one force (or, added up, for several)."""

    incidents: Split = Split()
    persons: Split = Split()
    person_outcomes: Split = Split()
    questions: Mapping[str, Split] = field(default_factory=dict)
    results: Mapping[str, Split] = field(default_factory=dict)
    not_provided_persons: Split = Split()
    not_provided_outcomes: Split = Split()
    by_breach_type: Mapping[str, Split] = field(default_factory=dict)
    by_system: Mapping[str, Split] = field(default_factory=dict)
    by_outcome: Mapping[str, Split] = field(default_factory=dict)
    by_outcome_persons: Mapping[str, Split] = field(default_factory=dict)
    by_month: Mapping[str, Split] = field(default_factory=dict)
    by_month_result: Mapping[str, Split] = field(default_factory=dict)
    """Keys ``YYYY-MM|result``; only ``total`` is used."""
    in_progress: int = 0
    undated: int = 0

    def __add__(self, other: Counts) -> Counts:
        values: dict[str, object] = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            values[item.name] = _add(mine, theirs) if isinstance(mine, Mapping) else mine + theirs
        return Counts(**values)  # type: ignore[arg-type]

    @property
    def naive_sum(self) -> int:
        return sum(self.questions[q.key].officer + self.questions[q.key].staff for q in QUESTIONS)

    def month_result(self, month: str, result: str) -> int:
        return self.by_month_result.get(f"{month}|{result}", Split()).total


class _Tally:
    """A :class:`Split` being counted (mutable, for speed: a national report counts hundreds
    of thousands of person-outcomes)."""

    __slots__ = ("officer", "staff", "total")

    def __init__(self) -> None:
        self.officer = self.staff = self.total = 0

    def add(self, officer: bool, staff: bool) -> None:
        self.officer += officer
        self.staff += staff
        self.total += 1

    def add_role(self, role: str) -> None:
        self.add(role == "officer", role == "staff")

    def split(self) -> Split:
        return Split(self.officer, self.staff, self.total)


def _splits(tallies: Mapping[str, _Tally]) -> dict[str, Split]:
    return {key: tally.split() for key, tally in tallies.items()}


def count_force(
    incidents: list[Incident], period: Period, *, in_progress: int = 0, undated: int = 0
) -> Counts:
    """Count one force's concluded incidents of ``period`` (the rules of :func:`counting_rules`)."""
    months = period.months()
    every, outcomes, missing_outcomes = _Tally(), _Tally(), _Tally()
    results = {r: _Tally() for r in RESULTS}
    by_breach = {b: _Tally() for b in taxonomy.BREACH_TYPES}
    by_system: dict[str, _Tally] = {}
    by_outcome = {c: _Tally() for c in taxonomy.OUTCOME_CODES}
    by_month = {m: _Tally() for m in months}
    by_month_result = {f"{m}|{r}": _Tally() for m in months for r in RESULTS}
    # person -> (role, codes) in each of their incidents, latest last (rule R5)
    history: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for incident in sorted(incidents, key=lambda i: i.order):
        if not period.contains(incident.incident_date):
            continue
        roles = {p.role for p in incident.people}
        officer, staff = "officer" in roles, "staff" in roles
        result = incident.result()
        every.add(officer, staff)
        results[result].add(officer, staff)
        for breach in incident.breach_types or (NOT_RECORDED,):
            by_breach.setdefault(breach, _Tally()).add(officer, staff)
        for system in incident.systems or (NOT_RECORDED,):
            by_system.setdefault(system, _Tally()).add(officer, staff)
        month = f"{incident.incident_date.year:04d}-{incident.incident_date.month:02d}"
        by_month[month].add(officer, staff)
        by_month_result[f"{month}|{result}"].add(False, False)
        for person in incident.people:
            history[person.person_ref].append((person.role, person.codes))
            for code in person.codes:
                outcomes.add_role(person.role)
                by_outcome[code].add_role(person.role)
                if code == taxonomy.NOT_PROVIDED:
                    missing_outcomes.add_role(person.role)
    questions = {q.key: _Tally() for q in PERSON_QUESTIONS}
    persons, missing_persons = _Tally(), _Tally()
    by_outcome_persons = {c: _Tally() for c in taxonomy.OUTCOME_CODES}
    for entries in history.values():
        given: dict[str, str] = {}  # outcome code -> role when it was last given
        answered: dict[str, str] = {}  # question key -> role when last answered
        for role, codes in entries:
            for code in codes:
                given[code] = role
                for question in PERSON_QUESTIONS:
                    if code in question.codes:
                        answered[question.key] = role
        persons.add_role(entries[-1][0])
        for code, role in given.items():
            by_outcome_persons[code].add_role(role)
        for key, role in answered.items():
            questions[key].add_role(role)
        if not answered and taxonomy.NOT_PROVIDED in given:
            missing_persons.add_role(given[taxonomy.NOT_PROVIDED])
    answers = _splits(questions)
    answers["no_disciplinary_action"] = results["no_disciplinary_action"].split()
    return Counts(
        incidents=every.split(),
        persons=persons.split(),
        person_outcomes=outcomes.split(),
        questions=answers,
        results=_splits(results),
        not_provided_persons=missing_persons.split(),
        not_provided_outcomes=missing_outcomes.split(),
        by_breach_type=_splits(by_breach),
        by_system=_splits(by_system),
        by_outcome=_splits(by_outcome),
        by_outcome_persons=_splits(by_outcome_persons),
        by_month=_splits(by_month),
        by_month_result=_splits(by_month_result),
        in_progress=in_progress,
        undated=undated,
    )


def empty_counts(period: Period) -> Counts:
    return count_force([], period)
