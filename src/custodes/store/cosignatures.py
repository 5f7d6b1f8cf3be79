"""Witness cosignatures, checked and kept beside the checkpoints they sign.

A witness answers an add-checkpoint request with cosignature lines (c2sp.org/tlog-cosignature,
``cosignature/v1``): one more signature line for the checkpoint note. The store keeps the
checkpoints it issued, and without this it would forget what the witnesses said about them.

:func:`keep_cosignatures` takes those lines and the witnesses' verifier keys, and keeps a line
only once the checkpoint note it signs, with the line appended, opens under the witness's key
(c2sp.org/signed-note): so a line that is forged, altered, by another key, or for a checkpoint
this store never issued is refused, and nothing of the batch is kept. Checkpoints are tried
newest first, since a witness normally answers for the checkpoint just sent to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from custodes.errors import CustodesError
from custodes.ledger import (
    COSIGNATURE_V1,
    LedgerFormatError,
    SignatureError,
    Verifier,
    open_note,
    parse_note,
    parse_vkey,
)
from custodes.store.catalog import IssuedCheckpoint, KeptCosignature, now
from custodes.store.store import Store

COSIGNATURE_PREFIX = "— "  # U+2014 EM DASH and a space start every signature line


@dataclass(frozen=True)
class Kept:
    """One cosignature line, checked; ``new`` is false if it had been kept before."""

    cosignature: KeptCosignature
    new: bool


def witness_verifiers(vkeys: Sequence[str]) -> list[Verifier]:
    """Parse witnesses' verifier keys; a log's note key (type 0x01) is refused, since a
    cosignature is made and checked under the witness's type-0x04 key ID."""
    verifiers = []
    for text in vkeys:
        try:
            verifier = parse_vkey(text.strip())
        except LedgerFormatError as error:
            raise CustodesError(f"--witness-vkey {text.strip()[:60]!r}: {error}") from None
        if verifier.algorithm != COSIGNATURE_V1:
            raise CustodesError(
                f"--witness-vkey {verifier.name}+{verifier.key_id:08x} is a log's note key "
                "(type 0x01), not a witness's cosigning key (type 0x04): give the key that "
                "`custodes witness init` printed"
            )
        verifiers.append(verifier)
    if not verifiers:
        raise CustodesError("give the witness's verifier key (--witness-vkey) to check against")
    return verifiers


def keep_cosignatures(store: Store, text: str, vkeys: Sequence[str]) -> list[Kept]:
    """Check every cosignature line of ``text`` against the witnesses' keys ``vkeys`` and the
    checkpoints this store issued, then keep them all, or refuse (:class:`CustodesError`, naming
    the first line at fault) and keep none."""
    verifiers = witness_verifiers(vkeys)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CustodesError(
            "no cosignature line was given: pass what `custodes witness add-checkpoint` printed"
        )
    issued = store.catalog.checkpoints()[::-1]
    if not issued:
        raise CustodesError(
            "this store has issued no checkpoint, so there is nothing a witness could have "
            "cosigned: run `custodes ledger checkpoint` and send it to the witness"
        )
    received = now()
    checked = [
        _check(line, number, issued, verifiers, received) for number, line in enumerate(lines, 1)
    ]
    added = store.catalog.add_cosignatures(checked)
    return [Kept(c, new) for c, new in zip(checked, added, strict=True)]


def _check(
    line: str,
    number: int,
    issued: list[IssuedCheckpoint],
    verifiers: list[Verifier],
    received: str,
) -> KeptCosignature:
    where = f"line {number}"
    if not line.startswith(COSIGNATURE_PREFIX):
        raise CustodesError(
            f"{where} is not a cosignature line ('— <witness name> <signature>'): pass only "
            "what `custodes witness add-checkpoint` printed"
        )
    try:
        # The line is one more signature of the checkpoint note: parse it as such.
        signature = parse_note(issued[0].note + line + "\n").signatures[-1]
    except LedgerFormatError as error:
        raise CustodesError(f"{where} is not a well-formed cosignature line: {error}") from None
    key = f"{signature.name}+{signature.key_id:08x}"
    verifier = next(
        (v for v in verifiers if (v.name, v.key_id) == (signature.name, signature.key_id)), None
    )
    if verifier is None:
        given = ", ".join(f"{v.name}+{v.key_id:08x}" for v in verifiers)
        raise CustodesError(
            f"{where} is signed by {key}, which is not among the witness keys given ({given}): "
            "pass that witness's verifier key with --witness-vkey"
        )
    for checkpoint in issued:
        try:
            open_note(checkpoint.note + line + "\n", [verifier])
        except (SignatureError, LedgerFormatError):
            continue
        return KeptCosignature(
            seq=checkpoint.seq,
            checkpoint_size=checkpoint.size,
            witness=signature.name,
            key_id=f"{signature.key_id:08x}",
            signature=line,
            vkey=verifier.vkey,
            cosigned_at=_stamp(signature.timestamp),
            received_at=received,
        )
    raise CustodesError(
        f"the cosignature by {key} ({where}) does not verify for any of the {len(issued)} "
        "checkpoints this store issued: it is forged or altered, or it signs another log's "
        "checkpoint; nothing was kept"
    )


def _stamp(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (ValueError, OverflowError, OSError):
        return str(seconds)  # a time beyond the calendar: keep what the witness stated
