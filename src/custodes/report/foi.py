"""The transparency report: the campaigners' five questions answered exactly, with what they
overlap, line-coded, for a period, one force or several, and the data it was built from.

A report is computed from one or more HOMEs (a force's own Custodes, or a national body's HOME
into which each force's case file was imported). Each HOME's data is taken at an *as-of* ledger
size (:mod:`custodes.report.facts`); the report states that size, the ledger's root hash at it
and the newest signed checkpoint within it, and the case files it includes, so anyone can check
what it was built from and regenerate it, byte for byte, with ``--as-of``.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property, reduce
from pathlib import Path
from typing import Any

from custodes.cases import taxonomy
from custodes.cases.db import open_cases
from custodes.report import facts
from custodes.report.counting import (
    NOT_RECORDED,
    QUESTIONS,
    RESULTS,
    Counts,
    Incident,
    Period,
    ReportError,
    Split,
    count_force,
    counting_rules,
    empty_counts,
)
from custodes.store.ledger import record_actions
from custodes.store.store import open_store

TITLE = "Misuse of police data: incidents and outcomes"
UNITS = ("incidents", "persons", "person-outcomes", "sum", "share")


@dataclass(frozen=True)
class Source:
    """A HOME to report from: its case database, and the as-of size to take its data at
    (``latest``: everything recorded so far; ``checkpoint``: the newest signed checkpoint's
    size; or a ledger size, to regenerate an earlier report)."""

    home: Path
    db_url: str | None = None
    as_of: str = "latest"

    @property
    def label(self) -> str:
        """How cases without a force name are labelled: the HOME's directory name."""
        return self.home.resolve().name


@dataclass(frozen=True)
class Provenance:
    """What a HOME contributed, and at which state of its ledger."""

    source: str
    as_of: int
    ledger_root: str
    log: str | None
    checkpoint: dict[str, Any] | None
    imports: list[dict[str, Any]]
    worked_cases: int
    facts_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Line:
    code: str
    description: str
    unit: str
    officer: int | None
    staff: int | None
    total: int | float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split_line(code: str, description: str, unit: str, split: Split) -> Line:
    return Line(code, description, unit, split.officer, split.staff, split.total)


