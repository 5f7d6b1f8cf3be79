"""The on-disk Merkle tree: batching does not change it, truncation and replay are exact, it
survives reopening and the damage a crash can leave, and it refuses what it cannot do."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger import (
    MerkleTree,
    TreeError,
    leaf_hash,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)


def leaves(n: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(n)]


def files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_an_empty_tree(tmp_path: Path) -> None:
    with MerkleTree(tmp_path / "t") as tree:
        assert tree.size == 0
        assert tree.root() == merkle_root([])
        assert tree.append([]) == 0
        assert tree.size == 0


def test_odd_batches_equal_one_big_append(tmp_path: Path) -> None:
    hashes = leaves(1_000)
    with MerkleTree(tmp_path / "one") as one:
        assert one.append(hashes) == 0
    rng = random.Random(3)
    with MerkleTree(tmp_path / "many") as many:
        done = 0
        while done < len(hashes):
            n = rng.choice([1, 1, 2, 3, 5, 17, 63, 64, 65, 255])
            assert many.append(hashes[done : done + n]) == done
            done = min(done + n, len(hashes))
        assert many.size == 1_000
        for size in range(0, 1_001, 7):
            assert many.root(size) == merkle_root(hashes[:size])
    assert files(tmp_path / "one") == files(tmp_path / "many")


def test_packed_append_equals_list_append(tmp_path: Path) -> None:
    hashes = leaves(300)
    with MerkleTree(tmp_path / "a") as a, MerkleTree(tmp_path / "b") as b:
        a.append(hashes)
        b.append_packed(b"".join(hashes[:100]))
        b.append_packed(memoryview(bytearray(b"".join(hashes[100:]))))
        assert a.root() == b.root()
        assert b.leaf_hashes(5, 8) == b"".join(hashes[5:8])
        assert b.leaf_hash(299) == hashes[299]


def test_large_batches_are_hashed_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custodes.ledger.tree.CHUNK_LEAVES", 16)
    hashes = leaves(203)
    with MerkleTree(tmp_path / "t") as tree:
        tree.append(hashes[:5])
        tree.append(hashes[5:])
        assert tree.root() == merkle_root(hashes)
        assert tree.append(hashes[:100], start=0) == 0  # compared chunk by chunk too
        assert tree.size == 203


def test_truncate_then_reappend_gives_the_same_roots(tmp_path: Path) -> None:
    hashes = leaves(777)
    with MerkleTree(tmp_path / "t") as tree:
        tree.append(hashes)
        roots = [tree.root(size) for size in range(778)]
        for cut in [776, 513, 512, 300, 1, 0]:
            tree.truncate(cut)
            assert tree.size == cut
            assert tree.root() == roots[cut]
            with pytest.raises(TreeError):
                tree.root(cut + 1)
            tree.append(hashes[cut:])
            assert [tree.root(size) for size in range(778)] == roots


def test_a_different_history_after_truncation(tmp_path: Path) -> None:
    with MerkleTree(tmp_path / "t") as tree:
        tree.append(leaves(50))
        tree.truncate(20)
        other = leaves(50, seed=1)
        tree.append(other[20:])
        assert tree.root() == merkle_root(leaves(50)[:20] + other[20:])


def test_appends_are_idempotent_by_index(tmp_path: Path) -> None:
    hashes = leaves(100)
    with MerkleTree(tmp_path / "t") as tree:
        assert tree.append(hashes[:60]) == 0
        assert tree.append(hashes[40:60], start=40) == 40  # a replay: nothing changes
        assert tree.size == 60
        assert tree.append(hashes[50:100], start=50) == 50  # overlap: only the tail is new
        assert tree.size == 100
        assert tree.root() == merkle_root(hashes)
        with pytest.raises(TreeError, match="leaf 57 differs"):
            tree.append([*hashes[55:57], leaf_hash(b"other")], start=55)
        with pytest.raises(TreeError, match="cannot append at leaf 101"):
            tree.append(hashes[:1], start=101)
        assert tree.root() == merkle_root(hashes)


def test_proofs_at_many_sizes_verify(tmp_path: Path) -> None:
    hashes = leaves(300)
    with MerkleTree(tmp_path / "t") as tree:
        rng = random.Random(5)
        for step in [1, 4, 9, 16, 30, 40, 200]:
            tree.append(hashes[tree.size : tree.size + step])
            size = tree.size
            root = tree.root()
            for index in {0, size - 1, rng.randrange(size)}:
                verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index), root)
            for old in {1, size, rng.randrange(1, size + 1)}:
                proof = tree.consistency_proof(old)
                verify_consistency(old, size, proof, tree.root(old), root)


def test_reopening_gives_the_same_state(tmp_path: Path) -> None:
    hashes = leaves(1_234)
    with MerkleTree(tmp_path / "t") as tree:
        tree.append(hashes)
        tree.sync()
        before = [tree.root(s) for s in range(0, 1_235, 11)]
        proof = tree.inclusion_proof(1_000, 1_200)
    with MerkleTree(tmp_path / "t") as tree:
        assert tree.size == 1_234
        assert [tree.root(s) for s in range(0, 1_235, 11)] == before
        assert tree.inclusion_proof(1_000, 1_200) == proof
        tree.append(leaves(10, seed=2))
        assert tree.root() == merkle_root(hashes + leaves(10, seed=2))


def test_reopening_repairs_what_a_crash_leaves(tmp_path: Path) -> None:
    path = tmp_path / "t"
    hashes = leaves(1_000)
    with MerkleTree(path) as tree:
        tree.append(hashes)
        expected = files(path)
    # Killed after writing the leaves, before the levels above: they lag or are missing.
    (path / "level-09.bin").unlink()
    os.truncate(path / "level-03.bin", 32 * 10)
    os.truncate(path / "level-01.bin", 32 * 100 + 7)  # and a torn tail
    with open(path / "level-00.bin", "ab") as f:
        f.write(b"\x01" * 20)  # half a hash
    with MerkleTree(path) as tree:
        assert tree.size == 1_000
        assert tree.root() == merkle_root(hashes)
    assert files(path) == expected


def test_reopening_cuts_levels_that_run_ahead(tmp_path: Path) -> None:
    path = tmp_path / "t"
    hashes = leaves(600)
    with MerkleTree(path) as tree:
        tree.append(hashes)
    # Killed while truncating to 260: level 0 is cut first, the rest not yet.
    os.truncate(path / "level-00.bin", 32 * 260)
    with MerkleTree(path) as tree:
        assert tree.size == 260
        assert tree.root() == merkle_root(hashes[:260])
        tree.append(hashes[260:])
        assert tree.root() == merkle_root(hashes)


def test_queries_out_of_range_are_refused(tmp_path: Path) -> None:
    with MerkleTree(tmp_path / "t") as tree:
        tree.append(leaves(10))
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: tree.root(11), "tree size 11 is not in 0..10"),
            (lambda: tree.root(-1), "tree size -1 is not in 0..10"),
            (lambda: tree.inclusion_proof(10), "leaf index 10 is not below the tree size 10"),
            (lambda: tree.inclusion_proof(3, 3), "leaf index 3 is not below the tree size 3"),
            (lambda: tree.consistency_proof(0, 5), "needs 0 < size1 <= size2"),
            (lambda: tree.consistency_proof(6, 5), "needs 0 < size1 <= size2"),
            (lambda: tree.leaf_hash(10), "leaf index 10"),
            (lambda: tree.leaf_hashes(3, 11), "not within the tree size 10"),
            (lambda: tree.truncate(11), "cannot truncate to 11"),
            (lambda: tree.append([b"short"]), "leaf hash 0 is 5 bytes, not 32"),
            (lambda: tree.append_packed(b"x" * 33), "not a multiple of 32"),
        ]
        for call, message in calls:
            with pytest.raises(TreeError, match=message):
                call()
        assert tree.consistency_proof(5, 5) == []


def test_a_closed_tree_says_so(tmp_path: Path) -> None:
    tree = MerkleTree(tmp_path / "t")
    tree.append(leaves(3))
    tree.close()
    with pytest.raises(TreeError, match="closed"):
        tree.root()


def test_a_directory_that_is_not_a_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("hello")
    with pytest.raises(TreeError, match="not empty and is not a Merkle tree"):
        MerkleTree(tmp_path / "busy")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "FORMAT").write_text("something else\n")
    with pytest.raises(TreeError, match="not a Merkle tree of this version"):
        MerkleTree(tmp_path / "other")
    (tmp_path / "file").write_text("")
    with pytest.raises(TreeError, match="cannot open the Merkle tree"):
        MerkleTree(tmp_path / "file")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 70), max_size=12), st.data())
def test_any_sequence_of_appends_and_truncations_keeps_the_rfc_root(
    batches: list[int], data: st.DataObject
) -> None:
    hashes = leaves(sum(batches) + 1)
    expected: list[bytes] = []
    with tempfile.TemporaryDirectory() as directory, MerkleTree(directory) as tree:
        for n in batches:
            start = data.draw(st.integers(max(0, tree.size - 5), tree.size), label="start")
            new = hashes[len(expected) : len(expected) + n]
            batch = expected[start:] + new
            assert tree.append(batch, start=start) == start
            expected += new
            if data.draw(st.booleans(), label="truncate"):
                cut = data.draw(st.integers(0, len(expected)), label="cut")
                tree.truncate(cut)
                del expected[cut:]
            assert tree.size == len(expected)
            assert tree.root() == merkle_root(expected)
