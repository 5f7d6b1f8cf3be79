"""Proofs as JSON objects, in the shape of the transparency-dev/merkle test data.

    inclusion:   {"leafIdx": 5, "treeSize": 8, "leafHash": "<b64>", "proof": ["<b64>", ...],
                  "root": "<b64>"}
    consistency: {"size1": 3, "size2": 8, "root1": "<b64>", "root2": "<b64>",
                  "proof": ["<b64>", ...]}

A receipt handed to a person is one of these beside a signed checkpoint; anyone can check it
with any RFC 6962 implementation. Reading is strict: exactly these keys, integers that are not
booleans, canonical base64 of 32-byte hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from custodes.ledger._codec import U64_LIMIT, b64decode, b64encode
from custodes.ledger.errors import LedgerFormatError
from custodes.ledger.merkle import HASH_SIZE, verify_consistency, verify_inclusion

MAX_PROOF_HASHES = 128  # a tree of 2^64 leaves needs at most 64 (inclusion) or 65 (consistency)


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``leaf_index`` with hash ``leaf_hash`` is in the tree of ``tree_size`` with
    ``root``, by ``proof`` (RFC 9162 §2.1.3)."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    root: bytes

    def verify(self) -> None:
        """Raise :class:`ProofError` unless the proof holds."""
        verify_inclusion(self.leaf_hash, self.leaf_index, self.tree_size, self.proof, self.root)

    def to_json(self) -> dict[str, Any]:
        return {
            "leafIdx": self.leaf_index,
            "treeSize": self.tree_size,
            "leafHash": b64encode(self.leaf_hash),
            "proof": [b64encode(h) for h in self.proof],
            "root": b64encode(self.root),
        }

    @classmethod
    def from_json(cls, value: object) -> InclusionProof:
        """Read the JSON object (already decoded, or as text)."""
        fields = _object(
            value, "inclusion proof", ("leafIdx", "treeSize", "leafHash", "proof", "root")
        )
        return cls(
            _size(fields["leafIdx"], "leafIdx"),
            _size(fields["treeSize"], "treeSize"),
            _hash(fields["leafHash"], "leafHash"),
            _hashes(fields["proof"]),
            _hash(fields["root"], "root"),
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``size2`` with ``root2`` extends the tree of ``size1`` with ``root1``, by
    ``proof`` (RFC 9162 §2.1.4)."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: tuple[bytes, ...]

    def verify(self) -> None:
        """Raise :class:`ProofError` unless the proof holds."""
        verify_consistency(self.size1, self.size2, self.proof, self.root1, self.root2)

    def to_json(self) -> dict[str, Any]:
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1": b64encode(self.root1),
            "root2": b64encode(self.root2),
            "proof": [b64encode(h) for h in self.proof],
        }

    @classmethod
    def from_json(cls, value: object) -> ConsistencyProof:
        """Read the JSON object (already decoded, or as text)."""
        fields = _object(value, "consistency proof", ("size1", "size2", "root1", "root2", "proof"))
        return cls(
            _size(fields["size1"], "size1"),
            _size(fields["size2"], "size2"),
            _hash(fields["root1"], "root1"),
            _hash(fields["root2"], "root2"),
            _hashes(fields["proof"]),
        )


def _object(value: object, what: str, keys: tuple[str, ...]) -> dict[str, object]:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise LedgerFormatError(f"the {what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise LedgerFormatError(f"the {what} is not a JSON object")
    missing = [key for key in keys if key not in value]
    if missing:
        raise LedgerFormatError(f"the {what} has no {', '.join(missing)}")
    extra = sorted(str(key) for key in value if key not in keys)
    if extra:
        raise LedgerFormatError(f"the {what} has unexpected fields: {', '.join(extra)}")
    return value


def _size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerFormatError(f"{what} is not an integer")
    if not 0 <= value < U64_LIMIT:
        raise LedgerFormatError(f"{what} is not in 0..2^64-1")
    return value


def _hash(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise LedgerFormatError(f"{what} is not a base64 string")
    data = b64decode(value, what)
    if len(data) != HASH_SIZE:
        raise LedgerFormatError(f"{what} is {len(data)} bytes, not {HASH_SIZE}")
    return data


def _hashes(value: object) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise LedgerFormatError("proof is not a list")
    if len(value) > MAX_PROOF_HASHES:
        raise LedgerFormatError(f"proof has more than {MAX_PROOF_HASHES} hashes")
    return tuple(_hash(item, f"proof hash {n}") for n, item in enumerate(value))
