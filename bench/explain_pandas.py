"""The explanation step written as an analyst would in plain pandas, timed and held against
custodes's own result for the same store.

    python bench/explain_pandas.py --home HOME [--detect] [--memory-limit-gb 20]
        [--chunk-events 1000000 | --chunks N] [--paired-looks remaining|all] [--out FILE]

The store's tables are read into pandas (through the store's DuckDB views, so both read the same
rows); the explanation itself is pandas only: merges, boolean masks, group-bys, sort and
drop_duplicates for the best template per event. It reads the templates from
``custodes.explain.templates`` and follows ``custodes/explain/paths.py`` and ``run.py`` condition
by condition, including the order in which ``run.py`` tries them (tier by tier: a circumstantial
template counts repeated looks among the events its tier still sees), so the two results can be
compared event by event. Missing keys never match in a merge here, as in SQL (pandas would
match NaN to NaN): rows with a missing key are dropped before merging where one can occur.

Events are explained a slice of the people at a time (``--chunk-events``, about a million
events a slice; an event's explanation depends only on its person's events and the reference
tables, so the result is the same), which bounds memory at ten million events.

Custodes's result is read from ``HOME/derived/explain/explanations.parquet`` (``--detect`` runs
``custodes detect --full --json`` first and reports its timings). Prints one JSON object: seconds
per stage, peak RSS, and the agreement (events both explain, events whose template differs,
counts per template side by side).

The work runs in a child process watched by this one: if it passes ``--memory-limit-gb`` or is
killed (the kernel's OOM killer), the JSON says so and names the stage it had reached.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow.parquet as pq

from custodes.explain.paths import LONGEST_REACH, MIN_LOOKS, RETURN_AFTER
from custodes.explain.run import RESULT, STATE
from custodes.explain.templates import (
    DISCLOSING_ACTIONS,
    KNOWN_RECIPIENTS,
    TEMPLATES,
    UNEXPLAINED,
    Template,
)
from custodes.explain.templates import (
    Path as Via,
)

STAGE_PREFIX = "stage: "
RESULT_COLUMNS = [
    "event_id",
    "explanation",
    "operation_id",
    "role",
    "via_search",
    "weak_explanation",
]
# As run.py's _least (pandas sorts a missing role last, as _least does).
BEST_ORDER = ["rank", "via_search", "operation_id", "role", "template"]
MATCH_COLUMNS = ["event_id", "operation_id", "role", "via_search", "template", "rank", "weak"]


# ------------------------------------------------------------------------------------------
# Loading: the store's current rows, as DataFrames


@dataclass
class Tables:
    """The columns of the store's tables that the templates read."""

    events: pd.DataFrame
    workforce: pd.DataFrame
    units: pd.DataFrame
    subjects: pd.DataFrame
    operations: pd.DataFrame
    links: pd.DataFrame  # operation_subjects
    assignments: pd.DataFrame


QUERIES = {
    "events": "SELECT event_id, ts, person_id, subject_id, action, recipient, operation_ref, "
    "query FROM access_events",
    "workforce": 'SELECT person_id, unit_id, joined, "left" FROM workforce',
    "units": "SELECT unit_id, kind FROM units",
    "subjects": "SELECT subject_id, surname, forenames, date_of_birth FROM subjects",
    "operations": "SELECT operation_id, kind, opened, closed, unit_id FROM operations",
    "links": "SELECT operation_id, subject_id, role FROM operation_subjects",
    "assignments": 'SELECT operation_id, person_id, start, "end" FROM assignments',
}


def load(home: Path) -> Tables:
    """Each table's current rows (the newest version of reference rows, erased events left out:
    the store's views say which), with timestamps as naive UTC and dates as datetimes."""
    from custodes.store import open_store

    frames: dict[str, pd.DataFrame] = {}
    with open_store(home) as store:
        for name, sql in QUERIES.items():
            frame = store.db.execute(sql).to_arrow_table().to_pandas(date_as_object=False)
            for column in frame.columns:
                if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                    frame[column] = frame[column].dt.tz_convert(None)
            frames[name] = frame
    return Tables(**frames)


