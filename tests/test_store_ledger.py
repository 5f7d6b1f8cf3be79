"""The ledger as part of the store: every stored event is a leaf, and the log proves it.

Ingest appends one leaf per stored access event (in record order) and one per batch (a system
event); a checkpoint signs the result; anyone holding the log's verifier key checks a receipt
with no access to the store; ``audit`` recomputes everything; erasure keeps the log whole.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import custodes.store.leaves as leaves_module
from custodes.errors import StoreError
from custodes.ledger import (
    ConsistencyProof,
    MerkleTree,
    Signer,
    event_leaf,
    generate_signer,
    leaf_hash,
    verify_receipt,
)
from custodes.store import (
    LeafPool,
    audit,
    consistency,
    erase_event,
    ingest,
    issue_checkpoint,
    open_store,
    receipt_for_event,
    receipt_for_system_event,
    record,
    writer,
)
from custodes.store.encoding import encode_event
from custodes.store.leaves import event_leaves
from tests.conftest import EVENTS, EVENTS_HEADER, UNITS, WORKFORCE, BundleFactory, rows

LOG = "police.example/custodes"
MORE_EVENTS = (
    EVENTS_HEADER
    + """E4,2026-02-02T10:00:00Z,P2,consult,PNC,S3,check
E5,2026-02-03T11:00:00Z,P1,consult,PNC,S1,follow-up
"""
)


@pytest.fixture
def signer() -> Signer:
    return generate_signer(LOG)


def _audit(home: Path) -> tuple[bool, str]:
    with open_store(home) as store, LeafPool() as pool:
        report = audit(store, pool)
    return report.ok, str(report.first_bad)


def _size(home: Path) -> int:
    with open_store(home) as store:
        return store.catalog.ledger_size()


def test_every_stored_event_and_every_batch_is_one_leaf(
    make_bundle: BundleFactory, home: Path
) -> None:
    report = ingest(make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS), home)
    batches = sum(len(f.batches) for f in report.files)
    assert _size(home) == 3 + batches  # three events, and one leaf per batch (units, ...)
    with open_store(home) as store, store.read_tree() as tree:
        assert tree.size == _size(home)
        kinds = [e.kind for e in store.catalog.system_events()]
    assert kinds == ["ingest_batch"] * batches
    assert _audit(home) == (True, "None")


def test_a_leaf_commits_to_the_events_canonical_encoding_and_salt(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(workforce=WORKFORCE, access_events=EVENTS), home)
    with open_store(home) as store:
        (span,) = store.catalog.event_spans()
        stored = store.db.execute(
            "SELECT * EXCLUDE (month, _batch) FROM access_events ORDER BY _rec"
        ).to_arrow_table()
        with store.read_tree() as tree:
            for index, event in enumerate(stored.to_pylist()):
                leaf = event_leaf(event["_salt"], encode_event(event))
                assert tree.leaf_hash(span.leaf_first + index) == leaf
    salts = {bytes(e["_salt"]) for e in stored.to_pylist()}
    assert len(salts) == 3 and all(len(s) == 32 for s in salts)  # fresh, random, per event


def test_quarantined_and_duplicate_rows_get_no_leaf(make_bundle: BundleFactory, home: Path) -> None:
    events = (
        EVENTS
        + "E1,2026-01-05T08:00:00Z,P1,consult,PNC,S1,routine check\nE9,not a time,P1,consult,PNC,S1,x\n"
    )
    report = ingest(make_bundle(access_events=events), home)
    (events_report,) = report.files
    assert (events_report.counts.stored, events_report.counts.duplicates) == (3, 1)
    assert events_report.counts.quarantined == 1
    assert _size(home) == 3 + 1


def test_a_receipt_verifies_with_nothing_but_the_log_key(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(workforce=WORKFORCE, access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        receipt = receipt_for_event(store, "E2")
    verified = verify_receipt(receipt, [signer.verifier()])
    assert verified.event["event_id"] == "E2"
    assert verified.event["person_id"] == "P2"
    assert verified.checkpoint.size == _size(home)
    assert receipt.to_json()["leafIdx"] == verified.leaf_index


def test_receipts_for_many_events_are_those_for_each_one(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    from custodes.store.ledger import receipts_for_events

    ingest(make_bundle(workforce=WORKFORCE, access_events=EVENTS), home)
    ingest(make_bundle(access_events=MORE_EVENTS), home)
    erase_event(home, "E4", reason="court order", erased_by="dpo")
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        many = receipts_for_events(store, ["E5", "E1", "E3", "E1"])
        assert sorted(many) == ["E1", "E3", "E5"]
        for event_id, receipt in many.items():
            assert receipt.to_json() == receipt_for_event(store, event_id).to_json()
        with pytest.raises(StoreError, match="'E4' was lawfully erased"):
            receipts_for_events(store, ["E1", "E4"])
        with pytest.raises(StoreError, match="no access event 'E9'"):
            receipts_for_events(store, ["E9"])


def test_a_system_event_has_a_receipt_too(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        (batch_event,) = store.catalog.system_events()
        receipt = receipt_for_system_event(store, batch_event.leaf_index)
    opened = verify_receipt(receipt, [signer.verifier()]).event
    assert opened["type"] == "ingest_batch"
    assert (opened["table"], opened["rows_stored"], opened["leaf_count"]) == (
        "access_events",
        "3",
        "3",
    )


def test_no_receipt_before_a_checkpoint_covers_the_event(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with open_store(home) as store:
        with pytest.raises(StoreError, match="no checkpoint covers"):
            receipt_for_event(store, "E1")
        with pytest.raises(StoreError, match="no access event 'E404'"):
            receipt_for_event(store, "E404")


def test_later_ingests_extend_the_log_consistently(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
    first = _size(home)
    ingest(make_bundle(access_events=EVENTS), home)  # the same bundle again: nothing new
    assert _size(home) == first
    ingest(make_bundle(access_events=EVENTS + MORE_EVENTS.removeprefix(EVENTS_HEADER)), home)
    assert _size(home) == first + 2 + 1  # two new events and their batch
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        proof = consistency(store, first, _size(home))
        old, new = store.catalog.checkpoints()
    assert (proof.root1, proof.root2) == (old.root, new.root)
    ConsistencyProof.from_json(json.loads(json.dumps(proof.to_json()))).verify()
    assert _audit(home) == (True, "None")


def test_the_system_records_its_own_actions(make_bundle: BundleFactory, home: Path) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with writer(home) as store:
        event = record(store, "report_generated", {"report": "foi-2026-17", "rows": 12})
    assert json.loads(event.encoding or b"") == {
        "recorded_at": event.recorded_at,
        "report": "foi-2026-17",
        "rows": "12",
        "type": "report_generated",
    }
    assert _size(home) == event.leaf_index + 1
    assert _audit(home) == (True, "None")


def test_other_processes_append_their_actions_after_waiting_for_a_writer(
    make_bundle: BundleFactory, home: Path
) -> None:
    """The web application and case commands record case steps and reads beside ingests: an
    action waits for a running writer instead of failing, and lands after its leaves."""
    import threading

    from custodes.store.ledger import record_actions

    ingest(make_bundle(access_events=EVENTS), home)
    size = _size(home)
    landed: list[int] = []
    with writer(home) as store:
        late = threading.Thread(
            target=lambda: landed.extend(
                e.leaf_index
                for e in record_actions(home, [("investigator_read", {"user": "ann"})] * 2)
            )
        )
        late.start()
        late.join(0.3)
        assert late.is_alive(), "the action must wait while the writer holds the store"
        record(store, "report_generated", {"report": "r1"})
    late.join(10)
    assert landed == [size + 1, size + 2]
    assert _audit(home) == (True, "None")
    with pytest.raises(StoreError, match="another Custodes process"), writer(home):
        record_actions(home, [("investigator_read", {"user": "ann"})], wait=0.05)


def test_a_crash_after_appending_leaves_is_rolled_back(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    committed = _size(home)
    with MerkleTree(home / "ledger" / "tree") as tree:  # leaves appended, never committed
        tree.append([leaf_hash(b"uncommitted")] * 5)
        tree.sync()
    with open_store(home) as store:  # a reader sees the committed size only
        assert store.read_tree().size == committed
    with writer(home) as store:  # the next writer cuts the tree back
        assert store.tree.size == committed
    assert _audit(home) == (True, "None")


def test_a_writer_refuses_a_tree_that_no_longer_matches_its_checkpoint(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    """A cheap check (the root at the last checkpoint's size) before anything is appended: a
    log whose root changed is not extended. (``audit`` checks every leaf and node.)"""
    ingest(make_bundle(access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
    top = home / "ledger" / "tree" / "level-02.bin"  # 4 leaves: the root is this one node
    data = bytearray(top.read_bytes())
    data[0] ^= 1
    top.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="does not match its checkpoint"):
        ingest(make_bundle(access_events=MORE_EVENTS), home)


def test_a_checkpoint_by_another_key_is_refused(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        with pytest.raises(StoreError, match="another key"):
            issue_checkpoint(store, generate_signer(LOG))


def test_lawful_erasure_removes_the_content_and_keeps_the_log_whole(
    make_bundle: BundleFactory, home: Path, signer: Signer
) -> None:
    ingest(make_bundle(workforce=WORKFORCE, access_events=EVENTS), home)
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        before = receipt_for_event(store, "E3")
    size = _size(home)

    erased = erase_event(home, "E1", "court order 2026/123", "dpo.smith")

    assert erased.tombstone_leaf == size
    assert [r[0] for r in rows(home, "SELECT event_id FROM access_events ORDER BY 1")] == [
        "E2",
        "E3",
    ]
    leftover = rows(
        home,
        "SELECT event_id, person_id, subject_id, purpose, _salt FROM access_events_versions "
        "WHERE event_id = 'E1'",
    )
    assert leftover == [("E1", None, None, None, None)]
    assert _audit(home) == (True, "None")
    verify_receipt(before, [signer.verifier()])  # an earlier receipt still holds
    with open_store(home) as store:
        issue_checkpoint(store, signer)
        tombstone = verify_receipt(
            receipt_for_system_event(store, erased.tombstone_leaf), [signer.verifier()]
        ).event
        with pytest.raises(StoreError, match="erased"):
            receipt_for_event(store, "E1")
        verify_receipt(receipt_for_event(store, "E3"), [signer.verifier()])
    assert tombstone["type"] == "erasure"
    assert (tombstone["erased_leaf"], tombstone["reason"], tombstone["erased_by"]) == (
        str(erased.erased_leaf),
        "court order 2026/123",
        "dpo.smith",
    )
    with pytest.raises(StoreError, match="already erased"):
        erase_event(home, "E1", "again", "dpo.smith")


def test_an_erased_event_sent_again_stays_erased(make_bundle: BundleFactory, home: Path) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    erase_event(home, "E2", "not lawfully exported", "dpo")
    resent = EVENTS_HEADER + "E2,2026-01-05T09:00:00Z,P2,search,RMS,,\n"
    report = ingest(make_bundle(access_events=resent), home)
    assert (report.files[0].counts.duplicates, report.files[0].counts.quarantined) == (1, 0)
    assert rows(home, "SELECT count(*) FROM quarantine") == [(0,)]
    assert rows(home, "SELECT person_id FROM access_events_versions WHERE event_id = 'E2'") == [
        (None,)
    ]


def test_an_erasure_needs_a_reason_and_a_stored_event(
    make_bundle: BundleFactory, home: Path
) -> None:
    ingest(make_bundle(access_events=EVENTS), home)
    with pytest.raises(StoreError, match="needs a reason"):
        erase_event(home, "E1", "  ", "dpo")
    with pytest.raises(StoreError, match="no access event 'E404'"):
        erase_event(home, "E404", "reason", "dpo")


def test_an_erasure_interrupted_before_it_commits_leaves_no_trace(
    make_bundle: BundleFactory, home: Path
) -> None:
    """The replacement file and the tombstone leaf are written before the catalog commits; a
    crash there leaves an unlisted file and an uncommitted leaf, both removed by recovery."""
    ingest(make_bundle(access_events=EVENTS), home)
    size = _size(home)
    stray = home / "store" / "access_events" / "month=2026-01" / "_batch=1" / "part_0~e9.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"PAR1 half written")
    with MerkleTree(home / "ledger" / "tree") as tree:
        tree.append([leaf_hash(b"tombstone never committed")])
        tree.sync()
    with writer(home) as store:
        assert store.tree.size == size
    assert not stray.exists()
    assert _audit(home) == (True, "None")


def test_the_parallel_path_computes_the_same_leaves(make_bundle: BundleFactory, home: Path) -> None:
    events = EVENTS_HEADER + "".join(
        f"E{i},2026-01-{1 + i % 28:02d}T08:00:00Z,P1,consult,PNC,S{i},check {i}\n"
        for i in range(1, 501)
    )
    ingest(make_bundle(access_events=events), home)
    with open_store(home) as store:
        (span,) = store.catalog.event_spans()
    files = [(home / "store" / f).as_posix() for f in span.files]
    inline = event_leaves(files, 1, 500)
    calls = [(event_leaves, (files, a, a + 99)) for a in range(1, 501, 100)]
    with LeafPool(workers=2) as pool:
        parts = list(pool.ordered(calls, parallel=True))
    assert b"".join(p.packed for p in parts) == inline.packed
    assert [int(r) for p in parts for r in p.recs] == list(range(1, 501))


def test_catalog_records_the_leaves_of_each_batch(make_bundle: BundleFactory, home: Path) -> None:
    ingest(make_bundle(units=UNITS, access_events=EVENTS), home, batch_rows=2)
    with sqlite3.connect(home / "catalog.sqlite") as db:
        spans = db.execute(
            "SELECT table_name, leaf_first, leaf_count, batch_leaf FROM batches ORDER BY batch_id"
        ).fetchall()
    # units: its batch leaf only; events in batches of two records: their leaves, then the batch
    assert spans == [("units", 0, 0, 0), ("access_events", 1, 2, 3), ("access_events", 4, 1, 5)]


def test_a_planted_copy_under_an_existing_record_number_is_caught(
    make_bundle: BundleFactory, home: Path
) -> None:
    """A second row with a record number the batch already has: more rows than leaves."""
    ingest(make_bundle(access_events=EVENTS), home)
    (part,) = (home / "store" / "access_events" / "month=2026-01").rglob("*.parquet")
    table = pq.read_table(part, partitioning=None)
    planted = table.slice(0, 1).to_pylist()[0] | {"event_id": "E99", "person_id": "P9"}
    pq.write_table(pa.Table.from_pylist([*table.to_pylist(), planted], schema=table.schema), part)
    ok, first = _audit(home)
    assert not ok
    assert "events were deleted or added" in first or "does not match" in first


def test_leaves_computed_in_threads_while_staging_are_the_stored_events_leaves(
    make_bundle: BundleFactory, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files have their staged rows hashed in threads beside staging; batches with
    quarantined rows and duplicates then pick the leaves of the rows they store. The audit
    recomputes every leaf from the stored Parquet, by the other path."""
    monkeypatch.setattr("custodes.store.leaves.PARALLEL_FROM", 1)
    hashed_in: list[str] = []
    staged_leaves = leaves_module.staged_leaves

    def spy(rows: pa.Table, path: str) -> int:
        hashed_in.append(threading.current_thread().name)
        return staged_leaves(rows, path)

    monkeypatch.setattr(leaves_module, "staged_leaves", spy)
    lines = [
        f"E{i},2026-01-{1 + i % 28:02d}T08:00:00Z,P1,consult,PNC,S{i},check {i}\n"
        for i in range(1, 401)
    ]
    lines[50] = "E51,not a time,P1,consult,PNC,S1,x\n"  # quarantined
    lines[250] = lines[10]  # a duplicate of E11
    report = ingest(make_bundle(access_events=EVENTS_HEADER + "".join(lines)), home, batch_rows=100)
    (events,) = report.files
    assert (events.counts.stored, events.counts.quarantined, events.counts.duplicates) == (
        398,
        1,
        1,
    )
    assert hashed_in and all(name.startswith("leaves") for name in hashed_in)
    assert _size(home) == 398 + len(events.batches)
    assert _audit(home) == (True, "None")
    assert not list((home / ".work").glob("leaves-*"))  # the staged leaves are gone
