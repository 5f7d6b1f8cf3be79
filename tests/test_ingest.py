"""Ingest as a user sees it: what is stored, what is skipped, and what a bad file does."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from custodes.errors import BundleError
from custodes.store.ingest import ingest
from tests.conftest import EVENTS, EVENTS_HEADER, UNITS, WORKFORCE, BundleFactory, rows


def test_a_bundle_is_stored_and_reconciled(make_bundle: BundleFactory, home: Path) -> None:
    report = ingest(make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS), home)
    assert [(f.table, f.counts.read, f.counts.stored) for f in report.files] == [
        ("units", 2, 2),
        ("workforce", 2, 2),
        ("access_events", 3, 3),
    ]
    assert report.balanced
    assert rows(home, "SELECT event_id, ts::VARCHAR, month FROM access_events ORDER BY ts") == [
        ("E1", "2026-01-05 08:00:00+00", "2026-01"),
        ("E2", "2026-01-05 09:00:00+00", "2026-01"),
        ("E3", "2026-02-01 09:00:00+00", "2026-02"),  # the +01:00 offset, stored in UTC
    ]


def test_events_are_partitioned_by_month(make_bundle: BundleFactory, home: Path) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    months = sorted(p.name for p in (home / "store" / "access_events").iterdir())
    assert months == ["month=2026-01", "month=2026-02"]


def test_reingesting_the_same_bundle_adds_nothing(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS)
    ingest(bundle, home)
    again = ingest(bundle, home)
    assert again.total.stored == 0
    assert again.total.duplicates == again.total.read == 7
    # Batches of the same file already committed are recognised, not processed again.
    assert all(f.batches == [] for f in again.files)
    assert rows(home, "SELECT count(*) FROM access_events") == [(3,)]
    assert rows(home, "SELECT count(*) FROM workforce_versions") == [(2,)]


def test_an_overlapping_bundle_adds_only_what_is_new(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    overlap = EVENTS_HEADER + (
        "E3,2026-02-01T09:00:00Z,P1,disclose,PND,S2,court\n"  # same instant, written in UTC
        "E4,2026-02-02T09:00:00Z,P1,consult,PNC,S3,\n"
    )
    report = ingest(make_bundle(access_events=overlap), home)
    counts = report.files[0].counts
    assert (counts.stored, counts.duplicates) == (1, 1)
    assert rows(home, "SELECT count(*) FROM access_events") == [(4,)]


def test_a_changed_reference_row_becomes_the_current_version(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(workforce=WORKFORCE), home)
    leaver = WORKFORCE.replace("U1,2010-01-01,", "U1,2010-01-01,2026-01-31")
    report = ingest(make_bundle(workforce=leaver), home)
    counts = report.files[0].counts
    assert (counts.stored, counts.new_versions, counts.duplicates) == (1, 1, 1)
    assert rows(home, 'SELECT person_id, "left"::VARCHAR FROM workforce ORDER BY 1') == [
        ("P1", "2026-01-31"),
        ("P2", None),
    ]
    # Re-sending the old export does not turn the clock back.
    ingest(make_bundle(workforce=WORKFORCE), home)
    assert rows(home, "SELECT \"left\"::VARCHAR FROM workforce WHERE person_id = 'P1'") == [
        ("2026-01-31",)
    ]


def test_access_by_unknown_person_is_stored_and_marked(
    make_bundle: BundleFactory, home: Path
) -> None:
    events = EVENTS_HEADER + "E9,2026-01-05T08:00:00Z,GHOST,consult,PNC,S1,\n"
    report = ingest(
        make_bundle(workforce=WORKFORCE, access_events=EVENTS + events.split("\n", 1)[1]), home
    )
    assert report.total.unknown_person == 1
    assert rows(home, "SELECT event_id FROM access_events WHERE NOT person_known") == [("E9",)]


def test_extra_columns_are_kept_with_each_row(make_bundle: BundleFactory, home: Path) -> None:
    text = "event_id,ts,person_id,action,system,workstation_ip\nE1,2026-01-05T08:00:00Z,P1,consult,PNC,10.0.0.7\n"
    ingest(make_bundle(access_events=text), home)
    [(extra,)] = rows(home, "SELECT _extra FROM access_events")
    assert json.loads(extra) == {"workstation_ip": "10.0.0.7"}


def test_parquet_and_csv_of_the_same_events_are_the_same_events(
    make_bundle: BundleFactory, home: Path, tmp_path: Path
) -> None:
    csv_bundle = make_bundle(access_events=EVENTS)
    parquet_bundle = tmp_path / "parquet-bundle"
    parquet_bundle.mkdir()
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{csv_bundle}/access_events.csv', all_varchar=true)) "
        f"TO '{parquet_bundle}/access_events.parquet' (FORMAT parquet)"
    )
    first = ingest(parquet_bundle, home)
    assert first.files[0].counts.stored == 3
    second = ingest(csv_bundle, home)
    assert second.files[0].counts.duplicates == 3


def test_parquet_rows_are_validated_with_their_row_number(home: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "pq"
    bundle.mkdir()
    duckdb.execute(
        f"COPY (SELECT * FROM (VALUES ('E1', '2026-01-05T08:00:00Z', 'P1', 'consult', 'PNC'),"
        f" ('E2', 'not a time', 'P1', 'consult', 'PNC')) t(event_id, ts, person_id, action, system))"
        f" TO '{bundle}/access_events.parquet' (FORMAT parquet)"
    )
    report = ingest(bundle, home)
    assert report.files[0].counts.quarantined == 1
    assert rows(home, "SELECT line, column_name FROM quarantine") == [(2, "ts")]


def test_small_batches_store_exactly_what_one_batch_does(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    lines = [
        f"E{i},2026-01-{1 + i % 28:02d}T08:00:00Z,P{i % 7},consult,PNC,S{i % 50},"
        for i in range(500)
    ]
    lines[100] = "E100,garbage,P1,consult,PNC,S1,"
    lines[250] = "E250,2026-01-01T08:00:00Z,P1"
    lines.append(lines[10])  # an exact duplicate in a later batch
    bundle = make_bundle(access_events=EVENTS_HEADER + "\n".join(lines) + "\n")
    one = ingest(bundle, tmp_path / "one")
    many = ingest(bundle, tmp_path / "many", batch_rows=37)
    assert len(many.files[0].batches) == 14
    for report in (one, many):
        counts = report.files[0].counts
        assert (counts.read, counts.stored, counts.quarantined, counts.duplicates) == (
            501,
            498,
            2,
            1,
        )
    query = "SELECT event_id, ts, person_id, subject_id FROM access_events ORDER BY event_id"
    assert rows(tmp_path / "one", query) == rows(tmp_path / "many", query)
    quarantine = "SELECT line, reason FROM quarantine ORDER BY line"
    assert rows(tmp_path / "one", quarantine) == rows(tmp_path / "many", quarantine)


# File-level problems: one line naming the file, and nothing written. -----------------------


def test_missing_bundle_directory(tmp_path: Path, home: Path) -> None:
    with pytest.raises(BundleError, match="no such bundle directory"):
        ingest(tmp_path / "nowhere", home)


def test_empty_bundle_directory(tmp_path: Path, home: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no bundle tables found"):
        ingest(tmp_path / "empty", home)


def test_wrong_header_refuses_the_whole_bundle(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(units=UNITS, access_events="id,when,who\nE1,2026-01-05T08:00:00Z,P1\n")
    with pytest.raises(
        BundleError,
        match=r"access_events.csv: wrong header .* required column event_id, ts, person_id, action, system missing",
    ):
        ingest(bundle, home)
    assert not (home / "store" / "units").exists()


def test_empty_file(make_bundle: BundleFactory, home: Path) -> None:
    with pytest.raises(BundleError, match=r"units\.csv: the file is empty"):
        ingest(make_bundle(units=""), home)


def test_duplicate_column_in_header(make_bundle: BundleFactory, home: Path) -> None:
    with pytest.raises(BundleError, match="column kind appears more than once"):
        ingest(make_bundle(units="unit_id,kind,kind\nU1,psd,psd\n"), home)


def test_table_given_as_both_csv_and_parquet(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(units=UNITS)
    (bundle / "units.parquet").write_bytes(b"PAR1")
    with pytest.raises(BundleError, match="table units is given twice"):
        ingest(bundle, home)


def test_file_that_is_not_parquet(tmp_path: Path, home: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "units.parquet").write_text("unit_id,kind\nU1,psd\n")
    with pytest.raises(BundleError, match=r"units.parquet: not a Parquet file"):
        ingest(bundle, home)


def test_unreadable_file(tmp_path: Path, home: Path) -> None:
    bundle = tmp_path / "b"
    (bundle / "units.csv").mkdir(parents=True)  # a directory where a file should be
    with pytest.raises(BundleError, match=r"units\.csv: not a regular file"):
        ingest(bundle, home)


def test_header_that_is_not_utf8(make_bundle: BundleFactory, home: Path) -> None:
    with pytest.raises(BundleError, match="header row is not valid UTF-8"):
        ingest(make_bundle(units=b"unit_id,k\xe9nd\nU1,psd\n"), home)


def test_typed_parquet_timestamps_keep_their_offset_and_naive_ones_are_refused(
    home: Path, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    bundle = tmp_path / "typed"
    bundle.mkdir()
    aware = pa.array([0, 3_600_000_000], pa.timestamp("us", tz="UTC"))
    naive = pa.array([0], pa.timestamp("us"))
    base = {"person_id": ["P1"], "action": ["consult"], "system": ["PNC"]}
    pq.write_table(
        pa.table({"event_id": ["E1", "E2"], "ts": aware, **{k: v * 2 for k, v in base.items()}}),
        bundle / "access_events.parquet",
    )
    report = ingest(bundle, home)
    assert report.files[0].counts.stored == 2
    assert rows(home, "SELECT ts::VARCHAR FROM access_events ORDER BY event_id") == [
        ("1970-01-01 00:00:00+00",),
        ("1970-01-01 01:00:00+00",),
    ]
    pq.write_table(
        pa.table({"event_id": ["E3"], "ts": naive, **base}), bundle / "access_events.parquet"
    )
    report = ingest(bundle, home)
    assert report.files[0].counts.quarantined == 1
    [(reason,)] = rows(home, "SELECT reason FROM quarantine")
    assert "has no UTC offset" in reason


def test_a_second_writer_is_refused_with_one_line(make_bundle: BundleFactory, home: Path) -> None:
    from custodes.errors import StoreError
    from custodes.store.store import writer

    with writer(home), pytest.raises(StoreError, match="another Custodes process is writing"):
        ingest(make_bundle(access_events=EVENTS), home)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_stored_value_stays_with_its_own_row(
    make_bundle: BundleFactory, home: Path, fmt: str
) -> None:
    """Typed columns are computed in parallel, apart from the text columns; a large file (many
    Arrow record batches per chunk) must still store each value in its own row."""
    actions = ("consult", "search", "alter", "collect", "disclose")
    lines = [
        f"E{i},2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,P{i},{actions[i % 5]},"
        f"SYS{i % 7},S{i},purpose {i}"
        for i in range(200_000)
    ]
    bundle = make_bundle(access_events=EVENTS_HEADER + "\n".join(lines) + "\n")
    if fmt == "parquet":
        csv_file = bundle / "access_events.csv"
        duckdb.execute(
            f"COPY (SELECT * FROM read_csv('{csv_file}', all_varchar = true)) "
            f"TO '{bundle / 'access_events.parquet'}' (FORMAT parquet)"
        )
        csv_file.unlink()
    ingest(bundle, home)
    misplaced = rows(
        home,
        """
        SELECT count(*) FROM (
            SELECT CAST(substr(event_id, 2) AS INTEGER) AS i, * FROM access_events)
        WHERE person_id <> 'P' || i OR subject_id <> 'S' || i OR purpose <> 'purpose ' || i
           OR action <> ['consult', 'search', 'alter', 'collect', 'disclose'][1 + i % 5]
           OR "system" <> 'SYS' || (i % 7)
           OR day(ts) <> 1 + i % 28 OR hour(ts) <> i % 24 OR minute(ts) <> i % 60
           OR _rec <> i + 1
        """,
    )
    assert rows(home, "SELECT count(*) FROM access_events") == [(200_000,)]
    assert misplaced == [(0,)]
