"""The ledger's core: an RFC 6962 Merkle tree, its proofs, and C2SP signed checkpoints.

Every recorded event becomes one leaf of an append-only Merkle tree (:class:`MerkleTree`, on
disk). The log signs checkpoints (:class:`Checkpoint`, a C2SP signed note) naming its size and
root; anyone holding a checkpoint can check that an event is in the tree (an inclusion proof)
and that a later checkpoint extends an earlier one (a consistency proof), and witnesses cosign
checkpoints they have checked. Formats are documented in ``docs/ledger.md``.

The submodules are implementation; this namespace is the public surface.
"""

from custodes.ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from custodes.ledger.errors import (
    LedgerError,
    LedgerFormatError,
    ProofError,
    SignatureError,
    TreeError,
)
from custodes.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_path,
    inclusion_path,
    leaf_hash,
    merkle_root,
    node_hash,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)
from custodes.ledger.note import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    Signature,
    Signer,
    VerifiedNote,
    Verifier,
    generate_signer,
    open_note,
    parse_note,
    parse_signer_key,
    parse_vkey,
)
from custodes.ledger.proof import ConsistencyProof, InclusionProof
from custodes.ledger.receipt import (
    ENCODING_VERSION,
    Receipt,
    VerifiedReceipt,
    commitment,
    event_leaf,
    is_receipt_set,
    verify_receipt,
    verify_receipt_set,
)
from custodes.ledger.tree import MerkleTree

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "EMPTY_ROOT",
    "ENCODING_VERSION",
    "HASH_SIZE",
    "Checkpoint",
    "ConsistencyProof",
    "InclusionProof",
    "LedgerError",
    "LedgerFormatError",
    "MerkleTree",
    "Note",
    "ProofError",
    "Receipt",
    "Signature",
    "SignatureError",
    "Signer",
    "TreeError",
    "VerifiedNote",
    "VerifiedReceipt",
    "Verifier",
    "commitment",
    "consistency_path",
    "event_leaf",
    "generate_signer",
    "inclusion_path",
    "is_receipt_set",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_signer_key",
    "parse_vkey",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_receipt",
    "verify_receipt_set",
]
