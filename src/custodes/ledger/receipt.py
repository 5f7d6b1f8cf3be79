"""Commitments and receipts: what a leaf stands for, and how anyone checks one offline.

A leaf's data is a **commitment** to one recorded event, never the event itself:

    commitment = SHA-256(TAG || salt || encoding)        leaf hash = SHA-256(0x00 || commitment)

``TAG`` separates Custodes event commitments from any other use of SHA-256, the 32-byte random
``salt`` makes the commitment reveal nothing about a guessable event (who looked at whom is
exactly what an outsider could guess), and ``encoding`` is the event's canonical encoding
(versioned; its version is part of the tag). Erasing an event's content and salt leaves the
commitment, so the tree and every proof still verify.

A **receipt** is what the log hands out for one event: an inclusion proof, the signed checkpoint
it leads to, and the *opening* (salt and encoding) that recomputes the leaf. Checking it needs
nothing but the log's verifier key: :func:`verify_receipt`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from custodes.ledger._codec import b64decode, b64encode
from custodes.ledger.checkpoint import Checkpoint, open_checkpoint
from custodes.ledger.errors import LedgerError, LedgerFormatError, ProofError
from custodes.ledger.merkle import leaf_hash
from custodes.ledger.note import Verifier
from custodes.ledger.proof import InclusionProof

ENCODING_VERSION = "custodes/event/v1"
TAG = (ENCODING_VERSION + "\n").encode()
SALT_SIZE = 32


def commitment(salt: bytes, encoding: bytes, tag: bytes = TAG) -> bytes:
    """The 32-byte commitment to an event's canonical ``encoding`` under ``salt``."""
    if len(salt) != SALT_SIZE:
        raise LedgerFormatError(f"a salt is {SALT_SIZE} bytes, not {len(salt)}")
    return hashlib.sha256(tag + salt + encoding).digest()


def event_leaf(salt: bytes, encoding: bytes) -> bytes:
    """The Merkle leaf hash of an event: RFC 6962 leaf hash of its commitment."""
    return leaf_hash(commitment(salt, encoding))


@dataclass(frozen=True)
class Receipt:
    """Proof that one event, opened by ``salt`` and ``encoding``, is in the signed log."""

    inclusion: InclusionProof
    checkpoint: str  # the signed note, as issued
    salt: bytes
    encoding: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            **self.inclusion.to_json(),
            "checkpoint": self.checkpoint,
            "opening": {
                "version": ENCODING_VERSION,
                "salt": b64encode(self.salt),
                "encoding": self.encoding.decode("utf-8"),
            },
        }

    @classmethod
    def from_json(cls, value: object) -> Receipt:
        """Read a receipt (a decoded JSON object or its text); strict, one-line errors."""
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except (ValueError, UnicodeDecodeError):
                raise LedgerFormatError("the receipt is not valid JSON") from None
        if not isinstance(value, dict):
            raise LedgerFormatError("a receipt is a JSON object")
        expected = {"leafIdx", "treeSize", "leafHash", "proof", "root", "checkpoint", "opening"}
        if set(value) != expected:
            missing, extra = sorted(expected - set(value)), sorted(set(value) - expected)
            raise LedgerFormatError(
                "the receipt's fields are wrong"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unexpected {', '.join(extra)}" if extra else "")
            )
        inclusion = InclusionProof.from_json(
            {k: value[k] for k in expected - {"checkpoint", "opening"}}
        )
        checkpoint, opening = value["checkpoint"], value["opening"]
        if not isinstance(checkpoint, str):
            raise LedgerFormatError("the receipt's checkpoint is not text")
        if not isinstance(opening, dict) or set(opening) != {"version", "salt", "encoding"}:
            raise LedgerFormatError("the receipt's opening needs exactly version, salt, encoding")
        if opening["version"] != ENCODING_VERSION:
            raise LedgerFormatError(f"unknown encoding version {opening['version']!r}")
        if not isinstance(opening["salt"], str) or not isinstance(opening["encoding"], str):
            raise LedgerFormatError("the opening's salt and encoding are text")
        salt = b64decode(opening["salt"], "the opening's salt")
        if len(salt) != SALT_SIZE:
            raise LedgerFormatError(f"the opening's salt is {len(salt)} bytes, not {SALT_SIZE}")
        return cls(inclusion, checkpoint, salt, opening["encoding"].encode("utf-8"))


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt that checked out: the event it opens, where it is, and the checkpoint."""

    event: Any  # the decoded canonical encoding
    leaf_index: int
    checkpoint: Checkpoint


def verify_receipt(receipt: Receipt, verifiers: Iterable[Verifier]) -> VerifiedReceipt:
    """Check a receipt with nothing but the log's verifier key(s).

    The checkpoint must carry a valid signature by one of ``verifiers``; the opening must
    recompute the proven leaf; the proof must lead from that leaf to the checkpoint's root at
    the checkpoint's size. Raises :class:`ProofError` (or :class:`SignatureError`,
    :class:`LedgerFormatError`) with one line saying which check failed.
    """
    keys = list(verifiers)
    checkpoint, _ = open_checkpoint(receipt.checkpoint, keys)  # a known key must have signed
    proof = receipt.inclusion
    if event_leaf(receipt.salt, receipt.encoding) != proof.leaf_hash:
        raise ProofError("the opening (salt and encoding) does not recompute the proven leaf")
    if proof.tree_size != checkpoint.size:
        raise ProofError(
            f"the proof is for a tree of {proof.tree_size}, the checkpoint is of {checkpoint.size}"
        )
    if proof.root != checkpoint.root_hash:
        raise ProofError("the proof's root is not the checkpoint's root")
    proof.verify()
    try:
        event = json.loads(receipt.encoding)
    except ValueError:
        raise ProofError("the opened encoding is not JSON") from None
    return VerifiedReceipt(event, proof.leaf_index, checkpoint)


# many receipts in one document (an evidence pack) ------------------------------------------------


def is_receipt_set(value: object) -> bool:
    """Whether a decoded JSON document carries a list of receipts (``"receipts": [...]``)
    rather than being one receipt."""
    return isinstance(value, dict) and "receipts" in value and "leafIdx" not in value


def verify_receipt_set(value: object, verifiers: Iterable[Verifier]) -> list[VerifiedReceipt]:
    """Check every receipt of a document such as an evidence pack, offline.

    The document is a JSON object with ``receipts``: a list of items, each with a ``label``,
    the ``content`` a reader sees and the ``receipt`` proving it. Every receipt must verify
    (:func:`verify_receipt`), and every item's content must be exactly what its receipt opens,
    so the readable part of the document cannot be edited without failing here. Raises on the
    first failure, naming the item.
    """
    keys = list(verifiers)
    if not isinstance(value, dict) or not isinstance(value.get("receipts"), list):
        raise LedgerFormatError("the document has no list of receipts")
    if not value["receipts"]:
        raise LedgerFormatError("the document's list of receipts is empty")
    verified = []
    for number, item in enumerate(value["receipts"], start=1):
        if not isinstance(item, dict) or set(item) != {"label", "content", "receipt"}:
            raise LedgerFormatError(f"item {number} needs exactly label, content and receipt")
        label = str(item["label"])
        try:
            checked = verify_receipt(Receipt.from_json(item["receipt"]), keys)
        except LedgerError as failure:
            raise type(failure)(f"{label}: {failure}") from None
        if checked.event != item["content"]:
            raise ProofError(f"{label}: the content shown is not what the receipt proves")
        verified.append(checked)
    return verified
