"""Every rule of the contract, one case each: the bad row is quarantined with file, line, column
and a reason a person can act on, and the good row beside it is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.store.ingest import ingest
from tests.conftest import EVENTS_HEADER, BundleFactory, rows

GOOD_EVENT = "E0,2026-01-05T08:00:00Z,P1,consult,PNC,S1,ok"

EVENT_CASES = [
    # (bad row, column, reason contains)
    ("E9,,P1,consult,PNC,S1,", "ts", "ts is required but empty"),
    ("E9,2026-01-05T08:00:00Z,,consult,PNC,S1,", "person_id", "person_id is required but empty"),
    (",2026-01-05T08:00:00Z,P1,consult,PNC,S1,", "event_id", "event_id is required but empty"),
    ("E9,2026-01-05T08:00:00Z,P1,,PNC,S1,", "action", "action is required but empty"),
    ("E9,2026-01-05T08:00:00Z,P1,consult,,S1,", "system", "system is required but empty"),
    ("E9,2026-01-05 08:00:00,P1,consult,PNC,S1,", "ts", "has no UTC offset"),
    ("E9,05/01/2026 08:00,P1,consult,PNC,S1,", "ts", "is not an ISO 8601 timestamp"),
    ("E9,2026-13-05T08:00:00Z,P1,consult,PNC,S1,", "ts", "is not an ISO 8601 timestamp"),
    ("E9,2026-01-05T08:00:00Z,P1,peek,PNC,S1,", "action", "unknown action 'peek'; expected one of"),
    ("E9,2026-01-05T08:00:00Z,P1,consult,P N C,S1,", "system", "is not a system code"),
    ("E9,2026-01-05T08:00:00Z,P1,consult,PNC,S1,a,b", "", "more fields than the header"),
    ("E9,2026-01-05T08:00:00Z,P1", "", "fewer fields than the header"),
]


@pytest.mark.parametrize(("bad", "column", "reason"), EVENT_CASES)
def test_bad_event_is_quarantined_with_line_column_and_reason(
    make_bundle: BundleFactory, home: Path, bad: str, column: str, reason: str
) -> None:
    bundle = make_bundle(access_events=f"{EVENTS_HEADER}{GOOD_EVENT}\n{bad}\n")
    report = ingest(bundle, home)
    counts = report.files[0].counts
    assert (counts.read, counts.stored, counts.quarantined, counts.duplicates) == (2, 1, 1, 0)
    [(file, line, column_name, why)] = rows(
        home, "SELECT file, line, column_name, reason FROM quarantine"
    )
    assert file.endswith("access_events.csv")
    assert line == 3
    if column:
        assert column_name == column
    assert reason in why


REFERENCE_CASES = [
    ("units", "unit_id,name,kind\n", "U9,Mars,spaceship", "kind", "unknown kind 'spaceship'"),
    (
        "workforce",
        "person_id,role,surname,forenames,joined,left\n",
        "P9,wizard,Smith,Jo,2010-01-01,",
        "role",
        "unknown role 'wizard'",
    ),
    (
        "workforce",
        "person_id,role,surname,forenames,joined,left\n",
        "P9,officer,Smith,Jo,2010-01-01,2009-12-31",
        "left",
        "left (2009-12-31) is before joined (2010-01-01)",
    ),
    (
        "workforce",
        "person_id,role,surname,forenames,joined,date_of_birth\n",
        "P9,officer,Smith,Jo,2010-01-01,1985-02-30",
        "date_of_birth",
        "'1985-02-30' is not a date YYYY-MM-DD",
    ),
    (
        "workforce",
        "person_id,role,surname,forenames,joined\n",
        "P9,officer,,Jo,2010-01-01",
        "surname",
        "surname is required but empty",
    ),
    (
        "relations",
        "person_id,relation,surname,forenames\n",
        "P1,cousin,Smith,Al",
        "relation",
        "unknown relation 'cousin'",
    ),
    (
        "subjects",
        "subject_id,surname,forenames,flags\n",
        "S9,Smith,Al,vip;royal",
        "flags",
        "unknown flags 'royal'",
    ),
    (
        "operations",
        "operation_id,kind,opened,closed\n",
        "O9,incident,2026-01-05,2026-01-01",
        "closed",
        "closed (2026-01-01) is before opened (2026-01-05)",
    ),
    (
        "operation_subjects",
        "operation_id,subject_id,role\n",
        "O1,S1,bystander",
        "role",
        "unknown role 'bystander'",
    ),
    (
        "assignments",
        "operation_id,person_id,start,end\n",
        "O1,P1,2026-01-05T10:00:00Z,2026-01-05T09:00:00Z",
        "end",
        "is before start",
    ),
]

REFERENCE_GOOD = {
    "units": "U1,Response,response",
    "workforce": None,
    "relations": "P1,household,Smith,Jane",
    "subjects": "S1,Smith,Jane,vip",
    "operations": "O1,incident,2026-01-05,",
    "operation_subjects": "O1,S1,victim",
    "assignments": "O1,P1,2026-01-05T08:00:00Z,",
}


@pytest.mark.parametrize(("table", "header", "bad", "column", "reason"), REFERENCE_CASES)
def test_bad_reference_row_is_quarantined(
    make_bundle: BundleFactory,
    home: Path,
    table: str,
    header: str,
    bad: str,
    column: str,
    reason: str,
) -> None:
    good = REFERENCE_GOOD[table]
    if good is None:  # workforce headers differ per case: build a good row to fit
        good = ",".join(
            {
                "person_id": "P1",
                "role": "officer",
                "surname": "Ok",
                "forenames": "A",
                "joined": "2010-01-01",
            }.get(c, "")
            for c in header.strip().split(",")
        )
    bundle = make_bundle(**{table: f"{header}{good}\n{bad}\n"})
    report = ingest(bundle, home)
    counts = report.files[0].counts
    assert (counts.read, counts.stored, counts.quarantined) == (2, 1, 1)
    [(line, column_name, why)] = rows(home, "SELECT line, column_name, reason FROM quarantine")
    assert (line, column_name) == (3, column)
    assert reason in why


def test_every_problem_of_a_row_is_named(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(access_events=f"{EVENTS_HEADER}E1,yesterday,,peek,PNC,S1,\n")
    ingest(bundle, home)
    [(column, reason)] = rows(home, "SELECT column_name, reason FROM quarantine")
    assert column == "ts"
    assert "ts 'yesterday'" in reason
    assert "person_id is required" in reason
    assert "unknown action 'peek'" in reason


def test_codes_are_accepted_in_any_case_and_stored_normalised(
    make_bundle: BundleFactory, home: Path
) -> None:
    bundle = make_bundle(access_events=f"{EVENTS_HEADER}E1,2026-01-05T08:00:00Z,P1,CONSULT,pnc,,\n")
    ingest(bundle, home)
    assert rows(home, "SELECT action, system FROM access_events") == [("consult", "PNC")]


def test_invalid_utf8_row_is_quarantined_and_the_rest_loads(
    make_bundle: BundleFactory, home: Path
) -> None:
    data = (
        EVENTS_HEADER.encode()
        + b"E1,2026-01-05T08:00:00Z,P1,consult,PNC,S1,caf\xe9\n"
        + GOOD_EVENT.encode()
        + b"\n"
    )
    report = ingest(make_bundle(access_events=data), home)
    counts = report.files[0].counts
    assert (counts.read, counts.stored, counts.quarantined) == (2, 1, 1)
    [(line, reason)] = rows(home, "SELECT line, reason FROM quarantine")
    assert line == 2
    assert "not valid UTF-8" in reason


def test_unterminated_quote_is_quarantined(make_bundle: BundleFactory, home: Path) -> None:
    bundle = make_bundle(
        access_events=f'{EVENTS_HEADER}{GOOD_EVENT}\nE2,2026-01-05T08:00:00Z,P1,consult,PNC,S1,"never closed\n'
    )
    report = ingest(bundle, home)
    assert report.files[0].counts.quarantined == 1
    assert report.files[0].counts.balanced


def test_line_numbers_count_physical_lines_across_quoted_line_breaks(
    make_bundle: BundleFactory, home: Path
) -> None:
    text = (
        EVENTS_HEADER
        + 'E1,2026-01-05T08:00:00Z,P1,consult,PNC,S1,"two\nlines"\n'  # lines 2-3
        + "E2,2026-01-05T08:00:00Z,P1\n"  # line 4: too few fields
        + 'E3,2026-01-05T08:00:00Z,P1,consult,PNC,S1,"three\nmore\nlines"\n'  # lines 5-7
        + "E4,bad,P1,consult,PNC,S1,\n"  # line 8
    )
    ingest(make_bundle(access_events=text), home)
    assert rows(home, "SELECT line FROM quarantine ORDER BY line") == [(4,), (8,)]
    assert rows(home, "SELECT purpose FROM access_events WHERE event_id = 'E3'") == [
        ("three\nmore\nlines",)
    ]


def test_same_event_id_with_different_content_in_one_file(
    make_bundle: BundleFactory, home: Path
) -> None:
    text = (
        f"{EVENTS_HEADER}{GOOD_EVENT}\n{GOOD_EVENT}\nE0,2026-01-05T08:00:00Z,P1,consult,PNC,S2,ok\n"
    )
    report = ingest(make_bundle(access_events=text), home)
    counts = report.files[0].counts
    assert (counts.read, counts.stored, counts.duplicates, counts.quarantined) == (3, 1, 1, 1)
    [(line, column, reason)] = rows(home, "SELECT line, column_name, reason FROM quarantine")
    assert (line, column) == (4, "event_id")
    assert "appears earlier in this file with different content (line 2)" in reason


def test_event_id_already_stored_with_different_content(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(access_events=f"{EVENTS_HEADER}{GOOD_EVENT}\n"), home)
    changed = f"{EVENTS_HEADER}E0,2026-01-05T08:00:00Z,P1,consult,PNC,S1,edited purpose\n"
    report = ingest(make_bundle(access_events=changed), home)
    assert report.files[0].counts.quarantined == 1
    [(reason,)] = rows(home, "SELECT reason FROM quarantine")
    assert "already stored with different content" in reason
    assert rows(home, "SELECT purpose FROM access_events") == [("ok",)]