# ------------------------------------------------------------------------------------------
# Reference tables, joined once


def operations_with_units(t: Tables) -> pd.DataFrame:
    return t.operations.rename(
        columns={"kind": "operation_kind", "unit_id": "operation_unit"}
    ).merge(
        t.units.rename(columns={"unit_id": "operation_unit", "kind": "operation_unit_kind"}),
        on="operation_unit",
        how="left",
    )


@dataclass
class Reference:
    """Reference tables joined once, before any event is explained."""

    tables: Tables
    operations: pd.DataFrame  # with the owning unit's kind
    owned: pd.DataFrame  # operation_subjects with their operation
    assigned_subjects: pd.DataFrame  # each assignment with each subject of its operation
    attended: pd.DataFrame  # per operation: first recorded attendance, end of the last
    colleagues: pd.DataFrame  # each assignment with the assignee's unit
    named: pd.DataFrame  # each subject as a search query names them

    @classmethod
    def of(cls, t: Tables) -> Reference:
        operations = operations_with_units(t)
        a = t.assignments
        return cls(
            t,
            operations,
            t.links.merge(operations, on="operation_id"),
            a.merge(t.links, on="operation_id"),
            a.groupby("operation_id", as_index=False).agg(
                first_start=("start", "min"), last_end=("end", "max")
            ),
            a.rename(columns={"person_id": "colleague_id"}).merge(
                t.workforce[["person_id", "unit_id"]].rename(
                    columns={"person_id": "colleague_id", "unit_id": "colleague_unit"}
                ),
                on="colleague_id",
            ),
            pd.DataFrame(
                {
                    "named_subject": t.subjects["subject_id"],
                    "q_surname": t.subjects["surname"].str.upper(),
                    "q_forename": t.subjects["forenames"].str.split(" ").str[0].str.upper(),
                    "q_dob": t.subjects["date_of_birth"].dt.strftime("%Y-%m-%d"),
                }
            ),
        )


# ------------------------------------------------------------------------------------------
# The looks: employed people's events, each with the subject it looked at


def employed_events(t: Tables, events: pd.DataFrame) -> pd.DataFrame:
    """Events of a person employed that day (joined .. the morning after they left), with their
    unit and its kind; a disclosure or export to anyone but a known partner is left out."""
    people = t.workforce.rename(columns={"unit_id": "person_unit"}).merge(
        t.units.rename(columns={"unit_id": "person_unit", "kind": "unit_kind"}),
        on="person_unit",
        how="left",
    )
    e = events.merge(people, on="person_id")
    day = e["ts"].dt.normalize()
    last_morning = (day == e["left"] + pd.Timedelta(days=1)) & (e["ts"].dt.hour < 8)
    employed = (e["joined"] <= day) & (e["left"].isna() | (day <= e["left"]) | last_morning)
    recipient_ok = ~e["action"].isin(DISCLOSING_ACTIONS) | e["recipient"].isin(KNOWN_RECIPIENTS)
    keep = employed & recipient_ok
    return e[keep].assign(day=day[keep]).drop(columns=["joined", "left", "recipient"])


def _query_field(query: pd.Series, pattern: str) -> pd.Series:
    """A ``name=value`` field of a search query: '' when the query lacks it, missing when there
    is no query (as SQL's regexp_extract)."""
    return query.str.extract(pattern, expand=False).fillna("").where(query.notna())


