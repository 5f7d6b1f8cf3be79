"""Access events while they are being made: parallel integer columns, turned into text at the end.

A day's events are built as numbers (indices into the tables of people, subjects, operations,
purposes, recipients and terminals), merged with the day's misuse events, put in time order, and
only then numbered and formatted. Each event also carries a label that never leaves the generator
except through the truth files: why it happened (explained by an assignment or by the unit's
work, legitimate but hard to explain, or misuse).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np

from custodes.bundle.contract import ACTIONS
from custodes.synth.base import I64

ACTION = {name: i for i, name in enumerate(ACTIONS)}
SYSTEMS = ("PNC", "PND", "RMS", "CAD", "INTEL")
SYSTEM = {name: i for i, name in enumerate(SYSTEMS)}

# Bits of ``query_fields``: which of the subject's details a search was made with.
Q_SURNAME, Q_FORENAMES, Q_DOB, Q_INITIAL = 1, 2, 4, 8


class Label(IntEnum):
    """Why an event happened (truth). Values below NOISE are explainable from the bundle."""

    ASSIGNED = 0  # the person is assigned to an operation involving the subject
    UNIT = 1  # the person's unit owns the operation and was working it at the time
    NOISE = 10  # first of the legitimate-but-hard-to-explain kinds
    BRIEFING = 10  # subject of a warrant or operation looked up for a shift briefing
    COVERING = 11  # covering a colleague's case without being assigned to it
    STALE_ASSIGNMENT = 12  # follow-up work after the assignment window closed
    UNRECORDED_ASSIGNMENT = 13  # attended, but the assignment was never recorded
    MISUSE = 20


NOISE_KINDS: dict[int, str] = {
    Label.BRIEFING: "briefing",
    Label.COVERING: "covering_colleague",
    Label.STALE_ASSIGNMENT: "stale_assignment",
    Label.UNRECORDED_ASSIGNMENT: "unrecorded_assignment",
}


@dataclass
class EventBatch:
    """Events as columns; -1 means "none" in every index column."""

    t: I64  # window seconds
    person: I64  # index into workforce ids, then ghost ids
    action: I64
    system: I64
    subject: I64
    record: I64  # index into the record reference table
    query_subject: I64  # subject whose details were searched for
    query_fields: I64
    purpose: I64
    operation: I64  # the operation the user named
    recipient: I64
    terminal: I64
    label: I64
    instance: I64  # misuse instance, -1 otherwise
    lied: I64  # 1 where a misuser gave a false purpose or an operation that does not fit

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls) -> EventBatch:
        return cls(**{f.name: np.zeros(0, dtype=np.int64) for f in fields(cls)})

    @classmethod
    def concat(cls, batches: list[EventBatch]) -> EventBatch:
        if not batches:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)}
        )

    def take(self, index: I64) -> EventBatch:
        return EventBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def in_time_order(self) -> EventBatch:
        """Sorted by time; ties keep the order they were made in, so the result is reproducible."""
        return self.take(np.argsort(self.t, kind="stable"))


def full(n: int, value: int) -> I64:
    return np.full(n, value, dtype=np.int64)
