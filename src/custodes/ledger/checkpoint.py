"""C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint): the signed statement "the log
called *origin* had *size* leaves with root *hash*".

The body is the text of a signed note::

    <origin>
    <tree size, decimal, no leading zeros>
    <root hash, base64 of 32 bytes>
    [<extension line>...]

each line ending in a newline. The log signs it with its note key (whose name should be the
origin) and witnesses add cosignatures. Parsing is strict: a checkpoint has exactly one spelling,
so two texts can never claim the same tree head.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custodes.ledger._codec import (
    U64_LIMIT,
    b64decode,
    b64encode,
    decimal_u64,
    has_control,
    to_utf8,
)
from custodes.ledger.errors import LedgerFormatError
from custodes.ledger.merkle import HASH_SIZE
from custodes.ledger.note import Note, Signer, VerifiedNote, Verifier, open_note


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size in leaves, its root hash, and any extension
    lines (opaque, and not recommended: monitors cannot audit them)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin line")
        if isinstance(self.size, bool) or not 0 <= self.size < U64_LIMIT:
            raise LedgerFormatError(f"the checkpoint's tree size {self.size} is not in 0..2^64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise LedgerFormatError(
                f"the checkpoint's root hash is {len(self.root_hash)} bytes, not {HASH_SIZE}"
            )
        for number, line in enumerate(self.extensions, 1):
            _check_line(line, f"extension line {number}")

    def format(self) -> str:
        """The checkpoint as a note text (ending in a newline)."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    def sign(self, signer: Signer) -> Note:
        """This checkpoint as a note signed by ``signer`` (the log's key)."""
        text = self.format()
        return Note(text, (signer.sign(text),))


def _check_line(line: str, what: str) -> None:
    if not line:
        raise LedgerFormatError(f"the checkpoint's {what} is empty")
    if "\n" in line or has_control(line):
        raise LedgerFormatError(f"the checkpoint's {what} contains a control character")
    to_utf8(line, f"the checkpoint's {what}")


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a checkpoint body (the text of its note, without signatures)."""
    body = to_utf8(text, "the checkpoint").decode()
    if not body.endswith("\n"):
        raise LedgerFormatError("the checkpoint does not end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise LedgerFormatError(
            "the checkpoint is truncated: it needs an origin, a tree size and a root hash line"
        )
    origin, size, root, *extensions = lines
    _check_line(origin, "origin line")
    tree_size = decimal_u64(size, "the checkpoint's tree size")
    root_hash = b64decode(root, "the checkpoint's root hash")
    return Checkpoint(origin, tree_size, root_hash, tuple(extensions))


def open_checkpoint(
    data: str | bytes | Note, verifiers: Iterable[Verifier]
) -> tuple[Checkpoint, VerifiedNote]:
    """Verify a signed checkpoint against the known keys (see :func:`open_note`) and parse its
    body. The caller checks that the keys it requires (the log's, a quorum of witnesses) are
    among ``verified``."""
    opened = open_note(data, verifiers)
    return parse_checkpoint(opened.text), opened
