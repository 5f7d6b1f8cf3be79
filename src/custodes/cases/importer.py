"""Historical case records from a file (``custodes cases import``): years of a force's cases,
kept in spreadsheets, become ordinary closed cases (``origin = "import"``), so one set of
statistics covers them and the cases worked in Custodes.

A case file has one row per person-outcome (docs/cases-import.md)::

    case_id*, force, incident_date*, person_ref*, role*, breach_type*, outcome*,
    outcome_date, systems, notes

Every row ends in exactly one of: **imported** (new), **duplicate** (already imported, or earlier
in the file, with the same content) or **quarantined** (with file, line, column and every problem
found, and the row's original text). read = imported + duplicates + quarantined, always; the
first two are what was ingested. The key of a row is (force, case_id, person_ref, outcome), so
importing the same file again adds nothing.

An import is one transaction in the case database, committed while the store's writer lock is
held and after its ledger leaf (kind ``cases_import``) is synced, so imports are serialised and
each one's rows carry its leaf (reports count them only at an as-of size above it). A HOME
without a store (a national body that only imports files) gets an empty one, so that its
imports are in a ledger too. The file format and the checks of one row are in
:mod:`custodes.cases.import_rows`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from custodes.cases.db import CaseDb, open_cases
from custodes.cases.import_rows import (
    MAX_ID,
    SAMPLE,
    CaseImportError,
    ImportRow,
    Rejected,
    check_record,
    read_case_file,
)
from custodes.cases.models import (
    Allegation,
    Case,
    CaseImport,
    CaseImportQuarantine,
    CaseImportRow,
    CasePerson,
    PersonOutcome,
    Transition,
)
from custodes.store.ledger import record
from custodes.store.store import appender, writer

__all__ = ["CaseImportError", "ImportReport", "import_cases", "list_imports", "list_quarantine"]

WRITE_CHUNK = 1000

Progress = Callable[[str, int, int], None]
"""``(stage, done, total)``: ``reading`` then ``importing``."""


# checking rows against each other and the database ---------------------------------------------


@dataclass
class Sorted:
    """Where each row of the file goes."""

    new: list[ImportRow] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    stored: dict[tuple[str, str], StoredCase] = field(default_factory=dict)

    def reject(self, row: ImportRow, column: str, reason: str) -> None:
        self.rejected.append(Rejected(row.line, column, reason, row.raw))


def sort_rows(session: Session, rows: list[ImportRow]) -> Sorted:
    """Tell new rows from duplicates and from rows that contradict others (in the file or
    already imported): one person has one role and one incident date in a case; a key seen
    before must come with the same content; a case worked in Custodes takes no imported rows;
    a case's incident date (its earliest) cannot move earlier once imported."""
    result = Sorted()
    rows = _consistent_people(rows, result)
    result.stored = stored = _stored(session, {(r.force, r.case_ref) for r in rows})
    seen: dict[RowKey, ImportRow] = {}
    nothing = StoredCase()
    for row in rows:
        case = stored.get((row.force, row.case_ref), nothing)
        where = f"case {row.case_ref!r}" + (f" of force {row.force!r}" if row.force else "")
        if case.case_id is not None and case.origin != "import":
            result.reject(
                row,
                "case_id",
                f"{where} is a case worked in Custodes, not an imported one; historical rows "
                "cannot be added to it (give the historical case another case_id)",
            )
            continue
        earlier = seen.get(row.key) or case.rows.get(row.key)
        if earlier is not None:
            differs = [k for k, v in row.content().items() if earlier.content()[k] != v]
            if not differs:
                result.duplicates += 1
                continue
            place = (
                f"earlier in this file (line {earlier.line})"
                if row.key in seen
                else f"already imported (line {earlier.line} of an earlier file)"
            )
            result.reject(
                row,
                differs[0],
                f"{where}, person {row.person_ref!r}, outcome {row.outcome!r} is {place} with "
                f"a different {', '.join(differs)}",
            )
            continue
        known = case.people.get(row.person_ref)
        if known is not None and (known.role, known.incident_date) != (
            row.role,
            row.incident_date,
        ):
            column = "role" if known.role != row.role else "incident_date"
            result.reject(
                row,
                column,
                f"person {row.person_ref!r} in {where} was imported with {column} "
                f"{getattr(known, column)} (line {known.line} of an earlier file), not "
                f"{getattr(row, column)}",
            )
            continue
        if case.incident_date is not None and row.incident_date < case.incident_date:
            result.reject(
                row,
                "incident_date",
                f"{where} was imported with incident date {case.incident_date} (its earliest); "
                f"a later import cannot move it to {row.incident_date}: reports taken before "
                "would change (import the corrected case under another case_id)",
            )
            continue
        seen[row.key] = row
        result.new.append(row)
    return result