def looks(ref: Reference, e: pd.DataFrame) -> pd.DataFrame:
    """Each event with the subject it looked at; a name search that found nobody, with each
    subject its query names (``via_search``) when it names one person. ``specific`` is False
    for a vague search and missing for a search without a query (SQL's three-valued logic)."""
    query = e["query"]
    q_surname = _query_field(query, r"(?:^|;)surname=([^;]*)").str.upper()
    q_forename = _query_field(query, r"(?:^|;)forenames=([^; ]*)").str.upper()
    q_dob = _query_field(query, r"(?:^|;)dob=([0-9-]*)")
    not_search = e["action"] != "search"
    names_one = query.notna() & ((q_forename.str.len() > 1) | (q_dob != ""))
    specific = pd.Series(not_search | names_one, index=e.index, dtype="boolean")
    specific[~not_search & query.isna()] = pd.NA
    e = e.assign(specific=specific)

    columns = ["event_id", "person_id", "subject_id", "ts", "day", "operation_ref"]
    columns += ["person_unit", "unit_kind", "specific", "via_search"]
    direct = e[e["subject_id"].notna()].assign(via_search=False)
    is_search = (
        e["subject_id"].isna()
        & query.notna()
        & (e["action"] == "search")
        & e["specific"].fillna(False)
        & (q_surname != "")
    )
    searches = e[is_search].assign(
        q_surname=q_surname[is_search], q_forename=q_forename[is_search], q_dob=q_dob[is_search]
    )
    named = ref.named
    # A specific search gives a forename or a date of birth or both; each form is matched on
    # the fields it gives (matching on the surname alone first would pair a search for a
    # common surname with thousands of subjects).
    gives_forename, gives_dob = searches["q_forename"] != "", searches["q_dob"] != ""
    found = pd.concat(
        [
            searches[gives_forename & gives_dob].merge(
                named, on=["q_surname", "q_forename", "q_dob"]
            ),
            searches[gives_forename & ~gives_dob].merge(
                named.drop(columns="q_dob"), on=["q_surname", "q_forename"]
            ),
            searches[~gives_forename & gives_dob].merge(
                named.drop(columns="q_forename"), on=["q_surname", "q_dob"]
            ),
        ],
        ignore_index=True,
    )
    found = found.assign(subject_id=found["named_subject"], via_search=True)
    return pd.concat([direct[columns], found[columns]], ignore_index=True)


# ------------------------------------------------------------------------------------------
# The paths (one function per kind, as paths.py)


def _within(c: pd.DataFrame, start: str, end: str, template: Template) -> pd.Series:
    return (c["ts"] >= c[start] - template.before) & (
        c[end].isna() | (c["ts"] <= c[end] + template.after)
    )


def _days(span: timedelta) -> pd.Timedelta:
    return pd.Timedelta(days=max(0, span.days))


def _kind_ok(values: pd.Series, kinds: tuple[str, ...]) -> pd.Series:
    return values.isin(kinds) if kinds else pd.Series(True, index=values.index)


def _recent(c: pd.DataFrame, template: Template) -> pd.Series:
    assert template.recent is not None
    return (c["day"] >= c["opened"]) & (c["day"] <= c["opened"] + _days(template.recent))


def match(rows: pd.DataFrame, template: Template) -> pd.DataFrame:
    """The rows as matches of ``template``. Circumstantial evidence counts only when the person
    looked at the operation's subjects twice that day (or, ``comes_back``, 15 minutes apart),
    and never for a vague name search: otherwise the match is weak."""
    weak = pd.Series(template.weak_only, index=rows.index, dtype="boolean")
    if template.circumstantial and not template.weak_only:
        by = rows.groupby(["person_id", "day", "operation_id"], sort=False)
        if template.comes_back:
            repeated = (by["ts"].transform("max") - by["ts"].transform("min")) >= RETURN_AFTER
        else:
            repeated = by["event_id"].transform("nunique") >= MIN_LOOKS
        weak = ~repeated | ~rows["specific"]
    return rows.assign(template=template.name, rank=template.rank, weak=weak)[MATCH_COLUMNS]


def named_operation(ref: Reference, looked: pd.DataFrame, template: Template) -> pd.DataFrame:
    named = looked[looked["operation_ref"].notna()].merge(
        ref.owned, left_on=["operation_ref", "subject_id"], right_on=["operation_id", "subject_id"]
    )
    assigned = named.merge(ref.tables.assignments, on=["operation_id", "person_id"])
    by_assignment = assigned[_within(assigned, "start", "end", template)][named.columns]
    by_unit = named[
        named["operation_unit"].notna() & (named["operation_unit"] == named["person_unit"])
    ]
    return match(pd.concat([by_assignment, by_unit], ignore_index=True), template)


