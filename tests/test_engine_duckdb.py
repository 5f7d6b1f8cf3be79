"""The embedded engine's memory: ingest keeps the store's DuckDB to 1 GB (its peak RSS has a
goal), and so do questions about one event or one subject (the web server asks them in many
threads at once), while an analysis of the whole store may use half the machine, because at
100 M events explanation stopped with DuckDB out of memory at 1 GB."""

from __future__ import annotations

from pathlib import Path

from custodes.engine import ANALYSIS_MEMORY_FRACTION, duckdb_backend, physical_memory
from custodes.store import ingest, open_store
from custodes.store.store import DUCKDB_MEMORY_LIMIT
from tests.conftest import EVENTS, UNITS, WORKFORCE, BundleFactory


def memory_limit_mib(store_db: object) -> float:
    (text,) = store_db.execute("SELECT current_setting('memory_limit')").fetchone()  # type: ignore[attr-defined]
    number, unit = text.split()
    return float(number) * {"MiB": 1, "GiB": 1024}[unit]


def test_an_analysis_of_the_whole_store_may_use_half_the_machine_and_a_look_at_one_event_may_not(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS), home)
    with open_store(home) as store:
        store_limit = memory_limit_mib(store.db)
        assert DUCKDB_MEMORY_LIMIT == "1GB" and 900 < store_limit < 1000  # 1 GB = 953.6 MiB
        duckdb_backend(store)
        assert memory_limit_mib(store.db) == store_limit
        duckdb_backend(store, whole_store=True)
        half = physical_memory() * ANALYSIS_MEMORY_FRACTION / 2**20
        assert abs(memory_limit_mib(store.db) - half) / half < 0.01