def _consistent_people(rows: list[ImportRow], result: Sorted) -> list[ImportRow]:
    """Quarantine every row of a person whose role or incident date differs between rows of
    the same case in this file (which row is right cannot be told)."""
    groups: dict[tuple[str, str, str], list[ImportRow]] = defaultdict(list)
    for row in rows:
        groups[row.person].append(row)
    kept = []
    for row in rows:
        group = groups[row.person]
        for column in ("role", "incident_date"):
            values = sorted({str(getattr(r, column)) for r in group})
            if len(values) > 1:
                lines = ", ".join(
                    f"{v} on line{'s' if n > 1 else ''} {lines}"
                    for v, n, lines in _lines_by_value(group, column)
                )
                result.reject(
                    row,
                    column,
                    f"person {row.person_ref!r} in case {row.case_ref!r} has {column} {lines}: "
                    f"one person has one {column} in a case",
                )
                break
        else:
            kept.append(row)
    return kept


def _lines_by_value(group: list[ImportRow], column: str) -> Iterator[tuple[str, int, str]]:
    by_value: dict[str, list[int]] = defaultdict(list)
    for row in group:
        by_value[str(getattr(row, column))].append(row.line)
    for value, lines in sorted(by_value.items()):
        yield value, len(lines), ", ".join(map(str, lines))


RowKey = tuple[str, str, str, str]


@dataclass
class StoredCase:
    """What the database already holds of a case named in the file."""

    case_id: int | None = None
    origin: str | None = None
    incident_date: date | None = None
    people: dict[str, ImportRow] = field(default_factory=dict)  # a stored row of each person
    rows: dict[RowKey, ImportRow] = field(default_factory=dict)


def _stored(session: Session, cases: set[tuple[str, str]]) -> dict[tuple[str, str], StoredCase]:
    """The cases of the file already in the database, with their imported rows (read as plain
    rows, not ORM objects: a re-import of a large file reads them all)."""
    found: dict[tuple[str, str], StoredCase] = {}
    by_force: dict[str, list[str]] = defaultdict(list)
    for force, ref in sorted(cases):
        by_force[force].append(ref)
    columns = [getattr(CaseImportRow, name) for name in STORED_COLUMNS]
    for force, refs in by_force.items():
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            for case_id, ref, origin, incident_date in session.execute(
                select(Case.id, Case.reference, Case.origin, Case.incident_date).where(
                    Case.force == force, Case.reference.in_(chunk)
                )
            ):
                found[(force, ref)] = StoredCase(case_id, origin, incident_date)
            for values in session.execute(
                select(*columns).where(
                    CaseImportRow.force == force, CaseImportRow.case_ref.in_(chunk)
                )
            ):
                row = ImportRow(**dict(zip(STORED_COLUMNS, values, strict=True)), raw="")
                case = found.setdefault((force, row.case_ref), StoredCase())
                case.people.setdefault(row.person_ref, row)
                case.rows[row.key] = row
    return found


STORED_COLUMNS = (
    "line",
    "force",
    "case_ref",
    "incident_date",
    "person_ref",
    "role",
    "breach_type",
    "outcome",
    "outcome_date",
    "systems",
    "notes",
)


# writing ---------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What became of a file's rows: read = imported + duplicates + quarantined."""

    file: str
    sha256: str
    import_id: int
    ledger_leaf: int
    read: int
    imported: int
    duplicates: int
    quarantined: int
    cases_created: int
    ignored_columns: list[str]

    @property
    def ingested(self) -> int:
        return self.imported + self.duplicates

    @property
    def balanced(self) -> bool:
        return self.read == self.ingested + self.quarantined

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "import_id": self.import_id,
            "ledger_leaf": self.ledger_leaf,
            "read": self.read,
            "ingested": self.ingested,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "balanced": self.balanced,
            "cases_created": self.cases_created,
            "ignored_columns": self.ignored_columns,
        }


