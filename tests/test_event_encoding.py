"""The canonical event encoding: the Arrow columns that encode millions of events and the Python
reference a third party would re-implement produce the same bytes, for any events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.bundle.contract import ACTIONS
from custodes.store.encoding import EVENT_COLUMNS, encode_event
from custodes.store.encoding_columns import encode_events

TEXT = st.one_of(st.none(), st.text(max_size=30))
EVENTS = st.fixed_dictionaries(
    {
        "event_id": st.text(min_size=1, max_size=20),
        "ts": st.datetimes(
            min_value=datetime(1900, 1, 1),
            max_value=datetime(2200, 1, 1),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
            ),
        ),
        "person_id": st.text(min_size=1, max_size=10),
        "action": st.sampled_from(ACTIONS),
        "system": st.sampled_from(["PNC", "PND", "RMS"]),
        "subject_id": TEXT,
        "record_ref": TEXT,
        "query": TEXT,
        "purpose": TEXT,
        "operation_ref": TEXT,
        "recipient": TEXT,
        "terminal": TEXT,
        "_extra": st.one_of(
            st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5)).map(json.dumps)
        ),
    }
)
PLAIN = {
    "event_id": "E1",
    "ts": datetime(2026, 1, 5, 9, 13, 22, 5, tzinfo=UTC),
    "person_id": "P1",
    "action": "consult",
    "system": "PNC",
}


def _table(events: list[dict[str, object]]) -> pa.Table:
    """The events as stored columns (every contract column, ``ts`` as a UTC timestamp)."""
    names = [*(column.name for column in EVENT_COLUMNS), "_extra"]
    columns = {
        name: pa.array(
            [event.get(name) for event in events],
            pa.timestamp("us", tz="UTC") if name == "ts" else pa.string(),
        )
        for name in names
    }
    return pa.table(columns)


@settings(max_examples=150, deadline=None)
@given(st.lists(EVENTS, max_size=12))
def test_column_and_reference_encodings_agree(events: list[dict[str, object]]) -> None:
    encoded = encode_events(_table(events)).to_pylist()
    assert encoded == [encode_event(event) for event in events]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC)), min_size=1, max_size=8
    )
)
def test_any_year_is_written_as_the_reference_writes_it(times: list[datetime]) -> None:
    events = [{**PLAIN, "ts": moment} for moment in times]
    assert encode_events(_table(events)).to_pylist() == [encode_event(e) for e in events]


def test_a_column_missing_from_the_rows_is_encoded_as_null() -> None:
    table = _table([PLAIN]).drop_columns(["recipient", "_extra"])
    assert encode_events(table).to_pylist() == [encode_event(PLAIN)]


def test_escaping_touches_only_the_values_that_need_it() -> None:
    events = [
        {**PLAIN, "purpose": text} for text in ["plain", 'say "hi"', "a\\b", "x\ny\x01", None]
    ]
    encoded = encode_events(_table(events)).to_pylist()
    assert encoded == [encode_event(event) for event in events]
    assert [json.loads(e)["purpose"] for e in encoded] == [e["purpose"] for e in events]


def test_an_encoding_reads_as_the_event() -> None:
    event = {
        "event_id": "E1",
        "ts": datetime(2026, 1, 5, 9, 13, 22, tzinfo=timezone(timedelta(hours=1))),
        "person_id": "P1",
        "action": "consult",
        "system": "PNC",
        "purpose": 'café "x"\n',
        "_extra": '{"terminal_ip":"10.0.0.7"}',
    }
    encoded = encode_event(event)
    assert encoded.startswith(b'{"action":"consult","event_id":"E1","extra":')
    decoded = json.loads(encoded)
    assert decoded["ts"] == "2026-01-05T08:13:22.000000Z"
    assert decoded["purpose"] == 'café "x"\n'
    assert decoded["type"] == "access_event"
    assert decoded["recipient"] is None
    assert list(decoded) == sorted(decoded)