def assignment(ref: Reference, looked: pd.DataFrame, template: Template) -> pd.DataFrame:
    """The person's assignments to operations involving the subject, around the time (joined
    on person and subject at once: person alone would pair every look with every assignment)."""
    mine = looked.merge(ref.assigned_subjects, on=["person_id", "subject_id"])
    return match(mine[_within(mine, "start", "end", template)], template)


def unit(ref: Reference, looked: pd.DataFrame, template: Template) -> pd.DataFrame:
    mine = looked[_kind_ok(looked["unit_kind"], template.unit_kinds)]
    if template.same_unit_kind:
        keys = (["subject_id", "unit_kind"], ["subject_id", "operation_unit_kind"])
        mine = mine[mine["unit_kind"].notna()]
    else:
        keys = (["subject_id", "person_unit"], ["subject_id", "operation_unit"])
        mine = mine[mine["person_unit"].notna()]
    c = mine.merge(ref.owned, left_on=keys[0], right_on=keys[1])
    open_then = (c["day"] >= c["opened"]) & (
        c["closed"].isna() | (c["day"] <= c["closed"] + _days(template.after))
    )
    return match(c[_kind_ok(c["operation_kind"], template.operation_kinds) & open_then], template)


def candidates(ref: Reference, looked: pd.DataFrame, kinds: list[str] | None) -> pd.DataFrame:
    """Each look paired with the operations involving its subject around that time."""
    owned = ref.owned if kinds is None else ref.owned[ref.owned["operation_kind"].isin(kinds)]
    pairs = looked.merge(owned, on="subject_id")
    around = (pairs["day"] >= pairs["opened"] - pd.Timedelta(days=1)) & (
        pairs["closed"].isna() | (pairs["day"] <= pairs["closed"] + _days(LONGEST_REACH))
    )
    return pairs[around]


def template_candidates(ref: Reference, looked: pd.DataFrame, template: Template) -> pd.DataFrame:
    """:func:`candidates` narrowed to what ``template`` can use (its kinds of unit and of
    operation, operations recent enough): filtered before pairing, not after."""
    if template.unit_kinds:
        looked = looked[looked["unit_kind"].isin(template.unit_kinds)]
    pairs = candidates(ref, looked, list(template.operation_kinds) or None)
    return pairs[_recent(pairs, template)] if template.recent is not None else pairs


def colleague(ref: Reference, pairs: pd.DataFrame, template: Template) -> pd.DataFrame:
    c = pairs[_kind_ok(pairs["operation_kind"], template.operation_kinds)]
    c = c.merge(ref.colleagues, on="operation_id")
    same_unit = (
        (c["colleague_id"] != c["person_id"])
        & c["person_unit"].notna()
        & (c["colleague_unit"] == c["person_unit"])
    )
    return match(c[same_unit & _within(c, "start", "end", template)], template)


def fresh_incident(ref: Reference, pairs: pd.DataFrame, template: Template) -> pd.DataFrame:
    fits = (
        _kind_ok(pairs["operation_kind"], template.operation_kinds)
        & _kind_ok(pairs["unit_kind"], template.unit_kinds)
        & _recent(pairs, template)
    )
    fresh = pairs[fits].merge(ref.attended, on="operation_id")
    return match(fresh[_within(fresh, "first_start", "last_end", template)], template)


def target(ref: Reference, pairs: pd.DataFrame, template: Template) -> pd.DataFrame:
    fits = (
        _kind_ok(pairs["operation_kind"], template.operation_kinds)
        & _kind_ok(pairs["unit_kind"], template.unit_kinds)
        & _recent(pairs, template)
    )
    return match(pairs[fits], template)


Builder = Callable[[Reference, pd.DataFrame, Template], pd.DataFrame]
DIRECT: dict[Via, Builder] = {
    Via.NAMED_OPERATION: named_operation,
    Via.ASSIGNMENT: assignment,
    Via.UNIT: unit,
}
FROM_PAIRS: dict[Via, Builder] = {
    Via.COLLEAGUE: colleague,
    Via.FRESH_INCIDENT: fresh_incident,
    Via.TARGET: target,
}


