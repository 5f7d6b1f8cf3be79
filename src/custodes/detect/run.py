"""``custodes detect``: link, explain and detect, then keep the alerts beside the store.

Linkage runs when its results are missing (``relink`` forces it: after a new workforce or
subjects extract); explanations and signals are recomputed over every stored event. The alerts
go to ``HOME/derived/detect/alerts.parquet``; ``export_alerts`` writes them in the contract's
CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from custodes.bundle.validate import literal
from custodes.detect.alerts import EXPORT_COLUMNS, group_signals
from custodes.detect.rules import RULES, signals
from custodes.detect.suppressions import Suppression, active_suppressions
from custodes.engine import duckdb_backend, spark_backend, spark_session
from custodes.errors import CustodesError
from custodes.explain.run import RESULT as EXPLANATIONS
from custodes.explain.run import explain_store
from custodes.link import link_home
from custodes.store.derived import SourceState, load_state, save_state
from custodes.store.store import Store, open_store

ALERTS = Path("derived") / "detect" / "alerts.parquet"
LINKS = Path("derived") / "link"
LINK_STATE = LINKS / "state.json"
DERIVED_VIEWS = {
    "explanations": EXPLANATIONS,
    "person_links": LINKS / "person_links.parquet",
    "neighbours": LINKS / "neighbours.parquet",
    "colleagues": LINKS / "colleagues.parquet",
}


@dataclass
class DetectReport:
    events: int
    explained: int
    alerts: int
    by_rule: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    suppressed: int = 0
    relinked: bool = False  # linkage was (re)computed: new reference data, or asked for
    explain_mode: str = "full"  # full | incremental | current
    explained_now: int = 0  # events explained by this run

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "explained": self.explained,
            "alerts": self.alerts,
            "suppressed": self.suppressed,
            "by_rule": self.by_rule,
            "seconds": self.seconds,
            "relinked": self.relinked,
            "explain_mode": self.explain_mode,
            "explained_now": self.explained_now,
        }


def register_derived(store: Store) -> None:
    """Views over the derived tables (linkage, explanations) beside the store's own."""
    for name, relative in DERIVED_VIEWS.items():
        path = store.home / relative
        if not path.exists():
            raise CustodesError(f"{store.home}: {relative} is missing (run `custodes detect`)")
        store.db.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({literal(path.as_posix())})"
        )


def detect_home(
    home: Path,
    *,
    relink: bool = False,
    today: date | None = None,
    engine: str = "duckdb",
    spark_master: str = "local[2]",
    full: bool = False,
) -> DetectReport:
    """Link (when needed), explain and detect over every stored event; keep the alerts.

    Incremental by default: linkage is redone only when the reference data it reads changed
    (or ``relink``); explanations only for the person-days new access events touch, unless
    reference data changed (or ``full``, which explains everything again but relinks only
    when needed). The rules then run over every event, since
    baselines and windows reach back.

    ``engine`` is ``duckdb`` (embedded, the default) or ``spark`` (the same expressions on
    PySpark, at ``spark_master``). Active suppressions (on ``today``, default: the current UTC
    date) mark the alerts they match; those stay in the store, out of exports."""
    if engine not in ("duckdb", "spark"):
        raise CustodesError(f"unknown engine {engine!r}: duckdb or spark")
    session = spark_session(spark_master) if engine == "spark" else None
    try:
        return _detect(home, relink, today, session, full)
    finally:
        if session is not None:
            session.stop()


