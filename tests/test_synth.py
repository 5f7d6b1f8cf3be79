"""The synthetic force generator: same seed, same bytes; every row valid; a force that looks real.

Most tests share one small force (300 people over 14 days, some 90,000 events, made in under a
second) and ask questions of it with DuckDB, the way the rest of Custodes reads a bundle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

import custodes.synth
from custodes.bundle.contract import KNOWN_SYSTEMS, TABLES, TABLES_BY_NAME, Kind
from custodes.synth import SCENARIOS, SynthSummary, generate

WORKFORCE, DAYS, SEED = 300, 14, 7
START = dt.date(2026, 1, 5)
TRUTH_FILES = (
    "misuse_events.csv",
    "scenarios.csv",
    "noise_events.csv",
    "hard_negatives.csv",
    "links.csv",
    "shifts.csv",
    "manifest.json",
)
Db = duckdb.DuckDBPyConnection


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("force")
    return out, generate(out, workforce=WORKFORCE, days=DAYS, seed=SEED)


@pytest.fixture(scope="module")
def db(force: tuple[Path, SynthSummary]) -> Db:
    """Every table and truth file as a view of text columns (empty fields read as NULL)."""
    out, _ = force
    con = duckdb.connect()
    files = {t.name: out / f"{t.name}.csv" for t in TABLES}
    for name in TRUTH_FILES[:-1]:
        files["truth_" + name.removesuffix(".csv")] = out / "truth" / name
    for view, path in files.items():
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_csv('{path}', all_varchar = true)")
    return con


def rows(db: Db, sql: str) -> list[tuple[Any, ...]]:
    return db.execute(sql).fetchall()


def number(db: Db, sql: str) -> float:
    """The single number a query returns."""
    (value,) = rows(db, sql)[0]
    assert isinstance(value, int | float), value
    return float(value)


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- the public surface ----------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    assert sorted(custodes.synth.__all__) == ["SCENARIOS", "SynthSummary", "generate"]
    assert len(SCENARIOS) == 12


def test_summary_is_frozen_and_json_safe(force: tuple[Path, SynthSummary]) -> None:
    _, summary = force
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.events = 0  # type: ignore[misc]
    loaded = json.loads(json.dumps(summary.to_dict()))
    assert loaded["rows"]["access_events"] == summary.events
    assert set(loaded["misuse_events"]) == set(SCENARIOS)
    assert summary.seconds > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"workforce": 19, "days": 3}, "workforce must be a whole number of at least 20"),
        ({"workforce": 60, "days": 0}, "days must be a whole number of at least 1"),
        ({"workforce": 60, "days": 3, "seed": -1}, "seed must be a whole number of 0 or more"),
        ({"workforce": 60, "days": 3, "fmt": "xlsx"}, "fmt must be 'csv' or 'parquet'"),
        ({"workforce": 60, "days": 3, "start": "2026-01-05"}, "start must be a datetime.date"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **{"seed": 1, **arguments})  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_progress_is_reported_up_to_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(tmp_path, workforce=60, days=3, seed=1, on_progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1] >= 3


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate(tmp_path / name, workforce=80, days=4, seed=seed)
    a, b, c = (hashes(tmp_path / name) for name in "abc")
    assert a == b
    assert set(a) == set(c)
    assert a["access_events.csv"] != c["access_events.csv"]
    assert a["subjects.csv"] != c["subjects.csv"]


def test_a_second_run_replaces_the_first(tmp_path: Path) -> None:
    generate(tmp_path, workforce=60, days=2, seed=1)
    generate(tmp_path, workforce=60, days=2, seed=1, fmt="parquet")
    assert not list(tmp_path.glob("*.csv"))
    assert len(list(tmp_path.glob("*.parquet"))) == len(TABLES)


# -- the contract, row by row ----------------------------------------------------------------


def test_every_table_has_the_contract_columns_in_order(force: tuple[Path, SynthSummary]) -> None:
    out, _ = force
    for table in TABLES:
        header = (out / f"{table.name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == list(table.names)


def test_required_values_are_present(db: Db) -> None:
    for table in TABLES:
        for column in table.required:
            missing = number(db, f'SELECT count(*) FROM {table.name} WHERE "{column}" IS NULL')
            assert missing == 0, f"{table.name}.{column}"


def test_codes_come_from_the_contract(db: Db) -> None:
    for table in TABLES:
        for column in table.columns:
            if column.kind is Kind.CODE:
                used = rows(db, f'SELECT DISTINCT "{column.name}" FROM {table.name}')
                assert {u for (u,) in used} - {None} <= set(column.codes), column.name
    flags = rows(db, "SELECT DISTINCT unnest(string_split(flags, ';')) FROM subjects")
    assert {f for (f,) in flags} == set(TABLES_BY_NAME["subjects"].by_name["flags"].codes)
    systems = rows(db, "SELECT DISTINCT system FROM access_events")
    assert {s for (s,) in systems} == set(KNOWN_SYSTEMS)


def test_keys_are_unique(db: Db) -> None:
    for table in TABLES:
        if table.key:
            key = ", ".join(f'"{c}"' for c in table.key)
            sql = f"SELECT count(*) FROM {table.name} GROUP BY {key} HAVING count(*) > 1"
            assert rows(db, sql) == [], table.name


def test_dates_and_timestamps_are_iso_8601_utc(db: Db) -> None:
    patterns = {
        Kind.TIMESTAMP: r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
        Kind.DATE: r"^\d{4}-\d\d-\d\d$",
    }
    for table in TABLES:
        for column in table.columns:
            if column.kind in patterns:
                value = f'"{column.name}"'
                bad = number(
                    db,
                    f"SELECT count(*) FROM {table.name} WHERE {value} IS NOT NULL AND "
                    f"(NOT regexp_matches({value}, '{patterns[column.kind]}') "
                    f"OR try_cast({value} AS TIMESTAMPTZ) IS NULL)",
                )
                assert bad == 0, f"{table.name}.{column.name}"


def test_order_rules_hold(db: Db) -> None:
    for table in TABLES:
        for rule in table.order_rules:
            broken = number(
                db,
                f'SELECT count(*) FROM {table.name} WHERE "{rule.later}" < "{rule.earlier}"',
            )
            assert broken == 0, f"{table.name}: {rule.earlier} <= {rule.later}"


def test_nobody_is_born_after_the_window_starts(db: Db) -> None:
    """Relatives too: a young employee's household children are already born."""
    start = generate.__kwdefaults__["start"].isoformat()
    for table, column in (("workforce", "date_of_birth"), ("relations", "date_of_birth")):
        later = number(db, f"SELECT count(*) FROM {table} WHERE {column} >= '{start}'")
        assert later == 0, f"{table}: {int(later)} born after {start}"


