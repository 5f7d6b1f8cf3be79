"""Operations, who they involve, and who works on them.

Operations are the force's units of work, and the reason almost every access happens. Calls come
into the control room round the clock (busiest in the evening) and become incidents; officers on
duty are sent; some incidents become crimes for a detective, an officer or a public protection
team to investigate, some end with an arrest and a custody record. Intelligence operations,
warrants, enquiry tasks, court files and professional standards investigations run alongside.
Long-running work opened before the window is still open in it.

Each piece of work someone does on an operation is a "work item": a person, an operation, a time
window and a rate of sessions per hour on shift. Most work items are written to the bundle as
assignments; the control room taking a call, analysts working their unit's operations and custody
staff on duty are explained by their unit instead; a few items are legitimate but leave no trace
in the data (see :class:`custodes.synth.events.Label`). :mod:`activity` turns items into events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from custodes.bundle.contract import OPERATION_KINDS
from custodes.synth.base import F64, I64, csr
from custodes.synth.casework import CasePlanner
from custodes.synth.events import Label
from custodes.synth.workplan import Context

PREFIX = {
    "incident": "INC",
    "crime": "CRM",
    "intelligence": "INT",
    "custody": "CUS",
    "warrant": "WAR",
    "task": "TSK",
    "court": "CRT",
    "other": "OTH",
}


@dataclass(eq=False)
class Operations:
    """All operations, in the order they were opened; op index = row of ``operations``."""

    kind: I64
    unit: I64
    opened: I64  # window seconds
    closed: I64  # window seconds; after the window for work still open at the export
    number: I64  # sequence number within the kind
    subject_ptr: I64  # subjects of op i: subject[subject_ptr[i]:subject_ptr[i + 1]]
    subject: I64
    role: I64
    item_person: I64
    item_op: I64
    item_start: I64
    item_end: I64
    item_rate: F64
    item_label: I64
    item_written: np.ndarray
    item_role: I64  # index into ASSIGNMENT_ROLES
    _by_person: tuple[I64, I64] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.kind)

    def subjects_of(self, op: int) -> I64:
        return self.subject[self.subject_ptr[op] : self.subject_ptr[op + 1]]

    def items_of(self, person: int, n_people: int) -> I64:
        """Work items of one person (indices into the item columns)."""
        if self._by_person is None:
            self._by_person = csr(self.item_person, n_people)
        ptr, order = self._by_person
        return order[ptr[person] : ptr[person + 1]]

    def ids(self) -> list[str]:
        """``OP-INC-000123``: the kind, then the number within the kind."""
        width = max(6, len(str(int(self.number.max(initial=0)))))
        prefix = [PREFIX[kind] for kind in OPERATION_KINDS]
        return [
            f"OP-{prefix[k]}-{n:0{width}d}"
            for k, n in zip(self.kind.tolist(), self.number.tolist(), strict=True)
        ]


def make_operations(context: Context) -> Operations:
    """Generate the backlog of open work, then each day of the window in turn."""
    planner = CasePlanner(context)
    for day in range(-context.backlog_days, 0):
        planner.long_running(day)
    for day in range(context.window.days):
        planner.day(day)
    return _finish(planner, context)


def _finish(planner: CasePlanner, context: Context) -> Operations:
    ops = planner.ops.build()
    links = planner.links.build()
    items = planner.items.build()
    # Keep the backlog only where it was still open when the window began.
    keep_op = ops["closed"] >= 0
    # Number operations in the order they were opened, each kind on its own sequence.
    order = np.lexsort((np.arange(len(keep_op)), ops["opened"]))
    order = order[keep_op[order]]
    new_index = np.full(len(keep_op), -1, dtype=np.int64)
    new_index[order] = np.arange(len(order))
    kind = ops["kind"][order]
    number = np.zeros(len(order), dtype=np.int64)
    for k in range(len(OPERATION_KINDS)):
        rows = kind == k
        number[rows] = np.arange(1, int(rows.sum()) + 1)

    link_op = new_index[links["op"]]
    kept = link_op >= 0
    link_op, subject, role = link_op[kept], links["subject"][kept], links["role"][kept]
    # One row per (operation, subject); the first role given wins.
    key = link_op * (context.n_subjects + 1) + subject
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    by_op = np.lexsort((first, link_op[first]))
    rows = first[by_op]
    ptr = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(np.bincount(link_op[rows], minlength=len(order)), out=ptr[1:])

    item_op = new_index[items["op"]]
    end = context.window.end_seconds
    item_keep = (item_op >= 0) & (items["end"] > items["start"]) & (items["start"] < end)
    item_keep &= _first_of_each_assignment(items, item_op)
    item_keep &= ~_noise_with_an_explanation(items, item_op, len(context.workforce))
    sel = np.flatnonzero(item_keep)
    return Operations(
        kind=kind,
        unit=ops["unit"][order],
        opened=ops["opened"][order],
        closed=ops["closed"][order],
        number=number,
        subject_ptr=ptr,
        subject=subject[rows],
        role=role[rows],
        item_person=items["person"][sel],
        item_op=item_op[sel],
        item_start=items["start"][sel],
        item_end=items["end"][sel],
        item_rate=items["rate"][sel].astype(np.float64),
        item_label=items["label"][sel],
        item_written=items["written"][sel].astype(bool),
        item_role=items["role"][sel],
    )


def _first_of_each_assignment(items: dict[str, np.ndarray], item_op: I64) -> np.ndarray:
    """False for a written item repeating an earlier (operation, person, start): the key."""
    rows = np.flatnonzero(items["written"].astype(bool))
    order = rows[np.lexsort((rows, items["start"][rows], items["person"][rows], item_op[rows]))]
    same = (
        (item_op[order[1:]] == item_op[order[:-1]])
        & (items["person"][order[1:]] == items["person"][order[:-1]])
        & (items["start"][order[1:]] == items["start"][order[:-1]])
    )
    keep = np.ones(len(item_op), dtype=bool)
    keep[order[1:][same]] = False
    return keep


def _noise_with_an_explanation(
    items: dict[str, np.ndarray], item_op: I64, n_people: int
) -> np.ndarray:
    """True for noise that would be explained after all (the person also works the operation).

    A briefing about a warrant one is on, or covering a case one is assigned to, is not hard to
    explain, so it is dropped rather than mislabelled. Stale follow-up work is kept: its person
    worked the operation, but not at that time.
    """
    label = items["label"]
    key = item_op * (n_people + 1) + items["person"]
    explained = np.unique(key[label <= Label.UNIT])
    timeless = (label >= Label.NOISE) & (label != Label.STALE_ASSIGNMENT)
    return np.asarray(timeless & np.isin(key, explained), dtype=bool)