# ------------------------------------------------------------------------------------------
# Timing


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


class Stages:
    """Wall seconds (summed over chunks) and peak RSS so far at the end of each stage; each
    stage is announced on stderr as it starts, so a watcher knows where the work was."""

    def __init__(self, *, announce: bool = True) -> None:
        self.seconds: dict[str, float] = {}
        self.peaks: dict[str, float] = {}
        self.part = ""  # which chunk, for the announcement
        self.announce = announce

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.announce:
            print(STAGE_PREFIX + name + self.part, file=sys.stderr, flush=True)
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 2)
        self.peaks[name] = peak_rss_gb()


# ------------------------------------------------------------------------------------------
# The best explanation per event, tier by tier as run.py


def best(found: pd.DataFrame, per: list[str]) -> pd.DataFrame:
    """The best (lowest rank, then direct before via a search, then operation, then role) row
    of each group."""
    return found.sort_values(BEST_ORDER).drop_duplicates(per)


def explain_looks(
    ref: Reference, looked: pd.DataFrame, stage: Stages, paired_looks: str = "remaining"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The best strong and the best weak match of each look's event.

    ``paired_looks``: which looks the paired templates count as repeated: those of the events
    the direct templates left (``remaining``, what run.py does), or all of the person's looks
    that day (``all``, what docs/explain.md describes: "identical to trying every template on
    every event")."""
    strong: list[pd.DataFrame] = []
    weak: list[pd.DataFrame] = []
    explained: pd.Series | None = None

    def keep(found: pd.DataFrame) -> pd.Series:
        found = best(found[found["weak"].notna()], ["event_id", "weak"])
        strong.append(found[~found["weak"].astype(bool)])
        weak.append(found[found["weak"].astype(bool)])
        return strong[-1]["event_id"]

    for rank in sorted({t.rank for t in TEMPLATES if t.path in DIRECT}):
        tier = [t for t in TEMPLATES if t.rank == rank and t.path in DIRECT]
        with stage(f"rank {rank}: " + ", ".join(t.name for t in tier)):
            todo = looked if explained is None else looked[~looked["event_id"].isin(explained)]
            context = todo
            if explained is not None and any(t.circumstantial for t in tier):
                # Repeated looks are counted over all of the person's looks that day.
                days = todo[["person_id", "day"]].drop_duplicates()
                context = looked.merge(days, on=["person_id", "day"])
            found = pd.concat([DIRECT[t.path](ref, context, t) for t in tier], ignore_index=True)
            if context is not todo:
                found = found[found["event_id"].isin(todo["event_id"])]
            done = keep(found)
            explained = done if explained is None else pd.concat([explained, done])
    paired = [t for t in TEMPLATES if t.path in FROM_PAIRS]
    with stage("paired: " + ", ".join(t.name for t in paired)):
        remaining = looked if explained is None else looked[~looked["event_id"].isin(explained)]
        context = remaining
        if paired_looks == "all" and explained is not None:
            days = remaining[["person_id", "day"]].drop_duplicates()
            context = looked.merge(days, on=["person_id", "day"])
        found = pd.concat(
            [FROM_PAIRS[t.path](ref, template_candidates(ref, context, t), t) for t in paired],
            ignore_index=True,
        )
        if context is not remaining:
            found = found[found["event_id"].isin(remaining["event_id"])]
        keep(found)
    return pd.concat(strong, ignore_index=True), pd.concat(weak, ignore_index=True)


def explain(
    t: Tables, stage: Stages | None = None, chunks: int = 1, paired_looks: str = "remaining"
) -> pd.DataFrame:
    """One row per event: its best template (or ``unexplained``), the operation and role that
    explain it, whether through a name search, and an unexplained event's weak explanation.

    With ``chunks`` > 1 the events are explained a share of the people at a time (an event's
    explanation depends only on its person's looks and the reference tables): less memory."""
    stage = stage or Stages(announce=False)
    with stage("reference"):
        ref = Reference.of(t)
    strong: list[pd.DataFrame] = []
    weak: list[pd.DataFrame] = []
    share = pd.util.hash_array(t.events["person_id"].to_numpy()) % chunks
    for part in range(chunks):
        stage.part = f" [{part + 1}/{chunks}]" if chunks > 1 else ""
        with stage("looks"):
            looked = looks(ref, employed_events(t, t.events[share == part]))
        s, w = explain_looks(ref, looked, stage, paired_looks)
        strong.append(s)
        weak.append(w)
    stage.part = ""
    with stage("result"):
        best_strong = pd.concat(strong, ignore_index=True).drop(columns=["rank", "weak"])
        best_weak = best(pd.concat(weak, ignore_index=True), ["event_id"])
        result = t.events[["event_id"]].merge(best_strong, on="event_id", how="left")
        result["explanation"] = result["template"].fillna(UNEXPLAINED)
        result["via_search"] = result["via_search"].fillna(False).astype(bool)
        result = result.merge(
            best_weak[["event_id", "template"]].rename(columns={"template": "weak_explanation"}),
            on="event_id",
            how="left",
        )
        result["weak_explanation"] = result["weak_explanation"].where(
            result["explanation"] == UNEXPLAINED
        )
        return result[RESULT_COLUMNS]


# ------------------------------------------------------------------------------------------
# Comparison with custodes's result


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, examples: int = 5) -> dict[str, Any]:
    both = ours.merge(theirs, on="event_id", how="outer", suffixes=("_pandas", "_custodes"))
    p = both["explanation_pandas"].fillna("(missing)")
    c = both["explanation_custodes"].fillna("(missing)")
    p_ok, c_ok = p != UNEXPLAINED, c != UNEXPLAINED
    same = p == c
    same_detail = same.copy()
    for column in ("operation_id", "role", "via_search"):
        ours_, theirs_ = both[f"{column}_pandas"], both[f"{column}_custodes"]
        same_detail &= (ours_ == theirs_) | (ours_.isna() & theirs_.isna())
    same_weak = both["weak_explanation_pandas"].fillna("") == both[
        "weak_explanation_custodes"
    ].fillna("")
    names = [t.name for t in sorted(TEMPLATES, key=lambda t: t.rank)] + [UNEXPLAINED]
    names += sorted((set(p) | set(c)) - set(names))
    differing = both[~same].head(examples)
    return {
        "events": len(both),
        "explained_by_both": int((p_ok & c_ok).sum()),
        "explained_by_pandas_only": int((p_ok & ~c_ok).sum()),
        "explained_by_custodes_only": int((~p_ok & c_ok).sum()),
        "template_differs": int((~same).sum()),
        # The same template through another operation, role, or (not) through a name search.
        "same_template_other_detail": int((same & ~same_detail).sum()),
        "weak_explanation_differs": int((~same_weak).sum()),
        "by_template": {
            n: {"pandas": int((p == n).sum()), "custodes": int((c == n).sum())} for n in names
        },
        "examples_of_differences": [
            {
                "event_id": r.event_id,
                "pandas": r.explanation_pandas,
                "custodes": r.explanation_custodes,
            }
            for r in differing.itertuples()
        ],
    }


def custodes_result(home: Path) -> tuple[pd.DataFrame, bool]:
    """Custodes's stored explanations, and whether they were computed from the store as it is."""
    from custodes.store import open_store
    from custodes.store.derived import SourceState, load_state

    path = home / RESULT
    if not path.exists():
        raise SystemExit(f"{path}: no explanations yet (run `custodes detect --home {home}`)")
    with open_store(home) as store:
        current = load_state(home / STATE) == SourceState.of(store)
    return pq.read_table(path).to_pandas(), current


# ------------------------------------------------------------------------------------------
# Running it: a child does the work, the parent watches its memory


def work(args: argparse.Namespace) -> dict[str, Any]:
    stage = Stages()
    started = time.perf_counter()
    with stage("load"):
        tables = load(args.home)
    chunks = args.chunks or max(1, math.ceil(len(tables.events) / args.chunk_events))
    ours = explain(tables, stage, chunks, args.paired_looks)
    total = round(time.perf_counter() - started, 2)
    rss = peak_rss_gb()
    if args.out:
        ours.to_parquet(args.out, index=False)
    with stage("compare"):
        theirs, current = custodes_result(args.home)
        agreement = compare(ours, theirs)
    return {
        "home": str(args.home),
        "events": len(tables.events),
        "chunks": chunks,
        "paired_looks": args.paired_looks,
        "pandas": {
            "seconds": total,
            "seconds_explain": round(total - stage.seconds["load"], 2),
            "stages": stage.seconds,
            "peak_rss_gb": rss,
            "peak_rss_gb_by_stage_end": stage.peaks,
            "pandas_version": pd.__version__,
        },
        "custodes_result_current": current,
        "agreement": agreement,
    }


def child(args: argparse.Namespace) -> None:
    try:
        report = work(args)
    except MemoryError:
        report = {"error": "out of memory (MemoryError)", "peak_rss_gb": peak_rss_gb()}
    print(json.dumps(report))


def rss_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def watch(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run the work in a child; stop it when it passes the memory limit; say what happened."""
    command = [sys.executable, __file__, "--child", *argv]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None and process.stdout is not None
    stages: list[str] = []
    errors: list[str] = []
    out: list[str] = []

    def read_stderr(stream: IO[str]) -> None:
        for line in stream:
            if line.startswith(STAGE_PREFIX):
                stages.append(line[len(STAGE_PREFIX) :].strip())
                if args.verbose:
                    print(line.strip(), file=sys.stderr, flush=True)
            else:
                errors.append(line)

    readers = [
        threading.Thread(target=read_stderr, args=(process.stderr,), daemon=True),
        threading.Thread(target=lambda: out.append(process.stdout.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    watched_peak, over = 0.0, False
    while process.poll() is None:
        watched_peak = max(watched_peak, rss_gb(process.pid))
        if watched_peak > args.memory_limit_gb:
            over = True
            process.kill()
            break
        time.sleep(0.2)
    process.wait()
    for reader in readers:
        reader.join()
    text = "".join(out).strip()
    if process.returncode == 0 and text:
        report: dict[str, Any] = json.loads(text.splitlines()[-1])
        if "error" in report:
            report["stage"] = stages[-1] if stages else None
        return report
    if over:
        why = f"stopped: passed the memory limit of {args.memory_limit_gb} GB"
    elif process.returncode == -signal.SIGKILL:
        why = "killed (SIGKILL: most likely the kernel's out-of-memory killer)"
    else:
        why = f"failed with exit status {process.returncode}: {''.join(errors)[-2000:]}"
    return {
        "home": str(args.home),
        "error": why,
        "stage": stages[-1] if stages else "starting",
        "peak_rss_gb_watched": round(watched_peak, 2),
    }


def run_custodes(home: Path) -> dict[str, Any]:
    """``custodes detect --full --json`` on the store, timed (its own figures per step)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "custodes", "detect", "--home", str(home), "--full", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"custodes detect failed: {done.stderr.strip()}")
    report = json.loads(done.stdout)
    return {"seconds": report["seconds"], "wall_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument(
        "--detect", action="store_true", help="run `custodes detect --full` first (timed)"
    )
    parser.add_argument(
        "--chunk-events",
        type=int,
        default=1_000_000,
        help="explain the people in slices of about this many events (less memory)",
    )
    parser.add_argument("--chunks", type=int, help="this many slices (1: all at once)")
    parser.add_argument(
        "--paired-looks",
        choices=("remaining", "all"),
        default="remaining",
        help="repeated looks for the paired templates: among the events the direct ones left "
        "(as run.py) or all of the person's looks that day (as docs/explain.md says)",
    )
    parser.add_argument("--memory-limit-gb", type=float, default=20.0)
    parser.add_argument("--out", type=Path, help="also write pandas's result to this Parquet file")
    parser.add_argument("--verbose", action="store_true", help="print each stage as it starts")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    custodes = run_custodes(args.home) if args.detect else None
    report = watch(args, [a for a in argv if a != "--detect"])
    if custodes is not None:
        report["custodes_detect"] = custodes
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