def test_events_are_in_time_order_inside_the_window(db: Db) -> None:
    backwards = number(
        db,
        "SELECT count(*) FROM (SELECT ts, lag(ts) OVER () AS before FROM access_events) "
        "WHERE ts < before",
    )
    assert backwards == 0
    ((first, last),) = rows(db, "SELECT min(ts), max(ts) FROM access_events")
    assert str(first) >= f"{START}T00:00:00Z"
    assert str(last) < f"{START + dt.timedelta(days=DAYS)}T00:00:00Z"


@pytest.mark.parametrize(
    ("table", "column", "known"),
    [
        ("access_events", "subject_id", "SELECT subject_id FROM subjects"),
        ("access_events", "operation_ref", "SELECT operation_id FROM operations"),
        ("operation_subjects", "subject_id", "SELECT subject_id FROM subjects"),
        ("operation_subjects", "operation_id", "SELECT operation_id FROM operations"),
        ("assignments", "operation_id", "SELECT operation_id FROM operations"),
        ("assignments", "person_id", "SELECT person_id FROM workforce"),
        ("relations", "person_id", "SELECT person_id FROM workforce"),
        ("operations", "unit_id", "SELECT unit_id FROM units"),
        ("workforce", "unit_id", "SELECT unit_id FROM units"),
    ],
)
def test_references_resolve(db: Db, table: str, column: str, known: str) -> None:
    assert number(db, f"SELECT count(*) FROM {table} WHERE {column} NOT IN ({known})") == 0