def _detect(
    home: Path, relink: bool, today: date | None, session: Any | None, full: bool
) -> DetectReport:
    seconds: dict[str, float] = {}
    with open_store(home) as store:
        now = SourceState.of(store)
    linked = load_state(home / LINK_STATE)
    relink = relink or _links_stale(home, linked, now)
    _import_before_threads()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="custodes-link") as beside:
        # Linkage reads the reference tables only, and explanation does not read its result:
        # on the embedded engine the two run side by side (each leaves part of the machine
        # idle: Splink's Python between queries, DuckDB's single-threaded steps). Spark
        # schedules its own cores, so there they run one after the other.
        linking = beside.submit(_link, home, session, now) if relink else None
        if linking is not None and session is not None:
            linking.result()  # Spark: linkage first
        with open_store(home) as store:
            con = _backend(store, session)
            started = time.perf_counter()
            explained = explain_store(store, con, incremental=not full)
            seconds["explain"] = round(time.perf_counter() - started, 2)
            seconds["link"] = linking.result() if linking is not None else 0.0
            started = time.perf_counter()
            found = signals_table(store, con)
            alerts = group_signals(store.db, found)
            alerts = _apply_suppressions(
                alerts, active_suppressions(store.catalog.db, (today or datetime.now(UTC).date()))
            )
            seconds["detect"] = round(time.perf_counter() - started, 2)
    _write(home / ALERTS, alerts)
    by_rule = {rule.name: 0 for rule in RULES}
    for name in alerts.column("rule").to_pylist():
        by_rule[name] += 1
    raised = alerts.column("suppressed_by").null_count
    return DetectReport(
        explained.events,
        explained.explained,
        raised,
        by_rule,
        seconds,
        alerts.num_rows - raised,
        relink,
        explained.mode,
        explained.explained_now,
    )


def _import_before_threads() -> None:
    """Import sqlglot's DuckDB dialect and Ibis's DuckDB backend here, before linkage starts
    beside explanation: both threads would import them at once, and sqlglot's lazy dialect
    loading takes its own lock inside Python's import lock in one thread and the other way
    round in the other (seen: a test run that never finished, each thread waiting on the
    other's lock)."""
    import ibis.backends.duckdb  # noqa: F401
    import sqlglot.dialects.duckdb  # noqa: F401


def _link(home: Path, session: Any | None, now: SourceState) -> float:
    """Link the people of the store under ``home`` and note the data it was linked from;
    return the seconds it took."""
    started = time.perf_counter()
    link_home(home, engine="spark" if session is not None else "duckdb", spark=session)
    save_state(home / LINK_STATE, now)
    return round(time.perf_counter() - started, 2)


def _links_stale(home: Path, linked: SourceState | None, now: SourceState) -> bool:
    """Whether linkage must be redone: never made, or the reference data changed since
    (linkage reads no access events)."""
    if linked is None or not (home / LINKS / "person_links.parquet").exists():
        return True
    reference = (set(now.batches) | set(linked.batches)) - {"access_events"}
    return not now.same_tables(linked, reference)


def _backend(store: Store, session: Any | None) -> BaseBackend:
    if session is None:
        return duckdb_backend(store, whole_store=True)
    derived = {
        name: store.home / relative
        for name, relative in DERIVED_VIEWS.items()
        if name != "explanations"
    }
    return spark_backend(store, session, derived)


def signals_table(store: Store, con: BaseBackend) -> pa.Table:
    """Every signal, from the kept explanations and linkage, computed by ``con``'s engine."""
    if con.name == "duckdb":
        register_derived(store)
    else:
        explained = store.home / EXPLANATIONS
        con.read_parquet(str(explained), table_name="explanations")
    return signals(con).to_pyarrow()


def _apply_suppressions(alerts: pa.Table, active: list[Suppression]) -> pa.Table:
    marks: list[int | None] = []
    for alert in alerts.select(["rule", "person_id", "subject_id"]).to_pylist():
        match = next((s for s in active if s.matches(alert)), None)
        marks.append(match.suppression_id if match else None)
    return alerts.append_column("suppressed_by", pa.array(marks, pa.int64()))


def _write(target: Path, table: pa.Table) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".parquet.tmp")
    pq.write_table(table, scratch)
    os.replace(scratch, target)


def load_alerts(home: Path, *, include_suppressed: bool = False) -> pa.Table:
    """The alerts of the last run, highest score first (suppressed ones only on request)."""
    path = home / ALERTS
    if not path.exists():
        raise CustodesError(f"{home}: no alerts yet (run `custodes detect --home {home}`)")
    table = pq.read_table(path)
    if include_suppressed:
        return table
    return table.filter(pc.is_null(table.column("suppressed_by")))


def export_alerts(home: Path, fmt: str) -> str:
    """The alerts in the contract's columns, as CSV (with a header) or a JSON array."""
    rows = load_alerts(home).select(list(EXPORT_COLUMNS)).to_pylist()
    for row in rows:
        for key in ("first_ts", "last_ts"):
            row[key] = row[key].strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt != "csv":
        raise CustodesError(f"unknown format {fmt!r}: csv or json")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
