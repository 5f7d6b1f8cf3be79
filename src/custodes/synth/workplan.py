"""The building blocks of the operations plan: columns being filled, and the ways to fill them.

:class:`WorkPlan` holds the operations, their subjects and the work items as they are drawn, and
knows how to add them and how to choose a unit or one of its members; :mod:`casework` says how
much work of each kind arrives and who takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodes.bundle.contract import OPERATION_KINDS, UNIT_KINDS
from custodes.synth.base import F64, I64, Stage, Window, stream
from custodes.synth.events import Label
from custodes.synth.involvement import Involvement
from custodes.synth.linkage import Linkage
from custodes.synth.organisation import Units, Workforce, unit_members
from custodes.synth.population import Subjects
from custodes.synth.roster import Roster

OP = {kind: i for i, kind in enumerate(OPERATION_KINDS)}
UNIT = {kind: i for i, kind in enumerate(UNIT_KINDS)}
ASSIGNMENT_ROLES = (
    "attending officer",
    "officer in case",
    "custody officer",
    "detention officer",
    "arresting officer",
    "intelligence analyst",
    "warrant team",
    "enquiry officer",
    "case progression officer",
    "investigating officer",
    "call handler",
)
A = {role: i for i, role in enumerate(ASSIGNMENT_ROLES)}


@dataclass(eq=False)
class Context:
    """Everything the operations need to know about the force."""

    seed: int
    window: Window
    roster: Roster
    units: Units
    workforce: Workforce
    subjects: Subjects
    linkage: Linkage
    backlog_days: int = 150

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)


class Columns:
    """Column chunks appended batch by batch, joined once at the end."""

    def __init__(self, *names: str) -> None:
        self.chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self.size = 0

    def add(self, **values: np.ndarray | int | float) -> I64:
        n = max((np.size(v) for v in values.values() if np.ndim(v) > 0), default=0)
        for name, value in values.items():
            self.chunks[name].append(np.broadcast_to(np.asarray(value), (n,)).copy())
        first = self.size
        self.size += n
        return np.arange(first, first + n, dtype=np.int64)

    def build(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            for name, parts in self.chunks.items()
        }


class WorkPlan:
    """Operations, their subjects and work items, as drawn so far."""

    def __init__(self, context: Context) -> None:
        self.c = context
        self.ops = Columns("kind", "unit", "opened", "closed")
        self.links = Columns("op", "subject", "role")
        self.items = Columns("person", "op", "start", "end", "rate", "label", "written", "role")
        wf, units = context.workforce, context.units
        self.size = len(wf)
        self.member_ptr, self.member_order = unit_members(wf, len(units))
        kind_of = units.kind[wf.unit]
        self.kind_members = {k: np.flatnonzero(kind_of == i) for k, i in UNIT.items()}
        self.kind_units = {k: np.flatnonzero(units.kind == i) for k, i in UNIT.items()}
        self.involve = Involvement(context.subjects, context.linkage, wf)
        psd = set(self.kind_members["psd"].tolist())
        selves = context.linkage.self_subject
        self.employee_records = np.array(
            [s for p, s in enumerate(selves.tolist()) if s >= 0 and p not in psd], dtype=np.int64
        )
        self.targets: list[tuple[int, int]] = []  # (day, op) of warrants and intelligence work

    # -- building blocks ---------------------------------------------------------------------

    def rng(self, day: int) -> np.random.Generator:
        return stream(self.c.seed, Stage.OPERATIONS, day + 1_000_000)

    def new_ops(self, kind: str, unit: I64, opened: I64, closed: I64) -> I64:
        return self.ops.add(kind=OP[kind], unit=unit, opened=opened, closed=closed)

    def item(
        self,
        person: I64,
        op: I64,
        start: I64,
        end: I64,
        rate: float | F64,
        label: Label,
        role: str,
        written: bool = True,
    ) -> I64:
        keep = person >= 0
        return self.items.add(
            person=person[keep],
            op=op[keep],
            start=start[keep],
            end=end[keep],
            rate=np.broadcast_to(rate, person.shape)[keep],
            label=int(label),
            written=int(written),
            role=A[role],
        )

    def units_of(self, rng: np.random.Generator, kind: str, n: int) -> I64:
        """Units of a kind, bigger units getting more work."""
        units = self.kind_units[kind]
        size = self.c.units.size[units].astype(np.float64)
        drawn = np.searchsorted(np.cumsum(size) / size.sum(), rng.random(n), side="right")
        return units[np.minimum(drawn, len(units) - 1)]

    def member_of(self, rng: np.random.Generator, unit: I64, day: int | I64) -> I64:
        """Someone in each unit, preferring people employed on ``day``."""
        count = self.member_ptr[unit + 1] - self.member_ptr[unit]
        chosen = np.full(len(unit), -1, dtype=np.int64)
        for _ in range(3):
            todo = np.flatnonzero(chosen < 0)
            pick = self.member_order[
                self.member_ptr[unit[todo]] + (rng.random(len(todo)) * count[todo]).astype(np.int64)
            ]
            when = day if np.ndim(day) == 0 else np.asarray(day)[todo]
            ok = (self.c.workforce.joined[pick] <= when) & (self.c.workforce.left[pick] >= when)
            chosen[todo[ok]] = pick[ok]
        todo = np.flatnonzero(chosen < 0)
        chosen[todo] = self.member_order[self.member_ptr[unit[todo]]]
        return chosen

    def pick_subjects(self, rng: np.random.Generator, kind: str, ops: I64) -> tuple[I64, I64, I64]:
        op, subject, role = self.involve.pick(rng, kind, ops)
        self.links.add(op=op, subject=subject, role=role)
        return op, subject, role
