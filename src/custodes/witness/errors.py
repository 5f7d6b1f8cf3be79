"""The witness's refusals, each a :class:`custodes.ledger.LedgerError` with a one-line message and
the HTTP status that c2sp.org/tlog-witness gives it, so that an HTTP face maps them one to one.

    LedgerError
    └── WitnessError          the witness's state directory cannot be used as asked
        ├── BadRequest        400: a malformed add-checkpoint body, or old size > checkpoint size
        ├── BadSignature      403: no signature by the log's trusted key verifies
        ├── UnknownLog        404: the checkpoint's origin is not a log this witness trusts
        ├── Conflict          409: ``old`` is not the size the witness last cosigned (``current_size``)
        └── InconsistentCheckpoint
                              422: the consistency proof does not verify (a fork, a truncation)

A refusal never changes the witness's state.
"""

from __future__ import annotations

from typing import ClassVar

from custodes.ledger.errors import LedgerError


class WitnessError(LedgerError):
    """A witness state directory that cannot be used as asked (missing, damaged, already there)."""

    status: ClassVar[int] = 500


class BadRequest(WitnessError):
    """An add-checkpoint request that does not parse, or whose old size exceeds the checkpoint's."""

    status: ClassVar[int] = 400


class BadSignature(WitnessError):
    """A checkpoint with no valid signature by the log's trusted key (or a bad one by it)."""

    status: ClassVar[int] = 403


class UnknownLog(WitnessError):
    """A checkpoint whose origin is not a log this witness was told to trust."""

    status: ClassVar[int] = 404


class Conflict(WitnessError):
    """The request's old size is not the size of the checkpoint the witness last cosigned; the
    client should retry from ``current_size`` (the 409 body is ``f"{current_size}\\n"``)."""

    status: ClassVar[int] = 409

    def __init__(self, message: str, current_size: int) -> None:
        super().__init__(message)
        self.current_size = current_size


class InconsistentCheckpoint(WitnessError):
    """The consistency proof from the cosigned checkpoint to the new one does not verify: the log
    forked, was truncated or rewritten, or the proof is wrong."""

    status: ClassVar[int] = 422