def import_cases(
    path: Path,
    home: Path,
    *,
    db_url: str | None = None,
    default_force: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Import a case file into the case database of ``home``; see the module docstring."""
    default_force = default_force.strip()
    if len(default_force) > MAX_ID:
        raise CaseImportError(f"--force {default_force[:SAMPLE]!r} is longer than {MAX_ID}")
    case_file = read_case_file(path)
    tick = progress or (lambda stage, done, total: None)
    checked: list[ImportRow] = []
    rejected: list[Rejected] = []
    total = len(case_file.records)
    for done, item in enumerate(case_file.records, 1):
        result = check_record(item, default_force)
        if isinstance(result, ImportRow):
            checked.append(result)
        else:
            rejected.append(result)
        if done % WRITE_CHUNK == 0 or done == total:
            tick("reading", done, total)
    if not (home / "catalog.sqlite").exists():
        with writer(home):  # an empty store, so that imports have a ledger
            pass
    db = open_cases(home, db_url)
    try:
        with appender(home) as store, db.session() as session:
            sorted_rows = sort_rows(session, checked)
            rejected += sorted_rows.rejected
            run = CaseImport(
                file_name=case_file.name,
                file_sha256=case_file.sha256,
                default_force=default_force,
                rows_read=total,
                rows_imported=len(sorted_rows.new),
                rows_already_present=sorted_rows.duplicates,
                rows_quarantined=len(rejected),
            )
            session.add(run)
            session.flush()
            _quarantine(session, run, rejected)
            created = _write(session, run, sorted_rows.new, sorted_rows.stored, tick)
            run.cases_created = len(created)
            event = record(
                store,
                "cases_import",
                {
                    "import_id": run.id,
                    "file": case_file.name,
                    "sha256": case_file.sha256,
                    "rows_read": total,
                    "rows_imported": run.rows_imported,
                    "rows_duplicate": run.rows_already_present,
                    "rows_quarantined": run.rows_quarantined,
                    "cases_created": run.cases_created,
                },
            )
            run.ledger_leaf = event.leaf_index
            steps = [
                {
                    "entity": "case",
                    "entity_id": str(case_id),
                    "from_state": None,
                    "to_state": "closed",
                    "reason": f"imported from {case_file.name} (import {run.id})",
                    "ledger_leaf": event.leaf_index,
                    "action": "import",
                    "detail": case_file.sha256,
                }
                for case_id in created
            ]
            for start in range(0, len(steps), WRITE_CHUNK):
                session.execute(insert(Transition), steps[start : start + WRITE_CHUNK])
            report = ImportReport(
                case_file.name,
                case_file.sha256,
                run.id,
                event.leaf_index,
                total,
                run.rows_imported,
                run.rows_already_present,
                run.rows_quarantined,
                run.cases_created,
                case_file.ignored_columns,
            )
    finally:
        db.close()
    return report


def _quarantine(session: Session, run: CaseImport, rejected: list[Rejected]) -> None:
    """Keep rejected rows, once per file and line however often the file is imported."""
    kept = set(
        session.scalars(
            select(CaseImportQuarantine.line).where(
                CaseImportQuarantine.file_sha256 == run.file_sha256
            )
        )
    )
    values = []
    for item in sorted(rejected, key=lambda r: r.line):
        if item.line in kept:
            continue
        kept.add(item.line)
        values.append(
            {
                "import_id": run.id,
                "file_name": run.file_name,
                "file_sha256": run.file_sha256,
                "line": item.line,
                "column_name": item.column,
                "reason": item.reason,
                "raw": item.raw,
            }
        )
    for start in range(0, len(values), WRITE_CHUNK):
        session.execute(insert(CaseImportQuarantine), values[start : start + WRITE_CHUNK])


def _write(
    session: Session,
    run: CaseImport,
    rows: list[ImportRow],
    stored: dict[tuple[str, str], StoredCase],
    tick: Progress,
) -> list[int]:
    """Cases (closed, ``origin = "import"``), people, allegations and outcomes for the new rows,
    each outcome linked to its import row; returns the ids of the cases created.

    Bulk inserts, a thousand rows a statement, with the new ids returned in order (SQLite and
    PostgreSQL both return them): a force's history is tens of thousands of rows, and one ORM
    object per row would cost minutes and gigabytes."""
    by_case: dict[tuple[str, str], list[ImportRow]] = defaultdict(list)
    for row in rows:
        by_case[(row.force, row.case_ref)].append(row)
    case_ids = {k: c.case_id for k, c in stored.items() if c.case_id is not None}
    new_cases = [k for k in by_case if k not in case_ids]
    created = _insert(
        session,
        Case,
        [
            {
                "reference": ref,
                "force": force,
                "origin": "import",
                "title": f"Historical case {ref}",
                "status": "closed",
                "incident_date": min(r.incident_date for r in by_case[(force, ref)]),
                "closing_note": f"imported from {run.file_name} (import {run.id})",
            }
            for force, ref in new_cases
        ],
    )
    case_ids.update(zip(new_cases, created, strict=True))
    existing = [c.case_id for c in stored.values() if c.case_id is not None]

    people = _existing(session, CasePerson, existing, CasePerson.person_ref)
    wanted = {(case_ids[(r.force, r.case_ref)], r.person_ref): r.role for r in rows}
    missing = [k for k in wanted if k not in people]
    fresh = _insert(
        session,
        CasePerson,
        [{"case_id": c, "person_ref": ref, "role": wanted[(c, ref)]} for c, ref in missing],
    )
    people.update(zip(missing, fresh, strict=True))

    what = (Allegation.breach_type, Allegation.systems, Allegation.incident_date)
    claims = _existing(session, Allegation, existing, *what)
    wanted_claims = {
        (case_ids[(r.force, r.case_ref)], r.breach_type, r.systems, r.incident_date): None
        for r in rows
    }
    missing_claims = [k for k in wanted_claims if k not in claims]
    fresh = _insert(
        session,
        Allegation,
        [
            {
                "case_id": c,
                "breach_type": b,
                "systems": systems,
                "incident_date": when,
                "description": "imported",
            }
            for c, b, systems, when in missing_claims
        ],
    )
    claims.update(zip(missing_claims, fresh, strict=True))

    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = rows[start : start + WRITE_CHUNK]
        keys = [(case_ids[(r.force, r.case_ref)], r) for r in chunk]
        outcomes = _insert(
            session,
            PersonOutcome,
            [
                {
                    "case_person_id": people[(c, r.person_ref)],
                    "code": r.outcome,
                    "outcome_date": r.outcome_date,
                    "note": r.notes,
                }
                for c, r in keys
            ],
        )
        session.execute(
            insert(CaseImportRow),
            [
                {
                    "import_id": run.id,
                    **{name: getattr(r, name) for name in STORED_COLUMNS},
                    "case_id": c,
                    "outcome_id": outcome,
                    "allegation_id": claims[(c, r.breach_type, r.systems, r.incident_date)],
                }
                for (c, r), outcome in zip(keys, outcomes, strict=True)
            ],
        )
        tick("importing", start + len(chunk), len(rows))
    return created


def _insert(session: Session, model: Any, values: list[dict[str, Any]]) -> list[int]:
    """Insert rows of ``model``; their new ids, in the order given."""
    ids: list[int] = []
    for start in range(0, len(values), WRITE_CHUNK):
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        ids += session.scalars(statement, values[start : start + WRITE_CHUNK]).all()
    return ids


def _existing(
    session: Session, model: Any, case_ids: list[int], *columns: Any
) -> dict[tuple[Any, ...], int]:
    """``(case_id, *columns) -> id`` of the rows of ``model`` in these cases."""
    found: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        statement = select(model.id, model.case_id, *columns).where(model.case_id.in_(chunk))
        for row_id, *key in session.execute(statement):
            found[tuple(key)] = row_id
    return found


# listing ---------------------------------------------------------------------------------------


def list_imports(db: CaseDb) -> list[dict[str, Any]]:
    """Every import run, newest first."""
    with db.session() as session:
        runs = session.scalars(select(CaseImport).order_by(CaseImport.id.desc())).all()
        return [
            {
                "import_id": r.id,
                "file": r.file_name,
                "sha256": r.file_sha256,
                "force": r.default_force,
                "read": r.rows_read,
                "imported": r.rows_imported,
                "duplicates": r.rows_already_present,
                "quarantined": r.rows_quarantined,
                "cases_created": r.cases_created,
                "ledger_leaf": r.ledger_leaf,
                "imported_at": r.imported_at.isoformat(timespec="seconds"),
            }
            for r in runs
        ]


def list_quarantine(db: CaseDb, limit: int = 50) -> list[dict[str, Any]]:
    """Quarantined rows of case files, newest import first, then by line."""
    with db.session() as session:
        rows = session.scalars(
            select(CaseImportQuarantine)
            .order_by(CaseImportQuarantine.import_id.desc(), CaseImportQuarantine.line)
            .limit(limit)
        ).all()
        return [
            {
                "import_id": q.import_id,
                "file": q.file_name,
                "sha256": q.file_sha256,
                "line": q.line,
                "column": q.column_name,
                "reason": q.reason,
                "raw": q.raw,
            }
            for q in rows
        ]
