"""What a report counts, read from the case database: the concluded incidents of a period, as
the ledger had them at a given size (the report's *as-of* size).

One query path (SQLAlchemy Core, the same on SQLite and PostgreSQL) for imported and worked
cases alike, which differ only in what makes a row visible at an as-of size ``N``:

* an imported outcome, when the import that brought it has its ledger leaf below ``N``
  (``case_imports.ledger_leaf``, linked through ``case_import_rows``);
* a worked case (and all it holds), when a step that closed it has its leaf below ``N``
  (``transitions``: a closed case changes no more).

Rows recorded later are invisible at ``N``, so a report regenerated at the same as-of size is
the same report, whatever was imported or closed since.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from custodes.cases import taxonomy
from custodes.cases.models import (
    Allegation,
    Case,
    CaseImport,
    CaseImportRow,
    CasePerson,
    PersonOutcome,
    Transition,
)
from custodes.report.counting import Incident, Involvement, Period


@dataclass(frozen=True)
class Snapshot:
    """A case database's incidents of a period at one as-of size, by force."""

    incidents: dict[str, list[Incident]]
    in_progress: dict[str, int]
    undated: dict[str, int]

    @property
    def forces(self) -> list[str]:
        return sorted(set(self.incidents) | set(self.in_progress) | set(self.undated))


def _case_step(as_of: int, *, closing: bool) -> ColumnElement[bool]:
    """A step of the case (one that closed it, when ``closing``) recorded below ``as_of``; a
    case step names its case by id, as text."""
    conditions = [
        Transition.entity == "case",
        Transition.entity_id == cast(Case.id, String(64)),
        Transition.ledger_leaf < as_of,
    ]
    if closing:
        conditions.append(Transition.to_state == "closed")
    return exists(select(Transition.id).where(*conditions))


def _worked(as_of: int) -> ColumnElement[bool]:
    return and_(Case.origin != "import", _case_step(as_of, closing=True))


def _outcomes(as_of: int) -> Select[Any]:
    """(case id, person, role, outcome code) visible at ``as_of``; a code is NULL for a person of
    a worked case with no outcome recorded."""
    imported = (
        select(CasePerson.case_id, CasePerson.person_ref, CasePerson.role, PersonOutcome.code)
        .select_from(CaseImportRow)
        .join(CaseImport, CaseImport.id == CaseImportRow.import_id)
        .join(PersonOutcome, PersonOutcome.id == CaseImportRow.outcome_id)
        .join(CasePerson, CasePerson.id == PersonOutcome.case_person_id)
        .where(CaseImport.ledger_leaf < as_of)
    )
    worked = (
        select(CasePerson.case_id, CasePerson.person_ref, CasePerson.role, PersonOutcome.code)
        .select_from(CasePerson)
        .join(Case, Case.id == CasePerson.case_id)
        .outerjoin(PersonOutcome, PersonOutcome.case_person_id == CasePerson.id)
        .where(_worked(as_of))
    )
    return union_all(imported, worked)  # type: ignore[return-value]


def _allegations(as_of: int) -> Select[Any]:
    imported = (
        select(CaseImportRow.case_id, Allegation.breach_type, Allegation.systems)
        .join(CaseImport, CaseImport.id == CaseImportRow.import_id)
        .join(Allegation, Allegation.id == CaseImportRow.allegation_id)
        .where(CaseImport.ledger_leaf < as_of)
    )
    worked = (
        select(Allegation.case_id, Allegation.breach_type, Allegation.systems)
        .join(Case, Case.id == Allegation.case_id)
        .where(_worked(as_of))
    )
    return union_all(imported, worked)  # type: ignore[return-value]


