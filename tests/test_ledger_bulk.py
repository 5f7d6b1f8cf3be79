"""Hashing a column at a time gives exactly the bytes of hashing one value at a time.

The ledger hashes large jobs with DataFusion and small ones with :mod:`hashlib`
(:mod:`custodes.ledger.bulk`). Every leaf and node ever stored must be the same whichever path
computed it, or an audit would report tampering that never happened (or miss some)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger import MerkleTree, bulk, leaf_hash, merkle_root, node_hash
from custodes.ledger.receipt import SALT_SIZE, TAG, event_leaf
from custodes.store import LeafPool, audit, erase_event, ingest, open_store
from custodes.store.leaves import ERASED, event_leaves
from tests.conftest import EVENTS_HEADER, BundleFactory

SALTS = st.one_of(st.none(), st.binary(min_size=SALT_SIZE, max_size=SALT_SIZE))
ENCODINGS = st.binary(max_size=600)  # any bytes: invalid UTF-8 and NUL included


@pytest.fixture
def bulk_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send even one hash down the column path."""
    monkeypatch.setattr(bulk, "BULK_FROM", 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(SALTS, ENCODINGS), max_size=40))
def test_column_leaves_are_the_reference_leaves(rows: list[tuple[bytes | None, bytes]]) -> None:
    salts = pa.array([s for s, _ in rows], pa.binary())
    encodings = pa.array([e for _, e in rows], pa.binary())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "BULK_FROM", 1)
        packed = bulk.commitment_leaves(salts, encodings, TAG)
    assert len(packed) == 32 * len(rows)
    for i, (salt, encoding) in enumerate(rows):
        if salt is not None:  # an erased event's leaf is the caller's to fill in
            assert packed[32 * i : 32 * (i + 1)] == event_leaf(salt, encoding)


PIECES = st.lists(
    st.one_of(st.binary(max_size=20), st.text(max_size=8), st.just("column")), max_size=6
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(SALTS, ENCODINGS), max_size=12), PIECES, st.sampled_from([1, 10_000]))
def test_leaves_of_pieces_are_the_leaves_of_the_pieces_end_to_end(
    rows: list[tuple[bytes | None, bytes]], layout: list[bytes | str], bulk_from: int
) -> None:
    """Literal pieces and columns, hashed without being joined first, on either path."""
    salts = pa.array([s for s, _ in rows], pa.binary())
    column = pa.array([e for _, e in rows], pa.binary())
    pieces = [column if piece == "column" else piece for piece in layout]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "BULK_FROM", bulk_from)
        packed = bulk.commitment_leaves_of_pieces(salts, pieces, TAG)
    assert len(packed) == 32 * len(rows)
    for i, (salt, encoding) in enumerate(rows):
        whole = b"".join(
            encoding if p == "column" else p.encode() if isinstance(p, str) else p for p in layout
        )
        if salt is not None:
            assert packed[32 * i : 32 * (i + 1)] == event_leaf(salt, whole)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(min_size=32, max_size=32), max_size=40).map(lambda h: h[: len(h) // 2 * 2])
)
def test_column_node_parents_are_the_reference_nodes(hashes: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "BULK_FROM", 1)
        parents = bulk.node_parents(b"".join(hashes))
    expected = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    assert parents == b"".join(expected)


@pytest.mark.parametrize("pairs", [bulk.BULK_FROM - 1, bulk.BULK_FROM, 70_001])
def test_both_sides_of_the_threshold_agree(pairs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """At its real size, past one output batch of DataFusion (65,536 rows) too."""
    rng = random.Random(pairs)
    hashes = rng.randbytes(64 * pairs)
    got = bulk.node_parents(hashes)
    monkeypatch.setattr(bulk, "BULK_FROM", 10**9)
    assert got == bulk.node_parents(hashes)
    assert got[:32] == node_hash(hashes[:32], hashes[32:64])


def test_odd_input_is_refused() -> None:
    with pytest.raises(ValueError, match="whole pairs"):
        bulk.node_parents(bytes(96))


def test_a_tree_appended_in_bulk_has_the_rfc_root(tmp_path: Path) -> None:
    """Large appends at unaligned positions hash their levels as columns; the roots at every
    size along the way are those of the in-memory fold (itself checked against RFC 9162)."""
    rng = random.Random(6962)
    leaves = [leaf_hash(rng.randbytes(12)) for _ in range(20_000)]
    with MerkleTree(tmp_path / "t") as tree:
        for size in (3, 4_099, 11_000, 20_000):
            tree.append(leaves[tree.size : size])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bulk, "BULK_FROM", 10**9)  # the reference: one hashlib call a node
            for size in (3, 4_099, 4_100, 11_000, 16_384, 20_000):
                assert tree.root(size) == merkle_root(leaves[:size]), size


def test_stored_events_hash_the_same_either_way(
    make_bundle: BundleFactory, home: Path, bulk_always: None
) -> None:
    events = EVENTS_HEADER + "".join(
        f"E{i},2026-01-{1 + i % 28:02d}T08:{i % 60:02d}:00Z,P{i % 7},consult,PNC,S{i},"
        f'"check ""{i}"" é\\t"\n'
        for i in range(1, 301)
    )
    ingest(make_bundle(access_events=events), home)  # appended with column hashing
    with open_store(home) as store:
        (span,) = store.catalog.event_spans()
        with LeafPool() as pool:
            assert audit(store, pool).ok
    files = [(home / "store" / f).as_posix() for f in span.files]
    in_columns = event_leaves(files, 1, 300)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "BULK_FROM", 10**9)
        one_by_one = event_leaves(files, 1, 300)
        with open_store(home) as store, LeafPool() as pool:
            assert audit(store, pool).ok
    assert in_columns.packed == one_by_one.packed
    assert ERASED not in {in_columns.packed[i : i + 32] for i in range(0, 32 * 300, 32)}

    erase_event(home, "E5", "court order", "dpo")  # rewrites the event's file
    with open_store(home) as store:
        (span,) = store.catalog.event_spans()
    after = event_leaves([(home / "store" / f).as_posix() for f in span.files], 1, 300)
    assert after.erased.nonzero()[0].tolist() == [4]
    assert after.packed == in_columns.packed[: 32 * 4] + ERASED + in_columns.packed[32 * 5 :]