def test_searches_carry_a_query_and_disclosures_a_recipient(db: Db) -> None:
    def events(where: str) -> float:
        return number(db, f"SELECT count(*) FROM access_events WHERE {where}")

    assert events("action = 'search' AND query IS NULL") == 0
    assert events("action <> 'search' AND query IS NOT NULL") == 0
    assert events("action IN ('disclose', 'export') AND recipient IS NULL") == 0
    assert events("action = 'search' AND subject_id IS NULL") > 0
    ((query,),) = rows(db, "SELECT query FROM access_events WHERE query LIKE '%dob=%' LIMIT 1")
    assert str(query).startswith("surname=")


# -- the truth -------------------------------------------------------------------------------


def test_truth_files_are_all_there(force: tuple[Path, SynthSummary]) -> None:
    out, summary = force
    assert sorted(p.name for p in (out / "truth").iterdir()) == sorted(TRUTH_FILES)
    manifest = json.loads((out / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["seed"] == SEED
    assert manifest["rows"] == summary.rows
    assert manifest["misuse_events"] == summary.misuse_events
    assert 0.8 < manifest["explainable_share"] < 1


def test_every_scenario_happens_at_least_once(db: Db) -> None:
    instances = dict(rows(db, "SELECT scenario, count(*) FROM truth_scenarios GROUP BY ALL"))
    events = dict(rows(db, "SELECT scenario, count(*) FROM truth_misuse_events GROUP BY ALL"))
    assert set(instances) == set(events) == set(SCENARIOS)
    per_instance = rows(
        db,
        "SELECT instance_id, s.events::INT, count(m.event_id) FROM truth_scenarios s "
        "LEFT JOIN truth_misuse_events m USING (instance_id) GROUP BY ALL",
    )
    assert all(written == counted > 0 for _, written, counted in per_instance)


@pytest.mark.parametrize("seed", range(5))
def test_even_the_smallest_force_has_every_scenario(tmp_path: Path, seed: int) -> None:
    summary = generate(tmp_path, workforce=20, days=1, seed=seed)
    assert all(summary.misuse_instances[s] >= 1 for s in SCENARIOS)
    assert all(summary.misuse_events[s] >= 1 for s in SCENARIOS)


def test_truth_event_ids_exist_in_the_bundle(db: Db) -> None:
    for view in ("truth_misuse_events", "truth_noise_events", "truth_hard_negatives"):
        known = "SELECT event_id FROM access_events"
        assert number(db, f"SELECT count(*) FROM {view} WHERE event_id NOT IN ({known})") == 0
    clash = number(
        db,
        "SELECT count(*) FROM truth_misuse_events WHERE event_id IN "
        "(SELECT event_id FROM truth_noise_events UNION SELECT event_id FROM truth_hard_negatives)",
    )
    assert clash == 0


def test_unknown_accounts_are_not_in_the_workforce_and_everyone_else_is(db: Db) -> None:
    ghosts = rows(
        db,
        "SELECT DISTINCT person_id IN (SELECT person_id FROM workforce) "
        "FROM truth_misuse_events WHERE scenario = 'unknown_account'",
    )
    assert ghosts == [(False,)]
    strangers = number(
        db,
        "SELECT count(*) FROM access_events "
        "WHERE person_id NOT IN (SELECT person_id FROM workforce) AND event_id NOT IN "
        "(SELECT event_id FROM truth_misuse_events WHERE scenario = 'unknown_account')",
    )
    assert strangers == 0


def test_leavers_are_caught_after_they_left(db: Db) -> None:
    leavers = rows(
        db,
        "SELECT e.ts, w.left FROM truth_misuse_events m JOIN access_events e USING (event_id) "
        "JOIN workforce w ON w.person_id = m.person_id WHERE m.scenario = 'leaver_access'",
    )
    assert leavers
    assert all(left is not None and str(ts)[:10] > str(left) for ts, left in leavers)
    # Nobody else works after leaving or before joining.
    outside = number(
        db,
        "SELECT count(*) FROM access_events e JOIN workforce w USING (person_id) "
        "WHERE (e.ts[:10] > w.left OR e.ts[:10] < w.joined) "
        "AND e.event_id NOT IN (SELECT event_id FROM truth_misuse_events)",
    )
    assert outside == 0


def test_liars_name_a_purpose_or_an_operation_that_does_not_connect(db: Db) -> None:
    lies = rows(
        db,
        "SELECT e.purpose, e.operation_ref FROM truth_misuse_events m "
        "JOIN access_events e USING (event_id) WHERE m.lied = 'true'",
    )
    assert lies
    assert all(purpose or op for purpose, op in lies)
    connected = number(
        db,
        "SELECT count(*) FROM truth_misuse_events m JOIN access_events e USING (event_id) "
        "JOIN operation_subjects s "
        "ON s.operation_id = e.operation_ref AND s.subject_id = e.subject_id "
        "JOIN assignments a ON a.operation_id = e.operation_ref AND a.person_id = e.person_id "
        "WHERE m.lied = 'true' AND e.purpose IS NULL",
    )
    assert connected == 0  # where the operation checks out, the purpose is the lie


def test_bulk_browsing_pages_through_sequential_records(db: Db) -> None:
    browsed = rows(
        db,
        "SELECT subject_id FROM truth_misuse_events WHERE scenario = 'bulk_browsing' "
        "ORDER BY event_id",
    )
    numbers = [int(str(s)[1:]) for (s,) in browsed]
    assert len(numbers) >= 50
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_disclosures_to_strangers_go_to_addresses_nobody_else_uses(db: Db) -> None:
    strangers = rows(
        db,
        "SELECT recipient FROM truth_misuse_events JOIN access_events USING (event_id) "
        "WHERE scenario = 'unknown_recipient_disclosure' AND recipient IS NOT NULL",
    )
    legitimate = rows(
        db,
        "SELECT DISTINCT recipient FROM access_events WHERE recipient IS NOT NULL "
        "AND event_id NOT IN (SELECT event_id FROM truth_misuse_events)",
    )
    assert strangers and not set(strangers) & set(legitimate)
    assert ("CPS",) in legitimate


# -- realism ---------------------------------------------------------------------------------


def test_misuse_is_rare_and_noise_is_a_few_percent(db: Db) -> None:
    events = number(db, "SELECT count(*) FROM access_events")
    misuse = number(db, "SELECT count(*) FROM truth_misuse_events")
    noise = number(db, "SELECT count(DISTINCT event_id) FROM truth_noise_events")
    assert 0 < misuse / events < 0.05
    assert 0.01 < noise / events < 0.08
    misusers = number(db, "SELECT count(DISTINCT person_id) FROM truth_scenarios")
    assert misusers == len(SCENARIOS)


def test_the_force_has_every_kind_of_unit_and_mostly_officers_and_staff(db: Db) -> None:
    kinds = rows(db, "SELECT DISTINCT kind FROM units")
    assert {k for (k,) in kinds} == set(TABLES_BY_NAME["units"].by_name["kind"].codes)
    assert 0.85 < number(db, "SELECT avg((role IN ('officer', 'staff'))::INT) FROM workforce") < 1
    assert number(db, 'SELECT count(*) FROM workforce WHERE "left" IS NOT NULL') >= 2


def test_subjects_outnumber_staff_and_share_surnames_and_postcodes(db: Db) -> None:
    subjects = number(db, "SELECT count(*) FROM subjects")
    assert subjects >= 10 * WORKFORCE
    commonest = number(db, "SELECT max(n) FROM (SELECT count(*) n FROM subjects GROUP BY surname)")
    assert commonest > 0.008 * subjects
    with_neighbours = number(
        db,
        "SELECT avg((n > 1)::INT) FROM (SELECT postcode, count(*) n FROM subjects "
        "WHERE postcode IS NOT NULL GROUP BY ALL)",
    )
    assert with_neighbours > 0.6
    badly_formed = number(
        db,
        "SELECT count(*) FROM subjects "
        "WHERE NOT regexp_matches(postcode, '^[A-Z]{2}[0-9]{1,2} [0-9][A-Z]{2}$')",
    )
    assert badly_formed == 0


def test_employees_appear_as_subjects_under_other_spellings(db: Db) -> None:
    selves = rows(
        db,
        "SELECT w.surname, w.forenames, w.date_of_birth, "
        "s.surname, s.forenames, s.date_of_birth, l.variants "
        "FROM truth_links l JOIN workforce w USING (person_id) JOIN subjects s USING (subject_id) "
        "WHERE l.relation = 'self'",
    )
    assert len(selves) >= 0.15 * WORKFORCE
    differ = [r for r in selves if r[:3] != r[3:6]]
    assert len(differ) >= 20
    assert all(r[6] for r in differ)  # every difference is recorded as a variant
    variants = {v for r in selves if r[6] for v in str(r[6]).split(";")}
    assert {"nickname", "no_middle_name", "moved"} <= variants
    assert number(db, "SELECT count(*) FROM truth_links WHERE relation <> 'self'") > 20
    assert number(db, "SELECT count(*) FROM truth_links WHERE declared = 'false'") >= 1


def test_people_work_on_their_shifts(db: Db) -> None:
    on_shift = 'e.ts >= s.start AND e.ts < s."end"'
    inside = number(
        db,
        f"SELECT avg(inside::INT) FROM (SELECT e.event_id, bool_or({on_shift}) AS inside "
        "FROM access_events e LEFT JOIN truth_shifts s USING (person_id) "
        "WHERE e.event_id NOT IN (SELECT event_id FROM truth_misuse_events) GROUP BY ALL)",
    )
    assert inside > 0.97
    off_pattern = number(
        db,
        "SELECT count(*) FROM truth_misuse_events m JOIN access_events e USING (event_id) "
        f"JOIN truth_shifts s ON s.person_id = e.person_id AND {on_shift} "
        "WHERE m.scenario = 'off_pattern'",
    )
    assert off_pattern == 0


EXPLAINED = """
WITH ev AS (
    SELECT event_id, ts::TIMESTAMPTZ AS ts, person_id, subject_id FROM access_events
    WHERE subject_id IS NOT NULL
),
by_assignment AS (
    SELECT DISTINCT ev.event_id FROM ev
    JOIN operation_subjects s USING (subject_id)
    JOIN assignments a ON a.operation_id = s.operation_id AND a.person_id = ev.person_id
    WHERE ev.ts >= a.start::TIMESTAMPTZ AND (a."end" IS NULL OR ev.ts <= a."end"::TIMESTAMPTZ)
),
by_unit AS (
    SELECT DISTINCT ev.event_id FROM ev
    JOIN operation_subjects s USING (subject_id)
    JOIN operations o ON o.operation_id = s.operation_id
    JOIN workforce w ON w.person_id = ev.person_id AND w.unit_id = o.unit_id
    JOIN units u ON u.unit_id = o.unit_id
    WHERE u.kind IN ('control_room', 'intelligence', 'custody')
    AND ev.ts::DATE BETWEEN o.opened::DATE AND coalesce(o.closed::DATE, DATE '9999-12-31')
)
SELECT ev.event_id,
    ev.event_id IN (SELECT event_id FROM by_assignment) AS assigned,
    ev.event_id IN (SELECT event_id FROM by_unit) AS unit,
    ev.event_id IN (SELECT event_id FROM truth_noise_events) AS noise,
    ev.event_id IN (SELECT event_id FROM truth_misuse_events) AS misuse
FROM ev
"""


def test_the_truth_agrees_with_what_the_bundle_can_explain(db: Db) -> None:
    """Explained events have a path in the data (an assignment, or their unit's work on the
    operation); misuse and noise mostly have none."""
    shares = rows(
        db,
        "SELECT noise, misuse, avg((assigned OR unit)::INT), avg(assigned::INT) "
        f"FROM ({EXPLAINED}) GROUP BY ALL",
    )
    found = {(noise, misuse): (either, assigned) for noise, misuse, either, assigned in shares}
    assert found[(False, False)][0] > 0.995  # legitimate and explained
    assert found[(True, False)][1] < 0.1  # hard to explain: no assignment covers it
    assert found[(False, True)][0] < 0.2  # misuse


def test_front_line_roles_are_busy_on_shift_and_back_office_is_not(db: Db) -> None:
    per_shift = dict(
        rows(
            db,
            "WITH events AS (SELECT u.kind, count(*) AS n FROM access_events e "
            "JOIN workforce w USING (person_id) JOIN units u USING (unit_id) GROUP BY ALL), "
            "shifts AS (SELECT u.kind, count(*) AS n FROM truth_shifts s "
            "JOIN workforce w USING (person_id) JOIN units u USING (unit_id) GROUP BY ALL) "
            "SELECT kind, events.n / shifts.n FROM events JOIN shifts USING (kind)",
        )
    )
    for kind in ("response", "neighbourhood", "control_room", "custody", "cid"):
        assert 20 <= per_shift[kind] <= 60, kind
    assert per_shift["admin"] < 10


def test_hard_negatives_are_legitimate_and_explained(db: Db) -> None:
    kinds = dict(rows(db, "SELECT kind, count(*) FROM truth_hard_negatives GROUP BY ALL"))
    assert {"same_surname", "same_postcode", "psd_colleague"} <= set(kinds)
    same_surname = number(
        db,
        "SELECT avg((w.surname = s.surname)::INT) FROM truth_hard_negatives h "
        "JOIN access_events e USING (event_id) JOIN workforce w USING (person_id) "
        "JOIN subjects s USING (subject_id) WHERE h.kind = 'same_surname'",
    )
    assert same_surname == 1
    noisy = number(
        db,
        "SELECT count(*) FROM truth_hard_negatives "
        "WHERE event_id IN (SELECT event_id FROM truth_noise_events)",
    )
    assert noisy == 0


# -- Parquet ---------------------------------------------------------------------------------


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    generate(tmp_path / "csv", workforce=60, days=3, seed=5)
    summary = generate(tmp_path / "parquet", workforce=60, days=3, seed=5, fmt="parquet")
    generate(tmp_path / "again", workforce=60, days=3, seed=5, fmt="parquet")
    assert hashes(tmp_path / "parquet") == hashes(tmp_path / "again")
    for table in TABLES:
        parquet = pq.read_table(tmp_path / "parquet" / f"{table.name}.parquet")
        assert parquet.column_names == list(table.names)
        assert parquet.num_rows == summary.rows[table.name]
        path = tmp_path / "csv" / f"{table.name}.csv"
        csv = duckdb.execute(f"SELECT * FROM read_csv('{path}', all_varchar = true)").fetchall()
        assert csv == [tuple(row.values()) for row in parquet.to_pylist()], table.name
    csv_truth, parquet_truth = (hashes(tmp_path / f / "truth") for f in ("csv", "parquet"))
    del csv_truth["manifest.json"], parquet_truth["manifest.json"]  # they name the format
    assert csv_truth == parquet_truth
