"""Generate a synthetic force: the whole pipeline, from people to a written bundle and its truth.

The reference data (people, organisation, operations, the misuse plan) is built in memory first;
then the access events are made, merged, numbered and written one day at a time, so memory stays
bounded however long the window is. Every random draw comes from a stream derived from the seed,
so the same arguments always give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from custodes.bundle.contract import BUNDLE_VERSION, TABLES, TABLES_BY_NAME
from custodes.synth import reference
from custodes.synth.activity import LEGITIMATE_RECIPIENTS, PURPOSES, Activity
from custodes.synth.base import Stage, Window, prefixed_numbers, stream
from custodes.synth.behaviour import Force
from custodes.synth.events import EventBatch
from custodes.synth.formatting import Lookups, format_events, record_references
from custodes.synth.linkage import make_linkage
from custodes.synth.misuse import MisusePlan
from custodes.synth.operations import make_operations
from custodes.synth.organisation import ROLE, make_workforce, terminals
from custodes.synth.population import (
    SUBJECTS_PER_EMPLOYEE,
    SUBJECTS_PER_POSTCODE,
    make_geography,
    make_subjects,
)
from custodes.synth.roster import Roster
from custodes.synth.scenarios import scenario_counts
from custodes.synth.truth import HardNegatives, TruthWriter
from custodes.synth.workplan import Context
from custodes.synth.writer import Format, TableSink, remove_bundle, write_table

MIN_WORKFORCE = 20
SETUP_STEPS = 5  # people, organisation, operations, misuse plan, reference tables
DEFAULT_START = dt.date(2026, 1, 5)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SynthSummary:
    """What a run wrote: rows per table, events by kind, and how long it took."""

    out: str
    workforce: int
    days: int
    seed: int
    start: str
    fmt: str
    rows: dict[str, int]  # rows written per bundle table
    events: int
    misuse_events: dict[str, int]  # per scenario
    misuse_instances: dict[str, int]  # per scenario
    noise_events: int
    hard_negative_events: int  # distinct events that are a hard negative of some kind
    explainable_share: float  # events explainable from the bundle, of all events
    seconds: float

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe copy (plain str, int, float, dict)."""
        return asdict(self)


def generate(
    out: Path,
    *,
    workforce: int,
    days: int,
    seed: int,
    start: dt.date = DEFAULT_START,
    fmt: Format = "csv",
    on_progress: Progress | None = None,
    misuse_scale: float = 1.0,
) -> SynthSummary:
    """Write a synthetic force bundle of ``workforce`` people over ``days`` days to ``out``.

    Tables go to ``out/NAME.csv`` (or ``.parquet``), ground truth to ``out/truth/``. Files of an
    earlier bundle in ``out`` are replaced. ``on_progress(done, total)`` is called after each of
    the setup steps and after each day written. ``misuse_scale`` multiplies the misuse rate
    (1.0: about 1% of the workforce per month; 0.5 is a realistic base rate); every scenario
    still happens at least once.
    """
    _check(workforce, days, seed, start, fmt)
    if (
        not isinstance(misuse_scale, int | float)
        or isinstance(misuse_scale, bool)
        or not (0 < misuse_scale <= 10)
    ):
        raise ValueError(f"misuse_scale must be a number in (0, 10]; got {misuse_scale!r}")
    began = time.perf_counter()
    total = SETUP_STEPS + days

    def report(done: int) -> None:
        if on_progress is not None:
            on_progress(done, total)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_bundle(out, tuple(t.name for t in TABLES))
    window = Window(start, days)
    counts = scenario_counts(workforce, days, misuse_scale)
    force = _build_force(seed, window, workforce, counts, report)
    plan = MisusePlan(seed, force, counts)
    report(4)
    ids = _Identifiers.of(force)
    rows = _write_reference(out, fmt, force, ids)
    report(5)

    lookups = Lookups.build(
        window,
        force.subjects,
        ids.subjects,
        person_ids=ids.people,
        records=record_references(
            stream(seed, Stage.RECORD_REFERENCES), window, force.subjects, force.ops
        ),
        purposes=pa.array(PURPOSES, pa.string()),
        operation_ids=ids.ops,
        recipients=pa.array([*LEGITIMATE_RECIPIENTS, *plan.recipients], pa.string()),
        terminals=pa.array(ids.terminals, pa.string()),
    )
    wf = force.workforce
    per_unit = np.diff(np.append(force.unit_terminal_base, len(ids.terminals)))
    activity = Activity(
        seed,
        force.ops,
        wf,
        force.roster,
        len(force.subjects),
        force.usual_terminal,
        force.unit_terminal_base,
        per_unit,
        conflicts=np.array(
            sorted(k.person * (len(force.subjects) + 1) + k.subject for k in force.linkage.links),
            dtype=np.int64,
        ),
    )
    hard = HardNegatives.build(force.units, wf, force.subjects, force.linkage)
    truth = TruthWriter(out / "truth", window, hard)
    truth.roster_day(force.roster, -1, ids.people)  # last night's shift runs into day one
    events = 0
    columns = TABLES_BY_NAME["access_events"].names
    with TableSink(out / f"access_events.{fmt}", columns, fmt) as sink:
        for day in range(days):
            batch = EventBatch.concat([activity.day(day), plan.day(day)]).in_time_order()
            formatted = format_events(batch, events + 1, window, day, lookups)
            sink.write(formatted)
            truth.day(batch, formatted, plan.instances)
            truth.roster_day(force.roster, day, ids.people)
            events += len(batch)
            report(SETUP_STEPS + day + 1)
    rows["access_events"] = events

    found = truth.counts()
    instances = dict.fromkeys(counts, 0)
    for instance in plan.instances:
        instances[instance.scenario] += 1
    explained = sum(found["explained_events"].values())
    share = round(explained / events, 6) if events else 0.0
    manifest: dict[str, object] = {
        "generator": "custodes.synth",
        "bundle_version": BUNDLE_VERSION,
        "parameters": {
            "seed": seed,
            "workforce": workforce,
            "days": days,
            "start": start.isoformat(),
            "end": window.date(days - 1).isoformat(),
            "format": fmt,
            "subjects_per_employee": SUBJECTS_PER_EMPLOYEE,
            "misuse_scale": misuse_scale,
        },
        "rows": rows,
        "events": events,
        "explainable_share": share,
        "misuse_instances": instances,
        **found,
    }
    truth.finish(
        plan.instances,
        plan.events_per_instance(),
        ids.people,
        ids.subjects,
        force.linkage,
        manifest,
    )
    return SynthSummary(
        out=str(out),
        workforce=workforce,
        days=days,
        seed=seed,
        start=start.isoformat(),
        fmt=fmt,
        rows=rows,
        events=events,
        misuse_events=found["misuse_events"],
        misuse_instances=instances,
        noise_events=sum(found["noise_events"].values()),
        hard_negative_events=truth.hard_negative_events,
        explainable_share=share,
        seconds=round(time.perf_counter() - began, 3),
    )


