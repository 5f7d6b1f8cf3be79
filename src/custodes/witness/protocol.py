"""The body of a C2SP ``tlog-witness`` add-checkpoint request, and the witness's replies.

A request body is (c2sp.org/tlog-witness)::

    old <previous size, decimal, no leading zeros>
    <consistency proof hash, base64 of 32 bytes>     (0 to 63 lines)
    <empty line>
    <the signed checkpoint note>

every line ending in a newline. Parsing is strict and names the first thing wrong in a one-line
:class:`BadRequest`: nothing else escapes, whatever the input.

Replies: 200 with the witness's cosignature line(s); 409 with the size the witness holds, as
``<size>\\n`` of type ``text/x.tlog.size``; 400, 403, 404 or 422 for the other refusals
(:mod:`custodes.witness.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from custodes.ledger._codec import U64_LIMIT, b64decode, b64encode, decimal_u64, to_utf8
from custodes.ledger.checkpoint import parse_checkpoint
from custodes.ledger.errors import LedgerFormatError
from custodes.ledger.merkle import HASH_SIZE
from custodes.ledger.note import MAX_NOTE_BYTES, parse_note
from custodes.witness.errors import BadRequest, WitnessError

MAX_PROOF_LINES = 63  # the specification's bound: a consistency proof needs at most 63 hashes
MAX_REQUEST_BYTES = MAX_NOTE_BYTES + 4096  # the note, an old line and 63 proof lines
SIZE_CONTENT_TYPE = "text/x.tlog.size"  # the type of a 409 Conflict body


class AddCheckpoint(NamedTuple):
    """A parsed add-checkpoint request: the size the client believes the witness holds, the
    consistency proof from it, and the signed checkpoint note (text, well-formed but unverified)."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str


def parse_add_checkpoint(body: str | bytes) -> AddCheckpoint:
    """Parse an add-checkpoint request body, or raise :class:`BadRequest` naming what is wrong."""
    try:
        return _parse(body)
    except LedgerFormatError as error:
        raise BadRequest(f"bad add-checkpoint request: {error}") from None


def _parse(body: str | bytes) -> AddCheckpoint:
    raw = to_utf8(body, "the request")
    if len(raw) > MAX_REQUEST_BYTES:
        raise LedgerFormatError(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    first, newline, rest = raw.decode().partition("\n")
    if not newline:
        raise LedgerFormatError("the request has no complete old size line")
    if not first.startswith("old "):
        raise LedgerFormatError("the request does not start with an 'old <size>' line")
    old_size = decimal_u64(first[4:], "the old size")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            raise LedgerFormatError("the request has no empty line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise LedgerFormatError(f"the request has more than {MAX_PROOF_LINES} proof lines")
        proof.append(_proof_hash(line, len(proof) + 1))
    note = parse_note(rest)
    parse_checkpoint(note.text)
    return AddCheckpoint(old_size, tuple(proof), rest)


def _proof_hash(line: str, number: int) -> bytes:
    value = b64decode(line, f"proof line {number}")
    if len(value) != HASH_SIZE:
        raise LedgerFormatError(f"proof line {number} is {len(value)} bytes, not {HASH_SIZE}")
    return value


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint: str) -> str:
    """The body of an add-checkpoint request (what a log sends a witness)."""
    if isinstance(old_size, bool) or not 0 <= old_size < U64_LIMIT:
        raise BadRequest(f"the old size {old_size} is not in 0..2^64-1")
    if len(proof) > MAX_PROOF_LINES:
        raise BadRequest(f"a request carries at most {MAX_PROOF_LINES} proof hashes")
    for number, value in enumerate(proof, 1):
        if len(value) != HASH_SIZE:
            raise BadRequest(f"proof hash {number} is {len(value)} bytes, not {HASH_SIZE}")
    lines = [f"old {old_size}", *(b64encode(value) for value in proof), ""]
    return "".join(line + "\n" for line in lines) + checkpoint


def format_size(size: int) -> str:
    """The body of a 409 Conflict reply: the size the witness holds, in decimal, and a newline."""
    return f"{size}\n"


def parse_size(body: str | bytes) -> int:
    """Read a 409 Conflict body (what a log does to learn the witness's size)."""
    try:
        text = to_utf8(body, "the size reply").decode()
        if not text.endswith("\n"):
            raise LedgerFormatError("the size reply does not end with a newline")
        return decimal_u64(text[:-1], "the size reply")
    except LedgerFormatError as error:
        raise WitnessError(str(error)) from None
