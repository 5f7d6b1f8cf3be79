"""RFC 6962 Merkle trees: hashing, proofs generated from stored nodes, and proofs verified.

The tree is the one of RFC 6962 §2.1 (restated in RFC 9162 §2.1): SHA-256, a leaf is
``H(0x00 || data)``, an interior node is ``H(0x01 || left || right)``, and a tree of ``n`` leaves
splits at ``k``, the largest power of two below ``n``. The prefixes keep a leaf from ever being
mistaken for a node, so a proof cannot pass off an interior hash as a recorded event.

Generation reads only *perfect* subtrees (``2**level`` leaves, aligned), which is what the tree
store keeps on disk; a subtree on the right edge of the tree is folded from the perfect ones it
covers. Every proof touches O(log n) stored nodes.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, with the edge cases of the
reference implementation (github.com/transparency-dev/merkle, whose test data we pass in full):
a leaf hash must be 32 bytes, and a consistency proof from the empty tree is refused because it
proves nothing. Failures raise :class:`ProofError` naming the check that failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from custodes.ledger.bulk import LEAF_PREFIX, NODE_PREFIX, node_parents
from custodes.ledger.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) (RFC 6962 §2.1)

NodeReader = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes themselves."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def hash_pairs(hashes: bytes | bytearray | memoryview) -> bytes:
    """The parents of consecutive sibling pairs: ``hashes`` packs 2k hashes, the result k.

    This is the hot loop of a bulk append and of the audit: many pairs at once are hashed as
    one column (:mod:`custodes.ledger.bulk`), a few with one :mod:`hashlib` call each.
    """
    return node_parents(hashes)


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of the given leaf hashes, held in memory.

    Pairing each level from the left and carrying an odd last node up unchanged builds exactly
    RFC 6962's left-balanced tree (the split at the largest power of two below ``n``).
    """
    if any(len(h) != HASH_SIZE for h in leaf_hashes):
        raise ValueError("every leaf hash must be 32 bytes")
    if not leaf_hashes:
        return EMPTY_ROOT
    level = b"".join(leaf_hashes)
    while len(level) > HASH_SIZE:
        count = len(level) // HASH_SIZE
        parents = hash_pairs(memoryview(level)[: (count // 2) * 2 * HASH_SIZE])
        level = parents + level[-HASH_SIZE:] if count % 2 else parents
    return level


def _split(n: int) -> int:
    """``k``, the largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(start: int, end: int, node: NodeReader) -> bytes:
    """The hash of the subtree over leaves ``[start, end)``, read from perfect stored nodes.

    The range must be a subtree of some RFC 6962 tree: ``start`` a multiple of a power of two
    at least ``end - start`` (true of every subtree a proof names). Such a range is the perfect
    subtrees given by the binary digits of its length, largest first, hashed right to left.
    """
    if start == end == 0:
        return EMPTY_ROOT
    if not 0 <= start < end:
        raise ValueError(f"not a subtree range: [{start}, {end})")
    parts: list[bytes] = []
    position = start
    while position < end:
        level = (end - position).bit_length() - 1
        parts.append(node(level, position >> level))
        position += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def inclusion_path(index: int, size: int, node: NodeReader) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves: RFC 9162 §2.1.3.1
    ``PATH(m, D[n])``, bottom (the leaf's sibling) first. Requires ``0 <= index < size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    low, high = 0, size
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            path.append(subtree_root(low + k, high, node))
            high = low + k
        else:
            path.append(subtree_root(low, low + k, node))
            low += k
    path.reverse()
    return path


def consistency_path(size1: int, size2: int, node: NodeReader) -> list[bytes]:
    """The consistency proof from the tree of ``size1`` leaves to the tree of ``size2``: RFC 9162
    §2.1.4.1 ``PROOF(m, D[n])``. Requires ``0 < size1 <= size2`` (equal sizes: empty proof)."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    path: list[bytes] = []
    low, high, m, whole = 0, size2, size1, True
    while high - low != m:
        k = _split(high - low)
        if m <= k:
            path.append(subtree_root(low + k, high, node))
            high = low + k
        else:
            path.append(subtree_root(low, low + k, node))
            low, m, whole = low + k, m - k, False
    if not whole:
        path.append(subtree_root(low, high, node))
    path.reverse()
    return path


def inclusion_path_length(index: int, size: int) -> int:
    """How many hashes the inclusion proof of leaf ``index`` in a tree of ``size`` holds."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _check_hashes(proof: Sequence[bytes]) -> None:
    for position, item in enumerate(proof):
        if len(item) != HASH_SIZE:
            raise ProofError(f"proof hash {position} is {len(item)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is
    ``root`` (RFC 9162 §2.1.3.2); raise :class:`ProofError` if it is not."""
    if index < 0 or size < 0:
        raise ProofError("a leaf index or tree size is negative")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"the leaf hash is {len(leaf_hash)} bytes, not {HASH_SIZE}")
    _check_hashes(proof)
    wrong_length = ProofError(
        f"the proof has {len(proof)} hashes; leaf {index} of a tree of size {size} "
        f"needs {inclusion_path_length(index, size)}"
    )
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise wrong_length
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise wrong_length
    if r != root:
        raise ProofError(f"the proof for leaf {index} does not lead to the root of size {size}")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves with root ``root2`` extends the tree of ``size1``
    leaves with root ``root1`` (RFC 9162 §2.1.4.2); raise :class:`ProofError` if it does not.

    Equal sizes need an empty proof and identical roots. A first size of 0 is refused: every
    tree extends the empty one, so such a "proof" shows nothing (a witness seeing a log for the
    first time handles that case itself).
    """
    if size1 < 0 or size2 < 0:
        raise ProofError("a tree size is negative")
    if size1 > size2:
        raise ProofError(f"the first tree size {size1} is larger than the second, {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree (size 0) proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError(f"both trees have size {size1}, so the proof must be empty")
        if root1 != root2:
            raise ProofError(f"both trees have size {size1} but their roots differ")
        return
    if not proof:
        raise ProofError(f"the proof from size {size1} to size {size2} is empty")
    _check_hashes(proof)
    wrong_length = ProofError(
        f"the proof has {len(proof)} hashes, the wrong number for sizes {size1} to {size2}"
    )
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise wrong_length
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise wrong_length
    if fr != root1:
        raise ProofError(f"the proof does not lead to the given root of size {size1}")
    if sr != root2:
        raise ProofError(f"the proof does not lead to the given root of size {size2}")