def _check(workforce: int, days: int, seed: int, start: dt.date, fmt: str) -> None:
    if isinstance(workforce, bool) or not isinstance(workforce, int) or workforce < MIN_WORKFORCE:
        raise ValueError(
            f"workforce must be a whole number of at least {MIN_WORKFORCE} people "
            f"(every kind of unit needs someone in it); got {workforce!r}"
        )
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1; got {days!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number of 0 or more; got {seed!r}")
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise ValueError(f"start must be a datetime.date, the first day covered; got {start!r}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet'; got {fmt!r}")


def _build_force(
    seed: int,
    window: Window,
    size: int,
    counts: dict[str, int],
    report: Callable[[int], None],
) -> Force:
    """People, organisation, roster and operations: everything but the events."""
    rng = stream(seed, Stage.POPULATION)
    n_subjects = SUBJECTS_PER_EMPLOYEE * size
    geography = make_geography(rng, max(30, n_subjects // SUBJECTS_PER_POSTCODE))
    subjects = make_subjects(rng, geography, n_subjects)
    report(1)

    units, wf = make_workforce(
        stream(seed, Stage.ORGANISATION),
        window,
        geography,
        subjects,
        size,
        min_leavers=counts["leaver_access"] + 1,
        ghosts=counts["unknown_account"],
    )
    linkage = make_linkage(
        stream(seed, Stage.LINKAGE),
        window,
        geography,
        wf,
        subjects,
        min_self=counts["self"] + counts["colleague"] + 2,
        min_family=counts["family"] + 1,
        min_ex=counts["ex_partner"] + 1,
    )
    # Records are numbered in an order unrelated to how they were made, so that employees'
    # records do not sit at the end of the table and households are not runs of identifiers.
    order = stream(seed, Stage.SUBJECT_ORDER).permutation(len(subjects)).astype(np.int64)
    subjects.reorder(order)
    linkage.renumber(np.argsort(order).astype(np.int64))
    overtime = np.isin(wf.role, [ROLE["officer"], ROLE["staff"]])
    roster = Roster(
        seed, window, wf.pattern, wf.offset, wf.start_minutes, wf.joined, wf.left, overtime
    )
    report(2)

    ops = make_operations(Context(seed, window, roster, units, wf, subjects, linkage))
    report(3)
    _, terminal_base, usual = terminals(units, wf)
    return Force(window, units, wf, subjects, geography, linkage, ops, roster, usual, terminal_base)


@dataclass(frozen=True, eq=False)
class _Identifiers:
    """The identifiers every table refers to, made once."""

    people: pa.Array  # workforce, then accounts unknown to HR
    subjects: pa.Array
    ops: pa.Array
    terminals: list[str]

    @classmethod
    def of(cls, force: Force) -> _Identifiers:
        wf = force.workforce
        width = max(7, len(str(len(force.subjects))))
        return cls(
            people=pa.array([*wf.ids, *wf.ghost_ids], pa.string()),
            subjects=prefixed_numbers("S", np.arange(1, len(force.subjects) + 1), width),
            ops=pa.array(force.ops.ids(), pa.string()),
            terminals=terminals(force.units, wf)[0],
        )


def _write_reference(out: Path, fmt: Format, force: Force, ids: _Identifiers) -> dict[str, int]:
    """Write every table but the access events; returns rows per table."""
    window, wf, geography = force.window, force.workforce, force.geography
    builders: dict[str, Callable[[], reference.Columns]] = {
        "units": lambda: reference.units_table(force.units),
        "workforce": lambda: reference.workforce_table(window, force.units, wf, geography),
        "relations": lambda: reference.relations_table(window, wf, force.linkage, geography),
        "subjects": lambda: reference.subjects_table(
            window, force.subjects, ids.subjects, geography
        ),
        "operations": lambda: reference.operations_table(window, force.ops, ids.ops, force.units),
        "operation_subjects": lambda: reference.operation_subjects_table(
            force.ops, ids.ops, ids.subjects
        ),
        "assignments": lambda: reference.assignments_table(window, force.ops, ids.ops, ids.people),
    }
    return {
        name: write_table(out / f"{name}.{fmt}", TABLES_BY_NAME[name].names, build(), fmt)
        for name, build in builders.items()
    }
