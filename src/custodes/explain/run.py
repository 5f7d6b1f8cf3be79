"""Explain every access event: its best explanation, or ``unexplained``.

:func:`explanations` is one Ibis expression over the store's tables (so any engine runs it);
:func:`explain_store` runs it on the embedded DuckDB engine, writes the result beside the store
(``HOME/derived/explain/explanations.parquet``) and counts how many events each template
explains, for reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from custodes.bundle.validate import literal
from custodes.engine import duckdb_backend
from custodes.errors import CustodesError
from custodes.explain.paths import (
    BROADER,
    DIRECT,
    looks,
    restrict,
)
from custodes.explain.templates import TEMPLATES, UNEXPLAINED, Template
from custodes.store.derived import SourceState, load_state, save_state
from custodes.store.store import Store

RESULT = Path("derived") / "explain" / "explanations.parquet"
STATE = RESULT.parent / "state.json"
Only: TypeAlias = Sequence[str] | ir.Table | None


def matches(
    con: BaseBackend,
    templates: tuple[Template, ...] = TEMPLATES,
    only: Only = None,
) -> ir.Table:
    """Every (event, template, operation) that explains an event.

    Direct paths (a named operation, an assignment, the unit's own work) explain almost every
    event through small joins from the event; the rest need each remaining event paired with
    the operations around its subject, so those pairs are made for the remaining events only.
    """
    looked = looks(con, only).cache()
    direct = [DIRECT[t.path](con, looked, t) for t in templates if t.path in DIRECT]
    found = ibis.union(*direct) if len(direct) > 1 else direct[0]
    found = found.cache()
    rest = [t for t in templates if t.path in BROADER]
    if not rest:
        return found
    remaining = looked.anti_join(found.filter(~found.weak).select("event_id"), "event_id")
    remaining = remaining.cache()
    return ibis.union(found, *(BROADER[t.path](con, remaining, t) for t in rest))


def explanations(
    con: BaseBackend,
    templates: tuple[Template, ...] = TEMPLATES,
    only: Only = None,
) -> ir.Table:
    """One row per access event (``only``: per event of these ids, a list or a table of
    ``event_id``, which must include each
    one's same-day context: the person's other events that day, since circumstantial templates
    count repeated looks): ``explanation`` (a template's name or ``unexplained``) and,
    when explained, the ``operation_id`` that explains it, the subject's ``role`` there and
    whether the subject was found through a name search (``via_search``). An unexplained event
    for which a circumstantial path holds once (not repeated) names it in ``weak_explanation``.

    The result is the best of :func:`matches` per event, found in tiers: the direct templates
    rank by rank, each tier only for the events no lower rank explained (most events are
    explained by the first tiers, so later, broader joins see few), then the paired templates
    for what remains. A circumstantial template still counts all of a person's looks that day,
    explained or not: its tier reads every look of each person-day it still has to explain.
    """
    looked = looks(con, only).cache()
    strong: list[ir.Table] = []
    weak: list[ir.Table] = []
    # The looks still to explain, kept after each tier and dropped once the next tier's are
    # kept: each tier's anti-join probes only what the tier before left (at 10 M events 11 M
    # looks, then 4.8 M, 1.6 M, 0.4 M), where probing every look against all explained so far
    # cost a second or more per tier, twice in a circumstantial one. One such table at a time
    # (at 100 M events the first holds about 4 GB).
    todo = looked
    for rank in sorted({t.rank for t in templates if t.path in DIRECT}):
        tier = [t for t in templates if t.rank == rank and t.path in DIRECT]
        context = todo
        if any(t.circumstantial for t in tier) and todo is not looked:
            days = todo.select("person_id", "day").distinct()
            context = looked.semi_join(days, ["person_id", "day"])
        found = _union([DIRECT[t.path](con, context, t) for t in tier])
        if context is not todo:
            found = found.semi_join(todo.select("event_id"), "event_id")
        found = _reduce(found, tier).cache()
        strong.append(found.filter(~found.weak))
        weak.append(found.filter(found.weak))
        todo = _step(todo, todo.anti_join(found.filter(~found.weak), "event_id"), looked)
    paired = [t for t in templates if t.path in BROADER]
    if paired:
        by_template = [BROADER[t.path](con, todo, t) for t in paired]
        found = _reduce(_union(by_template), paired).cache()
        strong.append(found.filter(~found.weak))
        weak.append(found.filter(found.weak))
    # What remains reads only the tiers' kept matches: the looks go before the last join, which
    # needs the memory (at 100 M events it ran out of it with the looks still held).
    _release(looked)
    if todo is not looked:
        _release(todo)
    best_strong = _union(strong)
    best_weak = _best(_union(weak)).select("event_id", weak_explanation="template")
    # Most events are explained: the events are joined to the explained ones only to find the
    # few that are not (an anti-join keeps no columns), and those alone take a weak reason.
    events = restrict(con.table("access_events").select("event_id"), only)
    unexplained = events.anti_join(best_strong, "event_id").left_join(best_weak, "event_id")
    return ibis.union(
        best_strong.select(
            "event_id",
            explanation=best_strong.template,
            operation_id=best_strong.operation_id,
            role=best_strong.role,
            via_search=best_strong.via_search,
            weak_explanation=ibis.null("str"),
        ),
        unexplained.select(
            "event_id",
            explanation=ibis.literal(UNEXPLAINED),
            operation_id=ibis.null("str"),
            role=ibis.null("str"),
            via_search=ibis.literal(False),
            weak_explanation=unexplained.weak_explanation,
        ),
        distinct=False,
    )


def _step(todo: ir.Table, left: ir.Table, looked: ir.Table) -> ir.Table:
    """Keep the looks ``left`` to explain after a tier, and drop ``todo``, those before it
    (unless it is ``looked``, every look, which later tiers read for a person's whole day)."""
    kept = left.cache()
    if todo is not looked:
        _release(todo)
    return kept


def _release(table: ir.Table) -> None:
    if isinstance(table, ir.CachedTable):
        table.release()


def _union(tables: list[ir.Table]) -> ir.Table:
    return ibis.union(*tables) if len(tables) > 1 else tables[0]


def _reduce(found: ir.Table, templates: Sequence[Template]) -> ir.Table:
    """A tier's matches, down to the best strong and the best weak match of each event (a
    popular subject can give one look thousands of matches).

    A tier of one template ranks its matches without its name and rank, the same on every
    row: the least of fewer fields (at 10 M events, a quarter of the first tier's CPU)."""
    if len({(t.name, t.rank) for t in templates}) != 1:
        return _least(found, ["event_id", "weak"])
    (only_one, *_) = templates
    least = _least(found.drop("template", "rank"), ["event_id", "weak"])
    return least.mutate(
        template=ibis.literal(only_one.name), rank=ibis.literal(only_one.rank, type="int32")
    ).select(*found.columns)


def _best(found: ir.Table) -> ir.Table:
    return _least(found, ["event_id"]).drop("rank", "weak")


def _least(found: ir.Table, by: list[str]) -> ir.Table:
    """The best match of each group ``by``: the lowest rank, then a direct look before a name
    search, then the first operation (and role, a missing one last, then template) by name, so
    that every engine picks the same.

    An aggregate (the least of each group's rows as a struct), not a numbering of each group's
    rows: a hash aggregate keeps one row per group where a window sorts every match.
    """
    order = ibis.struct(
        {
            **({"rank": found["rank"]} if "rank" in found.columns else {}),
            "via_search": found.via_search,
            "operation_id": found.operation_id,
            "no_role": found.role.isnull(),
            "role": found.role,
            **({"template": found.template} if "template" in found.columns else {}),
            **{c: found[c] for c in found.columns if c not in by and c not in KEY},
        }
    )
    least = found.group_by(by).agg(_least=order.min())
    kept = [c for c in found.columns if c not in by]
    return least.select(*by, *[least._least[c].name(c) for c in kept]).select(*found.columns)


KEY = ("rank", "via_search", "operation_id", "role", "template")


@dataclass
class ExplainReport:
    events: int
    by_template: dict[str, int] = field(default_factory=dict)
    mode: str = "full"  # full | incremental | current (nothing new to explain)
    explained_now: int = 0  # events whose explanation this run computed

    @property
    def explained(self) -> int:
        return self.events - self.by_template.get(UNEXPLAINED, 0)

    @property
    def coverage(self) -> float:
        return self.explained / self.events if self.events else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "explained": self.explained,
            "coverage": round(self.coverage, 6),
            "by_template": self.by_template,
            "mode": self.mode,
            "explained_now": self.explained_now,
        }


def explain_store(
    store: Store, con: BaseBackend | None = None, *, incremental: bool = True
) -> ExplainReport:
    """Explain the stored events (with ``con``, the embedded engine by default); keep the
    result beside the store; count it.

    An event's explanation depends on the reference tables and on its person's other events
    that day, nothing else. So when only access events arrived since the last run (the daily
    case), only the events of the person-days they touch are explained again and merged into
    the kept result, which is exactly what explaining everything would give (a test holds the
    two together). New reference data (an assignment recorded late explains earlier accesses)
    means explaining everything again; so does ``incremental=False``.
    """
    con = con or duckdb_backend(store, whole_store=True)
    target = store.home / RESULT
    now = SourceState.of(store)
    before = load_state(store.home / STATE) if incremental and target.exists() else None
    mode = _mode(before, now)
    explained_now = 0
    if mode == "full":
        with _in_any_order(con):
            _replace(target, lambda scratch: _write_by_event(con, explanations(con), scratch))
        explained_now = pq.ParquetFile(target).metadata.num_rows
    elif mode == "incremental":
        assert before is not None
        explained_now = _explain_new(store, con, now.new_batches(before, "access_events"))
    save_state(store.home / STATE, now)
    counts: dict[str, int] = {t.name: 0 for t in TEMPLATES}
    counts[UNEXPLAINED] = 0
    for name, n in store.db.execute(
        f"SELECT explanation, count(*) FROM read_parquet({literal(str(target))}) GROUP BY 1"
    ).fetchall():
        counts[str(name)] = int(n)
    _check_coverage(store, sum(counts.values()))
    return ExplainReport(sum(counts.values()), counts, mode, explained_now)


@contextmanager
def _in_any_order(con: BaseBackend) -> Iterator[None]:
    """Let DuckDB fill the intermediate tables in whatever order its threads finish (the
    store's connection keeps insertion order, which its readers rely on): explanation's own
    tables are sets, and its result is sorted explicitly. It spares DuckDB putting the rows
    of each kept table back in order, and the memory for it."""
    if con.name != "duckdb":
        yield
        return
    con.raw_sql("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.raw_sql("SET preserve_insertion_order = true")


def _check_coverage(store: Store, rows: int) -> None:
    """Every stored event has exactly one row (the rules count an event without one as
    explained: they join the events to the unexplained rows only)."""
    (stored,) = store.db.execute("SELECT count(*) FROM access_events").fetchone() or (0,)
    if rows != stored:
        raise CustodesError(
            f"{store.home}: the kept explanations have {rows} rows for {stored} stored events; "
            "run `custodes detect --full` to explain every event again"
        )


def _mode(before: SourceState | None, now: SourceState) -> str:
    reference = (set(now.batches) | set(before.batches if before else {})) - {"access_events"}
    if before is None or not now.extends(before) or not now.same_tables(before, reference):
        return "full"
    if not now.new_batches(before, "access_events") and now.erasures == before.erasures:
        return "current"
    return "incremental"


def _explain_new(store: Store, con: BaseBackend, batches: list[int]) -> int:
    """Explain the events of the person-days the new ``batches`` touch, and merge them into the
    kept result (dropping events lawfully erased since)."""
    target = store.home / RESULT
    context = store.work_dir / "explain-context.parquet"
    store.db.execute(
        f"""COPY (
            SELECT DISTINCT e.event_id FROM access_events e
            JOIN (SELECT DISTINCT person_id, CAST(ts AS DATE) AS day FROM access_events
                  WHERE list_contains(?, _batch)) d
            ON e.person_id = d.person_id AND CAST(e.ts AS DATE) = d.day
        ) TO {literal(str(context))} (FORMAT parquet)""",
        [batches],
    )
    fresh = explanations(con, only=con.read_parquet(str(context))).to_pyarrow()
    store.db.register("_fresh", fresh)
    try:
        _replace(
            target,
            lambda scratch: store.db.execute(
                f"""COPY (
                    SELECT * FROM read_parquet({literal(str(target))}) o
                    WHERE o.event_id NOT IN (SELECT event_id FROM _fresh)
                      AND o.event_id IN (SELECT event_id FROM access_events)
                    UNION ALL BY NAME SELECT * FROM _fresh
                    ORDER BY event_id
                ) TO {literal(str(scratch))} (FORMAT parquet)"""
            ),
        )
    finally:
        store.db.unregister("_fresh")
        context.unlink(missing_ok=True)
    return int(fresh.num_rows)


def _write_by_event(con: BaseBackend, result: ir.Table, path: Path) -> None:
    """Write ``result`` to one Parquet file in ``event_id`` order. DuckDB sorts and writes it
    in its own memory limit, spilling to disk (at 100 M events the result is several GB); other
    engines (Spark) hand it over as Arrow.

    On DuckDB the template names are sorted as an ``ENUM`` of the templates (one byte each,
    where a name is a pointer to its text: the sort moves every row's payload, and this cut
    a sixth of its CPU at 10 M events); Parquet keeps them as text, so readers see strings."""
    if con.name != "duckdb":
        pq.write_table(result.to_pyarrow().sort_by("event_id"), path)
        return
    names = ", ".join(literal(name) for name in (*(t.name for t in TEMPLATES), UNEXPLAINED))
    columns = ", ".join(
        f"CAST({c} AS ENUM({names})) AS {c}" if c in TEMPLATE_COLUMNS else c for c in result.columns
    )
    query = ibis.to_sql(result, dialect="duckdb")
    # Joined into a table first, then sorted from it: one query doing both held the join's and
    # the sort's memory at once, and at 100 M events ran out of memory under DuckDB's limit.
    table = "_custodes_explained"
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {columns} FROM ({query})")
    try:
        con.raw_sql(
            f"COPY (SELECT * FROM {table} ORDER BY event_id) "
            f"TO {literal(path.as_posix())} (FORMAT parquet)"
        )
    finally:
        con.raw_sql(f"DROP TABLE IF EXISTS {table}")


TEMPLATE_COLUMNS = ("explanation", "weak_explanation")


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".parquet.tmp")
    write(scratch)
    os.replace(scratch, target)
