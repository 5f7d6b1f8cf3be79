"""Who an operation involves: the subjects of each incident, crime, warrant or case.

A few people turn up again and again (prolific offenders, repeat victims, frequent callers), so
subjects are drawn by a heavy-tailed popularity; public figures and protected people rarely.
Incidents often involve several members of one household (domestic incidents), and now and then
an incident happens on the street where an attending officer lives, which is how legitimate
access to a neighbour's record arises (the ``same_postcode`` hard negatives).
"""

from __future__ import annotations

import numpy as np

from custodes.bundle.contract import SUBJECT_ROLES
from custodes.synth.base import I64
from custodes.synth.linkage import Linkage
from custodes.synth.organisation import Workforce
from custodes.synth.population import Subjects

ROLE = {role: i for i, role in enumerate(SUBJECT_ROLES)}
SAME_HOUSEHOLD = 0.35  # chance that a further subject comes from the first one's household

_SUBJECT_COUNTS: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "incident": ((1, 2, 3, 4), (0.3, 0.35, 0.2, 0.15)),
    "crime": ((1, 2, 3, 4), (0.25, 0.4, 0.2, 0.15)),
    "intelligence": ((2, 3, 4, 5, 6), (0.2, 0.25, 0.25, 0.15, 0.15)),
    "custody": ((1,), (1.0,)),
    "warrant": ((1,), (1.0,)),
    "task": ((1, 2), (0.7, 0.3)),
    "court": ((1, 2, 3), (0.3, 0.4, 0.3)),
    "other": ((1, 2), (0.6, 0.4)),
}
_ROLES: dict[str, tuple[str, ...]] = {
    "incident": ("victim", "suspect", "witness", "reporter", "witness", "witness"),
    "crime": ("victim", "suspect", "witness", "witness", "associate", "witness"),
    "intelligence": ("suspect", "associate", "associate", "associate", "associate", "associate"),
    "custody": ("suspect",),
    "warrant": ("suspect",),
    "task": ("other", "victim"),
    "court": ("suspect", "victim", "witness"),
    "other": ("suspect", "other"),
}


class Involvement:
    """Draws subjects for operations."""

    def __init__(self, subjects: Subjects, linkage: Linkage, workforce: Workforce) -> None:
        self.subjects, self.linkage, self.workforce = subjects, linkage, workforce
        self.subject_cdf = np.cumsum(subjects.popularity)
        self.household_ptr, self.household_order = subjects.by_household()
        n_postcodes = int(max(subjects.postcode.max(), workforce.home_postcode.max())) + 1
        self.postcode_ptr, self.postcode_order = subjects.by_postcode(n_postcodes)

    def pick(self, rng: np.random.Generator, kind: str, ops: I64) -> tuple[I64, I64, I64]:
        """Subjects of each operation: prolific people more often, households together."""
        values, p = _SUBJECT_COUNTS[kind]
        counts = rng.choice(np.array(values), size=len(ops), p=np.array(p))
        op = np.repeat(ops, counts)
        position = np.arange(len(op)) - np.repeat(np.cumsum(counts) - counts, counts)
        subject = np.searchsorted(
            self.subject_cdf, rng.random(len(op)) * self.subject_cdf[-1], side="right"
        )
        subject = np.minimum(subject, len(self.subjects) - 1).astype(np.int64)
        first = np.repeat(subject[np.cumsum(counts) - counts], counts)
        household = self.subjects.household[first]
        size = self.household_ptr[household + 1] - self.household_ptr[household]
        same_home = (position > 0) & (size > 1) & (rng.random(len(op)) < SAME_HOUSEHOLD)
        member = self.household_order[
            self.household_ptr[household] + (rng.random(len(op)) * size).astype(np.int64)
        ]
        subject = np.where(same_home, member, subject)
        roles = np.array([ROLE[r] for r in _ROLES[kind]], dtype=np.int64)
        role = roles[np.minimum(position, len(roles) - 1)]
        if kind == "incident":
            role = np.where((position == 0) & (rng.random(len(op)) < 0.25), ROLE["reporter"], role)
        return op, subject, role

    def near_home(
        self, rng: np.random.Generator, ops: I64, responder: I64, share: float
    ) -> tuple[I64, I64]:
        """A ``share`` of operations also involve someone living on the responder's street."""
        chosen = np.flatnonzero((responder >= 0) & (rng.random(len(ops)) < share))
        wf = self.workforce
        extra_op: list[int] = []
        extra_subject: list[int] = []
        for i in chosen.tolist():
            person = int(responder[i])
            postcode = int(wf.home_postcode[person])
            residents = self.postcode_order[
                self.postcode_ptr[postcode] : self.postcode_ptr[postcode + 1]
            ]
            linked = self.linkage.linked_subjects(person)
            residents = np.array([s for s in residents.tolist() if s not in linked], dtype=np.int64)
            if len(residents):
                extra_op.append(int(ops[i]))
                extra_subject.append(int(residents[rng.integers(len(residents))]))
        return np.array(extra_op, dtype=np.int64), np.array(extra_subject, dtype=np.int64)
