"""The canonical event encoding: the SQL that encodes millions of events and the Python reference
a third party would re-implement produce the same bytes, for any event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.bundle.contract import ACTIONS
from custodes.store.encoding import encode_event, encoding_sql

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


def _sql_encoding(db: duckdb.DuckDBPyConnection, event: dict[str, object]) -> bytes:
    names = list(event)
    placeholders = ", ".join(
        f"CAST(? AS TIMESTAMPTZ) AS {name}" if name == "ts" else f"CAST(? AS VARCHAR) AS {name}"
        for name in names
    )
    values = [event[n].isoformat() if n == "ts" else event[n] for n in names]  # type: ignore[union-attr]
    row = db.execute(
        f"SELECT {encoding_sql('e')} FROM (SELECT {placeholders}) e", values
    ).fetchone()
    assert row is not None
    return str(row[0]).encode()


@settings(max_examples=150, deadline=None)
@given(EVENTS)
def test_sql_and_reference_encodings_agree(event: dict[str, object]) -> None:
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    assert _sql_encoding(db, event) == encode_event(event)


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
