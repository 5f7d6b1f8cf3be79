"""The ledger's state as people can check it: its size, the last signed checkpoint and who
signed it (the log, and any witness whose cosignature the checkpoint carries or the store kept),
and what each witness last cosigned.

A store may have no checkpoint yet, or checkpoints no witness has cosigned: the page says so and
says what to run, rather than showing nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from custodes.ledger import LedgerError, parse_note
from custodes.store.catalog import IssuedCheckpoint, KeptCosignature
from custodes.store.store import Store

RECENT_ACTIONS = 12


class SignatureView(BaseModel):
    name: str
    key_id: str
    kind: str  # "log" or "witness cosignature"
    cosigned_at: str | None = None
    checked: bool = False  # kept by `custodes ledger cosigned`, checked against the witness key


class WitnessView(BaseModel):
    """The newest checkpoint one witness key has cosigned, among the cosignatures kept."""

    witness: str
    key_id: str
    checkpoint: int  # its number (seq)
    checkpoint_size: int
    cosigned_at: str
    received_at: str


class CheckpointView(BaseModel):
    seq: int
    size: int
    root: str
    issued_at: str
    note: str
    signatures: list[SignatureView]


class ActionView(BaseModel):
    leaf_index: int
    kind: str
    recorded_at: str


class LedgerStatus(BaseModel):
    size: int  # leaves committed (access events and the system's own actions)
    origin: str | None
    vkey: str | None
    checkpoints: int
    latest: CheckpointView | None
    unsigned_leaves: int  # leaves after the latest checkpoint
    cosigned: bool  # the latest checkpoint carries, or has kept, a witness cosignature
    witnesses: list[WitnessView]
    recent_actions: list[ActionView]  # the system's last actions (reads, case steps, ingests)


def ledger_status(store: Store) -> LedgerStatus:
    size = store.catalog.ledger_size()
    identity = store.catalog.log_identity()
    issued = store.catalog.checkpoints()
    latest = None
    if issued:
        kept = store.catalog.cosignatures(issued[-1].seq)
        latest = _checkpoint(issued[-1], identity[0] if identity else None, kept)
    witnesses = [
        WitnessView(
            witness=c.witness,
            key_id=c.key_id,
            checkpoint=c.seq,
            checkpoint_size=c.checkpoint_size,
            cosigned_at=c.cosigned_at,
            received_at=c.received_at,
        )
        for c in store.catalog.cosignatures(latest_per_witness=True)
    ]
    actions = [
        ActionView(leaf_index=int(leaf), kind=kind, recorded_at=at)
        for leaf, kind, at in store.catalog.db.execute(
            "SELECT leaf_index, kind, recorded_at FROM system_events "
            "ORDER BY leaf_index DESC LIMIT ?",
            (RECENT_ACTIONS,),
        ).fetchall()
    ]
    return LedgerStatus(
        size=size,
        origin=identity[0] if identity else None,
        vkey=identity[1] if identity else None,
        checkpoints=len(issued),
        latest=latest,
        unsigned_leaves=size - (latest.size if latest else 0),
        cosigned=bool(latest and any(s.kind != "log" for s in latest.signatures)),
        witnesses=witnesses,
        recent_actions=actions,
    )


def _checkpoint(
    issued: IssuedCheckpoint, origin: str | None, kept: list[KeptCosignature]
) -> CheckpointView:
    signatures: list[SignatureView] = []
    try:
        note = parse_note(issued.note)
    except LedgerError:
        note = None
    for signature in note.signatures if note else ():
        if signature.name == origin and len(signature.signature) == 64:
            signatures.append(
                SignatureView(name=signature.name, key_id=f"{signature.key_id:08x}", kind="log")
            )
            continue
        try:
            stamp = datetime.fromtimestamp(signature.timestamp, UTC).isoformat(timespec="seconds")
        except (LedgerError, ValueError, OverflowError):
            stamp = None
        signatures.append(
            SignatureView(
                name=signature.name,
                key_id=f"{signature.key_id:08x}",
                kind="witness cosignature",
                cosigned_at=stamp,
            )
        )
    on_note = {(s.name, s.key_id) for s in signatures}
    signatures += [
        SignatureView(
            name=c.witness,
            key_id=c.key_id,
            kind="witness cosignature",
            cosigned_at=c.cosigned_at,
            checked=True,
        )
        for c in kept
        if (c.witness, c.key_id) not in on_note
    ]
    return CheckpointView(
        seq=issued.seq,
        size=issued.size,
        root=issued.root.hex(),
        issued_at=issued.issued_at,
        note=issued.note,
        signatures=signatures,
    )
