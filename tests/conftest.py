"""Shared fixtures: small bundles written as CSV text, and a store home in a temp dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from custodes.store.store import Store, open_store

# Timing is not what property tests check, and CI machines are shared and noisy: no per-example
# deadline and no "too slow" health check, for every test (explicit @settings may add more).
settings.register_profile("custodes", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("custodes")

UNITS = """unit_id,name,kind
U1,Response A,response
U2,Professional Standards,psd
"""
WORKFORCE = """person_id,role,surname,forenames,date_of_birth,home_postcode,home_address,unit_id,joined,left
P1,officer,Smith,John,1980-01-01,AB1 2CD,1 High St,U1,2010-01-01,
P2,staff,Jones,Ann,1985-02-03,AB1 2CE,2 High St,U2,2012-01-01,
"""
EVENTS_HEADER = "event_id,ts,person_id,action,system,subject_id,purpose\n"
EVENTS = (
    EVENTS_HEADER
    + """E1,2026-01-05T08:00:00Z,P1,consult,PNC,S1,routine check
E2,2026-01-05T09:00:00Z,P2,search,RMS,,
E3,2026-02-01T10:00:00+01:00,P1,disclose,PND,S2,court
"""
)

BundleFactory = Callable[..., Path]


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Write a bundle directory from ``table=text`` pairs (bytes are written as they are)."""
    counter = iter(range(1_000_000))

    def make(**tables: str | bytes) -> Path:
        bundle = tmp_path / f"bundle{next(counter)}"
        bundle.mkdir()
        for name, content in tables.items():
            data = content if isinstance(content, bytes) else content.encode()
            (bundle / f"{name}.csv").write_bytes(data)
        return bundle

    return make


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def read_store(home: Path) -> Store:
    return open_store(home)


def rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    store = open_store(home)
    try:
        return store.query(sql)
    finally:
        store.close()
