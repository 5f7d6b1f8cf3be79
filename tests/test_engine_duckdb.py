"""The embedded engine's memory and calendar. Memory: ingest keeps the store's DuckDB to 1 GB (its peak RSS has a
goal), and so do questions about one event or one subject (the web server asks them in many
threads at once), while an analysis of the whole store may use half the machine, because at
100 M events explanation stopped with DuckDB out of memory at 1 GB."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import hypothesis.strategies as st
import ibis
import pyarrow as pa
from hypothesis import given, settings

from custodes.engine import (
    ANALYSIS_MEMORY_FRACTION,
    duckdb_backend,
    physical_memory,
    utc_day,
    utc_hour,
)
from custodes.store import ingest, open_store
from custodes.store.store import DUCKDB_MEMORY_LIMIT, connect_duckdb
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


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=50,
    )
)
def test_the_utc_day_and_hour_by_arithmetic_are_the_calendar_s(moments: list[datetime]) -> None:
    """On DuckDB, explanation and the rules take an event's UTC day and hour from its
    microseconds since the epoch (a cast goes through ICU's calendar, a few seconds over 10 M
    events); they must be the calendar's, before 1970 and on the last microsecond of a day."""
    db = connect_duckdb(Path(tempfile.mkdtemp()))
    con = ibis.duckdb.from_connection(db)
    edges = [datetime(1969, 12, 31, 23, 59, 59, 999999, UTC), datetime(2026, 1, 6, tzinfo=UTC)]
    moments = moments + edges
    table = ibis.memtable(pa.table({"ts": pa.array(moments, pa.timestamp("us", tz="UTC"))}))
    got = con.to_pyarrow(
        table.select(day=utc_day(con, table.ts), hour=utc_hour(con, table.ts))
    ).to_pydict()
    assert got["day"] == [m.date() for m in moments]
    assert got["hour"] == [m.hour for m in moments]
