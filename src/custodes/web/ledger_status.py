"""The ledger's state as people can check it: its size, the last signed checkpoint and who
signed it (the log, and any witness whose cosignature the checkpoint carries).

A store may have no checkpoint yet, or checkpoints no witness has cosigned: the page says so and
says what to run, rather than showing nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from custodes.ledger import LedgerError, parse_note
from custodes.store.catalog import IssuedCheckpoint
from custodes.store.store import Store

RECENT_ACTIONS = 12


class SignatureView(BaseModel):
    name: str
    key_id: str
    kind: str  # "log" or "witness cosignature"
    cosigned_at: str | None = None


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
    cosigned: bool
    recent_actions: list[ActionView]  # the system's last actions (reads, case steps, ingests)


def ledger_status(store: Store) -> LedgerStatus:
    size = store.catalog.ledger_size()
    identity = store.catalog.log_identity()
    issued = store.catalog.checkpoints()
    latest = _checkpoint(issued[-1], identity[0] if identity else None) if issued else None
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
        recent_actions=actions,
    )


def _checkpoint(issued: IssuedCheckpoint, origin: str | None) -> CheckpointView:
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
    return CheckpointView(
        seq=issued.seq,
        size=issued.size,
        root=issued.root.hex(),
        issued_at=issued.issued_at,
        note=issued.note,
        signatures=signatures,
    )