def snapshot(session: Session, period: Period, as_of: int, label: str) -> Snapshot:
    """The incidents of ``period`` at ``as_of``; a case without a force is labelled ``label``."""
    in_period = Case.incident_date.between(period.start, period.end)
    outcomes = _outcomes(as_of).subquery("visible_outcomes")
    rows = session.execute(
        select(
            Case.id,
            Case.force,
            Case.reference,
            Case.incident_date,
            outcomes.c.person_ref,
            outcomes.c.role,
            outcomes.c.code,
        )
        .join(outcomes, outcomes.c.case_id == Case.id)
        .where(in_period)
    ).all()
    allegations = _allegations(as_of).subquery("visible_allegations")
    claims = session.execute(
        select(allegations.c.case_id, allegations.c.breach_type, allegations.c.systems)
        .join(Case, Case.id == allegations.c.case_id)
        .where(in_period)
        .distinct()
    ).all()
    undated = session.execute(
        select(Case.force, func.count(func.distinct(Case.id)))
        .join(outcomes, outcomes.c.case_id == Case.id)
        .where(Case.incident_date.is_(None))
        .group_by(Case.force)
    ).all()
    in_progress = session.execute(
        select(Case.force, func.count(Case.id))
        .where(
            Case.origin != "import",
            in_period,
            _case_step(as_of, closing=False),
            ~_case_step(as_of, closing=True),
        )
        .group_by(Case.force)
    ).all()
    return Snapshot(
        _incidents(rows, claims, label),
        {force or label: int(n) for force, n in in_progress},
        {force or label: int(n) for force, n in undated},
    )


def _incidents(rows: Any, claims: Any, label: str) -> dict[str, list[Incident]]:
    cases: dict[int, tuple[str, str, date]] = {}
    people: dict[int, dict[str, tuple[str, set[str]]]] = defaultdict(dict)
    for case_id, force, reference, incident_date, person_ref, role, code in rows:
        cases[case_id] = (force or label, reference, incident_date)
        _, codes = people[case_id].setdefault(person_ref, (role, set()))
        codes.add(code or taxonomy.NOT_PROVIDED)
    breaches: dict[int, set[str]] = defaultdict(set)
    systems: dict[int, set[str]] = defaultdict(set)
    for case_id, breach_type, system_list in claims:
        breaches[case_id].add(breach_type)
        systems[case_id].update(s.strip().upper() for s in (system_list or "").split(";"))
    by_force: dict[str, list[Incident]] = defaultdict(list)
    for case_id, (force, reference, incident_date) in cases.items():
        by_force[force].append(
            Incident(
                force,
                reference,
                incident_date,
                tuple(
                    Involvement(ref, role, tuple(sorted(codes)))
                    for ref, (role, codes) in sorted(people[case_id].items())
                ),
                tuple(sorted(breaches[case_id])),
                tuple(sorted(s for s in systems[case_id] if s)),
            )
        )
    return {force: sorted(items, key=lambda i: i.order) for force, items in by_force.items()}


def data_size(session: Session, ledger_size: int) -> int:
    """The as-of size that includes every case step and import recorded so far: one past the
    newest such leaf (0 when there is none). Reports the system makes itself come after it, so
    two reports with nothing new in between are the same report."""
    newest = [
        session.scalar(
            select(func.max(CaseImport.ledger_leaf)).where(CaseImport.ledger_leaf < ledger_size)
        ),
        session.scalar(
            select(func.max(Transition.ledger_leaf)).where(
                Transition.entity == "case", Transition.ledger_leaf < ledger_size
            )
        ),
    ]
    known = [int(n) for n in newest if n is not None]
    return max(known) + 1 if known else 0


def imports_before(session: Session, as_of: int) -> list[dict[str, Any]]:
    """The case files whose imports are in the data at ``as_of``, in ledger order."""
    runs = session.scalars(
        select(CaseImport).where(CaseImport.ledger_leaf < as_of).order_by(CaseImport.ledger_leaf)
    ).all()
    return [
        {
            "file": r.file_name,
            "sha256": r.file_sha256,
            "ledger_leaf": r.ledger_leaf,
            "rows_imported": r.rows_imported,
        }
        for r in runs
    ]


def worked_cases_before(session: Session, as_of: int) -> int:
    """How many cases worked in Custodes were closed before ``as_of``."""
    return int(session.scalar(select(func.count(Case.id)).where(_worked(as_of))) or 0)


def known_forces(session: Session, label: str) -> set[str]:
    """Every force the case database holds a case of (any date), labelled as in reports."""
    return {force or label for force in session.scalars(select(Case.force).distinct())}
