"""A C2SP ``tlog-witness``: cosign a log's checkpoint only if it extends the last one cosigned.

For each log it trusts (an origin and the log's verifier key) the witness keeps the last
checkpoint it cosigned. It cosigns a new checkpoint of that log only if the checkpoint carries a
valid signature by the log's key, the client's ``old`` size is the size the witness holds, and a
valid RFC 9162 consistency proof leads from the held (size, root) to the new one; it then stores
the new checkpoint and answers with its ``cosignature/v1`` line. Anything else is refused with a
typed :class:`WitnessError` (each with its HTTP status), and the state is left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger._codec import quote
from custodes.ledger.checkpoint import Checkpoint, parse_checkpoint
from custodes.ledger.errors import LedgerFormatError, ProofError, SignatureError
from custodes.ledger.merkle import EMPTY_ROOT, verify_consistency
from custodes.ledger.note import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    Signer,
    Verifier,
    generate_signer,
    open_note,
    parse_note,
    parse_signer_key,
    parse_vkey,
)
from custodes.witness.errors import (
    BadRequest,
    BadSignature,
    Conflict,
    InconsistentCheckpoint,
    UnknownLog,
    WitnessError,
)
from custodes.witness.protocol import SIZE_CONTENT_TYPE, format_size, parse_add_checkpoint
from custodes.witness.state import StateDir

TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """What an HTTP face answers to an add-checkpoint request: status, content type and body."""

    status: int
    content_type: str
    body: str


class Witness:
    """A witness over its state directory (see :mod:`custodes.witness.state`).

    Use :meth:`init` to make a new one (with a new key) and :meth:`open` to open one.
    """

    def __init__(self, state: StateDir, signer: Signer) -> None:
        if signer.algorithm != COSIGNATURE_V1:
            raise WitnessError("a witness's key must be in the cosigner role (cosignature/v1)")
        self._state = state
        self._signer = signer

    @classmethod
    def init(cls, directory: Path | str, name: str) -> Witness:
        """Create a state directory at ``directory`` with a new key named ``name``."""
        signer = generate_signer(name, COSIGNATURE_V1)
        return cls(StateDir.create(Path(directory), signer.skey), signer)

    @classmethod
    def open(cls, directory: Path | str) -> Witness:
        """Open the state directory at ``directory``."""
        state = StateDir.open(Path(directory))
        try:
            signer = parse_signer_key(state.read_key(), COSIGNATURE_V1)
        except LedgerFormatError as error:
            # The message names the format problem, never the key's content.
            raise WitnessError(f"the witness key in {state.path} is damaged: {error}") from None
        return cls(state, signer)

    def __repr__(self) -> str:
        return f"Witness({str(self.path)!r}, {self.name}+{self._signer.key_id:08x})"

    @property
    def path(self) -> Path:
        return self._state.path

    @property
    def name(self) -> str:
        """The witness's key name (what its cosignature lines carry)."""
        return self._signer.name

    @property
    def verifier(self) -> Verifier:
        """The witness's public key (type 0x04): give ``verifier.vkey`` to those who check."""
        return self._signer.verifier()

    def trust_log(self, vkey: str | Verifier, origin: str | None = None) -> Verifier:
        """Trust the log key ``vkey`` (a note key, type 0x01) for ``origin`` (by default the
        key's name). A log may have several keys (a rotation); adding one twice does nothing."""
        verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
        if verifier.algorithm != ED25519:
            raise WitnessError(
                f"the key {verifier.name}+{verifier.key_id:08x} is not a log's note key (type 0x01)"
            )
        origin = verifier.name if origin is None else origin
        Checkpoint(origin, 0, EMPTY_ROOT)  # checks that the origin can head a checkpoint
        with self._state.locked():
            vkeys = self._state.read_vkeys(origin) or []
            if verifier.vkey not in vkeys:
                self._state.write_vkeys(origin, [*vkeys, verifier.vkey])
        return verifier

    def logs(self) -> list[str]:
        """The origins of the logs this witness trusts, sorted."""
        return self._state.origins()

    def log_keys(self, origin: str) -> list[Verifier]:
        """The keys trusted for ``origin``; :class:`UnknownLog` if there are none."""
        vkeys = self._state.read_vkeys(origin)
        if vkeys is None:
            raise UnknownLog(f"the log {quote(origin)} is not one this witness trusts")
        try:
            return [parse_vkey(vkey) for vkey in vkeys]
        except LedgerFormatError as error:
            raise WitnessError(f"the key file of {quote(origin)} is damaged: {error}") from None

    def cosigned(self, origin: str) -> str | None:
        """The last checkpoint cosigned for ``origin`` (a note with the log's signature and the
        witness's cosignature), or None if there is none yet."""
        return self._state.read_checkpoint(origin)

    def state(self, origin: str) -> Checkpoint | None:
        """The last checkpoint cosigned for ``origin``, or None if there is none yet."""
        text = self._state.read_checkpoint(origin)
        if text is None:
            return None
        try:
            checkpoint = parse_checkpoint(parse_note(text).text)
        except LedgerFormatError as error:
            raise WitnessError(
                f"the stored checkpoint of {quote(origin)} is damaged: {error}"
            ) from None
        if checkpoint.origin != origin:
            raise WitnessError(
                f"the stored checkpoint of {quote(origin)} is for {quote(checkpoint.origin)}"
            )
        return checkpoint

    def add_checkpoint(
        self,
        checkpoint: str | bytes,
        old_size: int,
        proof: Sequence[bytes],
        *,
        timestamp: int | None = None,
    ) -> str:
        """Check the signed ``checkpoint`` against the stored state and, if it passes, cosign it,
        store it and return the cosignature line (with its newline: append it to the note).

        ``old_size`` is the size the client believes the witness holds for the log (0 if none)
        and ``proof`` the consistency proof from that size to the checkpoint's.
        ``timestamp`` (Unix seconds) defaults to now. Refusals, in the order checked:
        :class:`BadRequest` (malformed, or ``old_size`` above the checkpoint's size),
        :class:`UnknownLog`, :class:`BadSignature`, :class:`Conflict` (``old_size`` is not the
        stored size) and :class:`InconsistentCheckpoint` (the proof does not verify)."""
        note, new = _parse_signed(checkpoint)
        origin = new.origin
        try:
            open_note(note, self.log_keys(origin))
        except SignatureError as error:
            raise BadSignature(f"the checkpoint of {quote(origin)} is refused: {error}") from None
        if isinstance(old_size, bool) or not isinstance(old_size, int):
            raise BadRequest("the old size is not an integer")
        if not 0 <= old_size <= new.size:
            raise BadRequest(
                f"the old size {old_size} is not in 0..{new.size}, the checkpoint's size "
                f"(a log may not roll back)"
            )
        with self._state.locked():
            held = self.state(origin)
            current = 0 if held is None else held.size
            if old_size != current:
                raise Conflict(
                    f"the witness holds size {current} for {quote(origin)}, not {old_size}",
                    current,
                )
            _check_consistency(held, new, proof)
            cosignature = self._signer.sign(note.text, timestamp=timestamp)
            self._state.write_checkpoint(origin, note.with_signatures(cosignature).format())
        return cosignature.line + "\n"

    def handle(self, body: str | bytes, *, timestamp: int | None = None) -> Reply:
        """Answer an add-checkpoint request body as c2sp.org/tlog-witness says: 200 and the
        cosignature line, 409 and the held size, or 400/403/404/422/500 and a one-line reason."""
        try:
            request = parse_add_checkpoint(body)
            line = self.add_checkpoint(
                request.checkpoint, request.old_size, request.proof, timestamp=timestamp
            )
        except Conflict as conflict:
            return Reply(conflict.status, SIZE_CONTENT_TYPE, format_size(conflict.current_size))
        except WitnessError as error:
            return Reply(error.status, TEXT_CONTENT_TYPE, f"{error}\n")
        return Reply(200, TEXT_CONTENT_TYPE, line)


def _parse_signed(checkpoint: str | bytes) -> tuple[Note, Checkpoint]:
    try:
        note = parse_note(checkpoint)
        return note, parse_checkpoint(note.text)
    except LedgerFormatError as error:
        raise BadRequest(f"the checkpoint is malformed: {error}") from None


def _check_consistency(held: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """The new checkpoint extends the held one (None or size 0: the empty tree)."""
    where = f"the checkpoint of {quote(new.origin)} at size {new.size}"
    if new.size == 0 and new.root_hash != EMPTY_ROOT:
        raise InconsistentCheckpoint(f"{where} does not have the empty tree's root")
    if held is None or held.size == 0:
        if proof:
            raise InconsistentCheckpoint(
                f"{where} extends the empty tree, so its proof must be empty, not {len(proof)} hashes"
            )
        return
    try:
        verify_consistency(held.size, new.size, list(proof), held.root_hash, new.root_hash)
    except ProofError as error:
        raise InconsistentCheckpoint(
            f"{where} is not consistent with the cosigned one at size {held.size}: {error}"
        ) from None
