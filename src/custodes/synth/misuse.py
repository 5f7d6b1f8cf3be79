"""The misuse plan: every instance of every scenario, and its events released day by day.

The plan is made once, before the first day is written, so that an instance can span days (an
ex-partner looked up night after night) while events still stream out one day at a time.
"""

from __future__ import annotations

import numpy as np

from custodes.synth.activity import record_index
from custodes.synth.base import I64, SECONDS_PER_DAY, Stage, stream
from custodes.synth.behaviour import Force, Row
from custodes.synth.events import ACTION, EventBatch, Label
from custodes.synth.scenarios import SCENARIOS, Instance, Scenarios


class MisusePlan:
    """All misuse instances and their events."""

    def __init__(self, seed: int, force: Force, counts: dict[str, int]) -> None:
        self.instances: list[Instance] = []
        self.recipients: list[str] = []  # private addresses, after the legitimate recipients
        rows: list[Row] = []
        behaviour = Scenarios(force, stream(seed, Stage.SCENARIOS), rows, self.recipients)
        for scenario in SCENARIOS:
            for _ in range(counts[scenario]):
                instance_id = f"M{len(self.instances) + 1:04d}"
                instance = behaviour.run(scenario, instance_id, len(self.instances))
                if instance is not None:
                    self.instances.append(instance)
        columns = np.array(rows, dtype=np.int64).reshape(-1, 13)
        # Keep events inside the window (a burst late on the last day may run past midnight).
        columns = columns[(columns[:, 0] >= 0) & (columns[:, 0] < force.window.end_seconds)]
        self.events = _batch(columns, len(force.subjects))
        self._day = self.events.t // SECONDS_PER_DAY

    def day(self, day: int) -> EventBatch:
        return self.events.take(np.flatnonzero(self._day == day))

    def events_per_instance(self) -> I64:
        return np.bincount(self.events.instance, minlength=len(self.instances)).astype(np.int64)


def _batch(columns: np.ndarray, n_subjects: int) -> EventBatch:
    t, person, action, system, subject, query_subject, query_fields = columns[:, :7].T
    purpose, op, recipient, terminal, instance, lied = columns[:, 7:].T
    # Misusers open the person's own record, not a case file, on the force's systems.
    nominal = np.ones(len(t), dtype=bool)
    record = record_index(system, np.maximum(subject, 0), op, n_subjects, nominal)
    no_record = (action == ACTION["search"]) | (subject < 0)
    return EventBatch(
        t=t,
        person=person,
        action=action,
        system=system,
        subject=subject,
        record=np.where(no_record, -1, record),
        query_subject=query_subject,
        query_fields=query_fields,
        purpose=purpose,
        operation=op,
        recipient=recipient,
        terminal=terminal,
        label=np.full(len(t), int(Label.MISUSE), dtype=np.int64),
        instance=instance,
        lied=lied,
    )
