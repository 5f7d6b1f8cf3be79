"""A transparency log witness (c2sp.org/tlog-witness): an independent party that cosigns a log's
checkpoints only while the log stays append-only.

The witness keeps, in its own state directory and with its own key, the last checkpoint it
cosigned for each log it trusts, and cosigns a new one only after checking the log's signature
and a consistency proof from the one it holds. A log that rolls back, truncates, forks or
rewrites its history gets a typed refusal (with the HTTP status the specification gives it), and
the witness's state is left unchanged. See ``docs/ledger.md``, "The witness".

The submodules are implementation; this namespace is the public surface.
"""

from custodes.witness.errors import (
    BadRequest,
    BadSignature,
    Conflict,
    InconsistentCheckpoint,
    UnknownLog,
    WitnessError,
)
from custodes.witness.protocol import (
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    format_add_checkpoint,
    format_size,
    parse_add_checkpoint,
    parse_size,
)
from custodes.witness.witness import Reply, Witness

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "BadRequest",
    "BadSignature",
    "Conflict",
    "InconsistentCheckpoint",
    "Reply",
    "UnknownLog",
    "Witness",
    "WitnessError",
    "format_add_checkpoint",
    "format_size",
    "parse_add_checkpoint",
    "parse_size",
]
