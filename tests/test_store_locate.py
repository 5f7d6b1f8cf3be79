"""Looking up a few stored events by id reads only the files that can hold them, and finds
exactly what a query over the whole store finds: erased events, ids out of order and ids that
are not stored included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodes.store import ingest
from custodes.store.erase import erase_event
from custodes.store.locate import event_contents, files_holding, id_range, stored_events
from custodes.store.store import open_store
from tests.conftest import EVENTS_HEADER, UNITS, WORKFORCE

COLUMNS = "event_id, person_id, subject_id, _salt IS NULL"


def events(ids: list[str], day: int) -> str:
    return EVENTS_HEADER + "".join(
        f"{event_id},2026-01-{day:02d}T08:{n % 60:02d}:00Z,P1,consult,PNC,S{n},check\n"
        for n, event_id in enumerate(ids)
    )


@pytest.fixture(scope="module")
def store_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three ingests: ids that grow with time (E1000..E1099, then E2000..E2099), then a batch
    whose ids do not (its range spans both); one event of the first batch erased."""
    root = tmp_path_factory.mktemp("locate")
    home = root / "home"
    batches = [
        [f"E1{n:03d}" for n in range(100)],
        [f"E2{n:03d}" for n in range(100)],
        ["E0500", "E3000", "E1500x"],
    ]
    for number, ids in enumerate(batches):
        bundle = root / f"bundle{number}"
        bundle.mkdir()
        if number == 0:
            (bundle / "units.csv").write_text(UNITS)
            (bundle / "workforce.csv").write_text(WORKFORCE)
        (bundle / "access_events.csv").write_text(events(ids, 10 + number))
        ingest(bundle, home)
    erase_event(home, "E1042", reason="court order", erased_by="dpo")
    return home


def whole_store(home: Path, ids: list[str]) -> list[tuple[object, ...]]:
    with open_store(home) as store:
        return sorted(
            store.query(
                f"SELECT {COLUMNS} FROM access_events_versions WHERE list_contains(?, event_id)",
                [ids],
            )
        )


def located(home: Path, ids: list[str]) -> list[tuple[object, ...]]:
    with open_store(home) as store:
        return sorted(stored_events(store, ids, COLUMNS))


def test_an_id_is_looked_for_only_in_the_files_whose_range_holds_it(store_home: Path) -> None:
    with open_store(store_home) as store:
        files = store.table_files("access_events")
        ranges = sorted(id_range(f) or ("-", "-") for f in files)
        chosen = files_holding(files, ["E2042"])
    assert ("E2000", "E2099") in ranges
    assert [id_range(f) for f in chosen] == [("E2000", "E2099"), ("E0500", "E3000")]


def test_an_erased_event_is_found_with_its_content_gone(store_home: Path) -> None:
    assert located(store_home, ["E1042", "E1043"]) == [
        ("E1042", None, None, True),
        ("E1043", "P1", "S43", False),
    ]


def test_contents_leave_the_erased_out_and_come_in_time_order(store_home: Path) -> None:
    with open_store(store_home) as store:
        found = event_contents(
            store, ["E2000", "E1042", "E1043", "E9999"], ["event_id", "subject_id"]
        )
    assert found == [("E1043", "S43"), ("E2000", "S0")]


def test_ids_that_are_not_stored_find_nothing(store_home: Path) -> None:
    assert located(store_home, ["E9999", "", "E1500"]) == []
    assert located(store_home, []) == []


ALL_IDS = [f"E1{n:03d}" for n in range(100)] + [f"E2{n:03d}" for n in range(100)]


@given(
    st.lists(
        st.sampled_from([*ALL_IDS, "E0500", "E3000", "E1500x", "E0000", "E9", "F1000", "e1000"]),
        max_size=12,
    )
)
def test_a_lookup_finds_exactly_what_a_query_over_the_whole_store_finds(
    store_home: Path, ids: list[str]
) -> None:
    assert located(store_home, ids) == whole_store(store_home, ids)


def test_a_file_without_statistics_is_always_read(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "part_0.parquet"
    pq.write_table(pa.table({"event_id": ["E5", "E1"]}), path, write_statistics=False)
    assert files_holding([path], ["E9"]) == [path]
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"event_id": pa.array([], pa.string())}), empty)
    assert files_holding([empty], ["E9"]) == []
