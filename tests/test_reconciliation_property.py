"""Whatever a bundle holds, ingest never crashes and never loses a row.

Hypothesis writes event files with random bad rows (missing and extra fields, empty required
values, bad timestamps and codes, bytes that are not UTF-8, duplicates, conflicting ids) and
random truncation; for every one, rows read = stored + quarantined + duplicates, the rows read
are the rows written, and each quarantined row is in the quarantine with its line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.store import LeafPool, audit, open_store
from custodes.store.ingest import ingest
from tests.conftest import EVENTS_HEADER, rows

GOOD = "{id},2026-01-{day:02d}T{hour:02d}:00:00Z,P{person},consult,PNC,S{subject},purpose"
CORRUPTIONS = {
    "good": lambda r: r,
    "missing_field": lambda r: r.rsplit(",", 2)[0],
    "extra_field": lambda r: r + ",surplus",
    "empty_ts": lambda r: _set(r, 1, ""),
    "naive_ts": lambda r: _set(r, 1, "2026-01-05 10:00:00"),
    "bad_ts": lambda r: _set(r, 1, "last tuesday"),
    "bad_action": lambda r: _set(r, 3, "peek"),
    "empty_person": lambda r: _set(r, 2, ""),
    "bad_system": lambda r: _set(r, 4, "P N C"),
    "latin1": lambda r: r + "\xe9",  # encoded below as Latin-1: not UTF-8
    "quoted_newline": lambda r: _set(r, 6, '"line one\nline two"'),
}


def _set(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


@st.composite
def event_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """An events file and the number of data records it holds."""
    n = draw(st.integers(min_value=0, max_value=60))
    records: list[bytes] = []
    for i in range(n):
        kind = draw(st.sampled_from(sorted(CORRUPTIONS)))
        event_id = draw(st.sampled_from([f"E{i}", f"E{max(i - 1, 0)}"]))  # some ids repeat
        row = GOOD.format(
            id=event_id,
            day=draw(st.integers(1, 28)),
            hour=draw(st.integers(0, 23)),
            person=draw(st.integers(1, 5)),
            subject=draw(st.integers(1, 9)),
        )
        text = CORRUPTIONS[kind](row)
        encoding = "latin-1" if kind == "latin1" else "utf-8"
        records.append(text.encode(encoding))
        if draw(st.booleans()) and records:  # an exact copy of an earlier row
            records.append(draw(st.sampled_from(records)))
    body = EVENTS_HEADER.encode() + b"".join(r + b"\n" for r in records)
    if records and draw(st.booleans()):
        # Truncate inside the last record (a transfer cut short): it stays one record.
        last = records[-1]
        cut = draw(st.integers(min_value=1, max_value=max(1, len(last) - 1)))
        body = body[: len(body) - len(last) - 1 + cut]
    return body, len(records)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_files(), st.sampled_from([1_000_000, 7]))
def test_rows_read_equal_rows_stored_quarantined_or_skipped(
    data: tuple[bytes, int], batch_rows: int
) -> None:
    body, written = data
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        (bundle / "access_events.csv").write_bytes(body)
        home = Path(tmp) / "home"
        report = ingest(bundle, home, batch_rows=batch_rows)
        counts = report.files[0].counts
        assert counts.read == written
        assert counts.read == counts.stored + counts.quarantined + counts.duplicates
        assert rows(home, "SELECT count(*) FROM access_events") == [(counts.stored,)]
        assert rows(home, "SELECT count(*) FROM quarantine") == [(counts.quarantined,)]
        assert rows(home, "SELECT count(*) FROM quarantine WHERE line IS NULL OR line < 2") == [
            (0,)
        ]
        # The ledger: one leaf per stored event and per batch, and every leaf checks.
        batches = len(report.files[0].batches)
        with open_store(home) as store, LeafPool() as pool:
            assert store.catalog.ledger_size() == counts.stored + batches
            assert audit(store, pool).ok
        again = ingest(bundle, home, batch_rows=batch_rows)
        assert again.files[0].counts.stored == 0
        assert rows(home, "SELECT count(*) FROM quarantine") == [(counts.quarantined,)]
