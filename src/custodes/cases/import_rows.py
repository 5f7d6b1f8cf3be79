"""The case file format (docs/cases-import.md): reading a file as numbered records, and
checking each record on its own.

A file that cannot be read at all (missing, not CSV or Parquet, no header, a required column
absent) is refused with one line. A record that breaks a rule is a :class:`Rejected` with its
physical line (the header is line 1; for Parquet, the row number), the column at fault and every
problem found, so the person fixing the spreadsheet can act on all of them at once. Rows are
checked against each other and the case database by :mod:`custodes.cases.importer`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from custodes.cases import taxonomy
from custodes.errors import CustodesError

COLUMNS = (
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
)
REQUIRED = ("case_id", "incident_date", "person_ref", "role", "breach_type", "outcome")
MAX_ID = 64  # the width of the identifier columns in the case database
MAX_SYSTEMS = 200
MAX_NOTES = 4000
SAMPLE = 60  # how much of a bad value a message quotes
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
SYSTEM_PATTERN = re.compile(r"[A-Z0-9_.\-]{1,32}")


class CaseImportError(CustodesError):
    """A case file that cannot be read at all (a bad row is quarantined instead)."""


# reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One record of the file as text: its physical line (the header is line 1; for Parquet,
    the row number), its values by header column, and a problem found while reading."""

    line: int
    values: dict[str, str | None]
    problem: tuple[str, str] | None = None  # (column, message)

    def raw(self) -> str:
        return json.dumps(self.values, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class CaseFile:
    name: str
    sha256: str
    header: tuple[str, ...]
    records: list[Record]

    @property
    def ignored_columns(self) -> list[str]:
        return sorted(set(self.header) - set(COLUMNS))


def read_case_file(path: Path) -> CaseFile:
    """Read a case file (``.csv`` or ``.parquet``); refuse one that cannot be read at all."""
    if not path.is_file():
        raise CaseImportError(f"{path}: no such file (give a .csv or .parquet case file)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, records = _read_csv(path, data)
    elif suffix == ".parquet":
        header, records = _read_parquet(path)
    else:
        raise CaseImportError(f"{path}: a case file is .csv or .parquet, not {suffix or 'nothing'}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CaseImportError(
            f"{path}: the header lacks {', '.join(missing)} (required: {', '.join(REQUIRED)}); "
            "see docs/cases-import.md"
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise CaseImportError(f"{path}: the header names {', '.join(repeated)} more than once")
    return CaseFile(path.name, digest, header, records)


def _read_csv(path: Path, data: bytes) -> tuple[tuple[str, ...], list[Record]]:
    if not data.strip():
        raise CaseImportError(f"{path}: the file is empty; a case file starts with a header row")
    # Undecodable bytes survive as surrogates, so that they are one row's problem, not the file's.
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    physical = io.StringIO(text, newline="").readlines()  # as the reader counts lines
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header_row = next(reader)
    except csv.Error as error:
        raise CaseImportError(f"{path}: the header row cannot be read ({error})") from None
    header = tuple(h.strip().lower() for h in header_row)
    if any(_undecodable(h) for h in header):
        raise CaseImportError(f"{path}: the header is not UTF-8; export the file as UTF-8")
    records: list[Record] = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            text_lines = "".join(physical[line - 1 : reader.line_num])
            records.append(_malformed(line, text_lines, str(error)))
            line = reader.line_num + 1
            continue
        if row:
            records.append(_csv_record(line, header, row))
        line = reader.line_num + 1
    return header, records


def _malformed(line: int, text: str, error: str) -> Record:
    reason = (
        "malformed quoting: a quoted value is never closed"
        if "unexpected end of data" in error
        else f"malformed quoting: {error}"
    )
    printable = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return Record(line, {"_text": printable[:MAX_NOTES]}, ("", reason))


def _csv_record(line: int, header: tuple[str, ...], row: list[str]) -> Record:
    values: dict[str, str | None] = {
        name: (row[i] if i < len(row) else None) for i, name in enumerate(header)
    }
    problem = None
    if len(row) != len(header):
        fewer = "fewer" if len(row) < len(header) else "more"
        problem = ("", f"row has {fewer} fields than the header ({len(header)}): {len(row)} found")
        if len(row) > len(header):
            values["_extra_fields"] = ",".join(row[len(header) :])
    else:
        bad = next((n for n, v in values.items() if v is not None and _undecodable(v)), None)
        if bad is not None:
            problem = (bad, f"{bad}: not valid UTF-8; export the file as UTF-8")
    printable = {
        k: (v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if v else v)
        for k, v in values.items()
    }
    return Record(line, printable, problem)


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _read_parquet(path: Path) -> tuple[tuple[str, ...], list[Record]]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise CaseImportError(f"{path}: not a readable Parquet file ({error})") from None
    header = tuple(name.strip().lower() for name in table.column_names)
    table = table.rename_columns(list(header))
    columns = {name: table.column(name).cast(pa.string()).to_pylist() for name in set(header)}
    return header, [
        Record(i + 1, {name: columns[name][i] for name in header}) for i in range(table.num_rows)
    ]


# checking one row -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    """A row that passed every check on its own, normalised: codes in lower case, systems in
    upper case, sorted and without repeats."""

    line: int
    force: str
    case_ref: str
    incident_date: date
    person_ref: str
    role: str
    breach_type: str
    outcome: str
    outcome_date: date | None
    systems: str
    notes: str
    raw: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.force, self.case_ref, self.person_ref, self.outcome)

    @property
    def person(self) -> tuple[str, str, str]:
        return (self.force, self.case_ref, self.person_ref)

    def content(self) -> dict[str, object]:
        """What must be equal for a row with the same key to be a duplicate."""
        return {
            "incident_date": self.incident_date,
            "role": self.role,
            "breach_type": self.breach_type,
            "outcome_date": self.outcome_date,
            "systems": self.systems,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Rejected:
    line: int
    column: str
    reason: str
    raw: str


def check_record(record: Record, default_force: str) -> ImportRow | Rejected:
    """Every problem of one row, or the row normalised."""
    if record.problem is not None:
        return Rejected(record.line, record.problem[0], record.problem[1], record.raw())
    text = {name: (record.values.get(name) or "").strip() for name in COLUMNS}
    problems: list[tuple[str, str]] = []

    def need(name: str) -> bool:
        if name in REQUIRED and not text[name]:
            problems.append((name, f"{name} is required but empty"))
            return False
        return bool(text[name])

    force = text["force"] or default_force
    for name in ("case_id", "person_ref"):
        if need(name) and len(text[name]) > MAX_ID:
            problems.append((name, f"{name} is longer than {MAX_ID} characters"))
    if len(force) > MAX_ID:
        problems.append(("force", f"force is longer than {MAX_ID} characters"))
    incident = _date(text, "incident_date", problems) if need("incident_date") else None
    outcome_date = _date(text, "outcome_date", problems) if need("outcome_date") else None
    role = _code(text, "role", taxonomy.EMPLOYEE_ROLES, problems) if need("role") else None
    breach = (
        _code(text, "breach_type", taxonomy.BREACH_TYPES, problems) if need("breach_type") else None
    )
    code = _code(text, "outcome", taxonomy.OUTCOME_CODES, problems) if need("outcome") else None
    if code and role and role not in taxonomy.outcome(code).applies_to:
        who = " or ".join(taxonomy.outcome(code).applies_to)
        problems.append(("outcome", f"outcome {code!r} does not apply to {role} (only to {who})"))
    if incident and outcome_date and outcome_date < incident:
        problems.append(
            ("outcome_date", f"outcome_date {outcome_date} is before incident_date {incident}")
        )
    systems = _systems(text["systems"], problems)
    if len(text["notes"]) > MAX_NOTES:
        problems.append(("notes", f"notes are longer than {MAX_NOTES} characters"))
    if problems or incident is None or role is None or breach is None or code is None:
        return Rejected(
            record.line, problems[0][0], "; ".join(m for _, m in problems), record.raw()
        )
    return ImportRow(
        record.line,
        force,
        text["case_id"],
        incident,
        text["person_ref"],
        role,
        breach,
        code,
        outcome_date,
        systems,
        text["notes"],
        record.raw(),
    )


def _quoted(value: str) -> str:
    return repr(value[:SAMPLE])


def _date(text: dict[str, str], name: str, problems: list[tuple[str, str]]) -> date | None:
    value = text[name]
    try:
        if DATE_PATTERN.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems.append((name, f"{name} {_quoted(value)} is not a date YYYY-MM-DD"))
    return None


def _code(
    text: dict[str, str], name: str, codes: Iterable[str], problems: list[tuple[str, str]]
) -> str | None:
    value = text[name].lower()
    known = tuple(codes)
    if value in known:
        return value
    problems.append(
        (name, f"unknown {name} {_quoted(text[name])}; expected one of: {', '.join(known)}")
    )
    return None


def _systems(value: str, problems: list[tuple[str, str]]) -> str:
    names = sorted({s.strip().upper() for s in value.split(";") if s.strip()})
    bad = [s for s in names if not SYSTEM_PATTERN.fullmatch(s)]
    if bad:
        problems.append(
            (
                "systems",
                f"systems {_quoted(';'.join(bad))}: a system code is letters, digits, _ . - "
                "(at most 32), several separated by ;",
            )
        )
    joined = ";".join(names)
    if len(joined) > MAX_SYSTEMS:
        problems.append(("systems", f"systems are longer than {MAX_SYSTEMS} characters"))
    return joined