def _total_line(code: str, description: str, unit: str, total: int | float | None) -> Line:
    return Line(code, description, unit, None, None, total)


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class FoiReport:
    period: Period
    forces: tuple[str, ...]
    per_force: dict[str, Counts]
    provenance: tuple[Provenance, ...]

    @cached_property
    def total(self) -> Counts:
        """The figures of every force of the report, added up."""
        return reduce(
            lambda a, b: a + b, (self.per_force[f] for f in self.forces), empty_counts(self.period)
        )

    @property
    def subtitle(self) -> str:
        where = ", ".join(self.forces) if self.forces else "no force"
        return f"{where}: incidents dated {self.period.start} to {self.period.end} (inclusive)"

    def overlap_statement(self, counts: Counts | None = None) -> str:
        counts = counts or self.total
        return (
            "The five answers overlap and must not be added up. The first four count persons, "
            "each once per question, and one person can be in several (convicted, dismissed "
            "and resigned over the same incident); the fifth counts incidents, not persons. "
            f"Added up they make {counts.naive_sum}, but the period had "
            f"{plural(counts.incidents.total, 'distinct incident')} involving "
            f"{plural(counts.persons.total, 'distinct person')}."
        )

    def lines(self, counts: Counts | None = None) -> list[Line]:
        """Every figure, line-coded (docs/report.md lists the codes)."""
        c = counts or self.total
        lines = [
            _split_line("A1", "Incidents in the period (concluded)", "incidents", c.incidents),
            _split_line("A2", "Persons involved (distinct)", "persons", c.persons),
            _split_line(
                "A3", "Outcomes given (person-outcomes)", "person-outcomes", c.person_outcomes
            ),
            _total_line(
                "A4",
                "Incidents in the period still being worked (not counted above)",
                "incidents",
                c.in_progress,
            ),
            _total_line(
                "A5",
                "Incidents without an incident date (in no period; not counted above)",
                "incidents",
                c.undated,
            ),
        ]
        for q in QUESTIONS:
            unit = q.unit
            lines.append(_split_line(q.line, q.label, unit, c.questions[q.key]))
        naive = Split(
            sum(c.questions[q.key].officer for q in QUESTIONS),
            sum(c.questions[q.key].staff for q in QUESTIONS),
            c.naive_sum,
        )
        lines.append(
            _split_line(
                "B6", "B1 to B5 added up: overlapping counts, not a count of anything", "sum", naive
            )
        )
        lines += [
            _split_line(
                "C1",
                "Incidents with formal action (someone answers B1 to B4)",
                "incidents",
                c.results["formal_action"],
            ),
            _split_line(
                "C2",
                "Incidents with no disciplinary action (as B5)",
                "incidents",
                c.results["no_disciplinary_action"],
            ),
            _split_line(
                "C3",
                "Incidents whose outcome was not provided",
                "incidents",
                c.results["not_provided"],
            ),
            _total_line(
                "C4",
                "Share of incidents with no formal action (C2 / A1)",
                "share",
                share(c.results["no_disciplinary_action"].total, c.incidents.total),
            ),
            _total_line(
                "C5",
                "Share of incidents whose outcome was not provided (C3 / A1)",
                "share",
                share(c.results["not_provided"].total, c.incidents.total),
            ),
            _split_line(
                "D1", "Not provided: incidents (as C3)", "incidents", c.results["not_provided"]
            ),
            _split_line(
                "D2",
                "Not provided: persons with no known outcome (none of B1 to B4)",
                "persons",
                c.not_provided_persons,
            ),
            _split_line(
                "D3", "Not provided: person-outcomes", "person-outcomes", c.not_provided_outcomes
            ),
        ]
        for breach, split in _breach_items(c):
            label = taxonomy.BREACH_LABELS.get(breach, "breach type not recorded")
            lines.append(_split_line(f"E.{breach}", f"Incidents: {label}", "incidents", split))
        for system, split in _system_items(c):
            label = "with no system recorded" if system == NOT_RECORDED else f"involving {system}"
            lines.append(_split_line(f"F.{system}", f"Incidents {label}", "incidents", split))
        for item in taxonomy.OUTCOMES:
            lines.append(
                _split_line(
                    f"G.{item.code}",
                    f"Outcome given: {item.label}",
                    "person-outcomes",
                    c.by_outcome[item.code],
                )
            )
        for month in self.period.months():
            lines.append(
                _split_line(
                    f"H.{month}",
                    f"Incidents dated in {_month_name(month)}",
                    "incidents",
                    c.by_month[month],
                )
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data; the keys of docs/report.md."""
        c = self.total
        data: dict[str, Any] = {
            "report": "foi",
            "title": TITLE,
            "subtitle": self.subtitle,
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "forces": list(self.forces),
            "counting_rules": counting_rules(),
            "overlap_statement": self.overlap_statement(),
            "distinct_incidents": c.incidents.total,
            "distinct_persons": c.persons.total,
            "naive_sum": c.naive_sum,
            "incidents": c.incidents.to_dict(),
            "persons": c.persons.to_dict(),
            "person_outcomes": c.person_outcomes.to_dict(),
            "incidents_by_result": {r: c.results[r].to_dict() for r in RESULTS},
            "share_no_formal_action": share(
                c.results["no_disciplinary_action"].total, c.incidents.total
            ),
            "not_provided": {
                "incidents": c.results["not_provided"].to_dict(),
                "persons": c.not_provided_persons.to_dict(),
                "person_outcomes": c.not_provided_outcomes.to_dict(),
            },
            "incidents_in_progress": c.in_progress,
            "incidents_undated": c.undated,
            "breakdowns": breakdowns(c, self.period),
            "lines": [line.to_dict() for line in self.lines()],
            "provenance": [p.to_dict() for p in self.provenance],
        }
        for q in QUESTIONS:
            split = c.questions[q.key]
            data[q.key] = {"officer": split.officer, "staff": split.staff}
        return data


def breakdowns(c: Counts, period: Period) -> dict[str, list[dict[str, Any]]]:
    return {
        "breach_type": [{"breach_type": b, "incidents": s.to_dict()} for b, s in _breach_items(c)],
        "system": [{"system": name, "incidents": s.to_dict()} for name, s in _system_items(c)],
        "outcome": [
            {
                "outcome": item.code,
                "label": item.label,
                "track": item.track,
                "person_outcomes": c.by_outcome[item.code].to_dict(),
                "persons": c.by_outcome_persons[item.code].to_dict(),
            }
            for item in taxonomy.OUTCOMES
        ],
        "month": [
            {
                "month": month,
                "incidents": c.by_month[month].to_dict(),
                **{r: c.month_result(month, r) for r in RESULTS},
            }
            for month in period.months()
        ],
    }


def _breach_items(c: Counts) -> list[tuple[str, Split]]:
    order = [*taxonomy.BREACH_TYPES, NOT_RECORDED]
    return [(b, c.by_breach_type[b]) for b in order if b in c.by_breach_type]


def _system_items(c: Counts) -> list[tuple[str, Split]]:
    names = sorted(s for s in c.by_system if s != NOT_RECORDED)
    if NOT_RECORDED in c.by_system:
        names.append(NOT_RECORDED)
    return [(s, c.by_system[s]) for s in names]


def _month_name(month: str) -> str:
    year, number = month.split("-")
    return f"{calendar.month_name[int(number)]} {year}"


# building ---------------------------------------------------------------------------------------


def build_report(
    sources: list[Source], period: Period, forces: list[str] | None = None
) -> FoiReport:
    """Compute the report over ``sources`` (one or more HOMEs), for ``forces`` (default: every
    force with cases). A force found in two HOMEs is refused: its people would be counted twice.
    """
    if not sources:
        raise ReportError("give at least one --home")
    per_force: dict[str, Counts] = {}
    found_in: dict[str, Path] = {}
    known: set[str] = set()
    provenance = []
    for source in sources:
        counts, source_known, origin = _gather(source, period)
        provenance.append(origin)
        known |= source_known
        for force, force_counts in counts.items():
            if force in found_in:
                raise ReportError(
                    f"force {force!r} has cases in {found_in[force]} and in {source.home}: its "
                    "people would be counted twice; import its cases into one HOME"
                )
            found_in[force] = source.home
            per_force[force] = force_counts
    if forces:
        unknown = sorted(set(forces) - known)
        if unknown:
            raise ReportError(
                f"no cases of force {', '.join(map(repr, unknown))}; forces with cases: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
        chosen = sorted(set(forces))
    else:
        chosen = sorted(per_force)
    for force in chosen:
        per_force.setdefault(force, empty_counts(period))
    return FoiReport(period, tuple(chosen), {f: per_force[f] for f in chosen}, tuple(provenance))


def _gather(source: Source, period: Period) -> tuple[dict[str, Counts], set[str], Provenance]:
    home = source.home
    if not (home / "catalog.sqlite").exists():
        raise ReportError(
            f"{home}: no Custodes store here; import a case file first "
            f"(custodes cases import FILE --home {home})"
        )
    store = open_store(home)
    db = open_cases(home, source.db_url)
    try:
        size = store.catalog.ledger_size()
        checkpoints = store.catalog.checkpoints()
        with db.session() as session:
            as_of = _resolve(source, size, session, checkpoints)
            snapshot = facts.snapshot(session, period, as_of, source.label)
            imports = facts.imports_before(session, as_of)
            worked = facts.worked_cases_before(session, as_of)
            known = facts.known_forces(session, source.label)
        with store.read_tree() as tree:
            root = tree.root(as_of).hex()
        identity = store.catalog.log_identity()
    finally:
        db.close()
        store.close()
    within = [c for c in checkpoints if c.size <= as_of]
    checkpoint = (
        {"seq": within[-1].seq, "size": within[-1].size, "root": within[-1].root.hex()}
        if within
        else None
    )
    counts = {
        force: count_force(
            snapshot.incidents.get(force, []),
            period,
            in_progress=snapshot.in_progress.get(force, 0),
            undated=snapshot.undated.get(force, 0),
        )
        for force in snapshot.forces
    }
    digest = facts_digest(snapshot.incidents)
    origin = Provenance(
        source.label,
        as_of,
        root,
        identity[0] if identity else None,
        checkpoint,
        imports,
        worked,
        digest,
    )
    return counts, known, origin


def facts_digest(incidents: dict[str, list[Incident]]) -> str:
    """A SHA-256 of the incidents a report counted, in a canonical form: equal digests, equal
    data."""
    canonical = [
        [
            i.force,
            i.reference,
            i.incident_date.isoformat(),
            [[p.person_ref, p.role, list(p.codes)] for p in i.people],
            list(i.breach_types),
            list(i.systems),
        ]
        for force in sorted(incidents)
        for i in incidents[force]
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def _resolve(source: Source, size: int, session: Any, checkpoints: list[Any]) -> int:
    spec = source.as_of.strip().lower()
    if spec == "latest":
        return facts.data_size(session, size)
    if spec == "checkpoint":
        if not checkpoints:
            raise ReportError(
                f"{source.home}: no signed checkpoint yet (custodes ledger checkpoint), so "
                "--as-of checkpoint has nothing to use; use --as-of latest"
            )
        return int(checkpoints[-1].size)
    try:
        value = int(spec)
    except ValueError:
        raise ReportError(
            f"--as-of {source.as_of!r} is not latest, checkpoint or a ledger size"
        ) from None
    if not 0 <= value <= size:
        raise ReportError(
            f"--as-of {value} is not a size of the ledger of {source.home} (0 to {size})"
        )
    return value


def record_generation(
    report: FoiReport, sources: list[Source], view: str, fmt: str, content: bytes
) -> list[int]:
    """Record in each HOME's ledger that this report was generated (kind ``report_generated``);
    returns the leaves. Done after the report is computed, so it is not part of its data."""
    leaves = []
    for source, origin in zip(sources, report.provenance, strict=True):
        events = record_actions(
            source.home,
            [
                (
                    "report_generated",
                    {
                        "report": view,
                        "format": fmt,
                        "period_from": report.period.start.isoformat(),
                        "period_to": report.period.end.isoformat(),
                        "forces": ";".join(report.forces),
                        "as_of": origin.as_of,
                        "facts_sha256": origin.facts_sha256,
                        "sha256": hashlib.sha256(content).hexdigest(),
                    },
                )
            ],
        )
        leaves.append(events[0].leaf_index)
    return leaves
