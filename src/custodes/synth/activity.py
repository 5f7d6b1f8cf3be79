"""A day of legitimate work, turned into access events in one vectorised pass.

Each work item active on the day yields sessions at its rate per hour, but only while its person
is on shift, so a busy officer on a rest day leaves no trace. A session is a short burst about one
subject of the operation: often a name search first, then consultations and updates on the
systems that fit the work (command and control for incidents, the records system for crimes and
custody, the intelligence system for intelligence work, PNC and PND throughout). A session names
the operation and gives a purpose more often than not, as real users do when the system asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodes.bundle.contract import OPERATION_KINDS
from custodes.synth.base import F64, I64, SECONDS_PER_DAY, B, Stage, segment_positions, stream
from custodes.synth.events import (
    ACTION,
    Q_DOB,
    Q_FORENAMES,
    Q_SURNAME,
    SYSTEM,
    EventBatch,
    Label,
    full,
)
from custodes.synth.operations import Operations
from custodes.synth.organisation import Workforce
from custodes.synth.roster import Roster

# What a user does on which system, by kind of operation: (action, system, weight).
_ACCESS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "incident": (
        ("consult", "CAD", 25),
        ("alter", "CAD", 12),
        ("collect", "CAD", 8),
        ("print", "CAD", 2),
        ("consult", "PNC", 20),
        ("consult", "PND", 12),
        ("combine", "PND", 3),
        ("consult", "RMS", 12),
        ("alter", "RMS", 6),
    ),
    "crime": (
        ("consult", "RMS", 35),
        ("alter", "RMS", 20),
        ("collect", "RMS", 8),
        ("print", "RMS", 4),
        ("disclose", "RMS", 4),
        ("export", "RMS", 2),
        ("consult", "PNC", 10),
        ("consult", "PND", 10),
        ("combine", "PND", 3),
        ("consult", "INTEL", 4),
    ),
    "intelligence": (
        ("consult", "INTEL", 35),
        ("alter", "INTEL", 10),
        ("collect", "INTEL", 8),
        ("combine", "INTEL", 8),
        ("export", "INTEL", 2),
        ("disclose", "INTEL", 1),
        ("consult", "PND", 20),
        ("combine", "PND", 4),
        ("consult", "PNC", 12),
    ),
    "custody": (
        ("consult", "RMS", 25),
        ("alter", "RMS", 25),
        ("collect", "RMS", 15),
        ("print", "RMS", 4),
        ("consult", "PNC", 20),
        ("alter", "PNC", 5),
        ("consult", "PND", 6),
    ),
    "warrant": (
        ("consult", "PNC", 30),
        ("consult", "PND", 25),
        ("consult", "RMS", 20),
        ("consult", "INTEL", 15),
        ("print", "RMS", 10),
    ),
    "task": (
        ("consult", "RMS", 40),
        ("alter", "RMS", 25),
        ("consult", "PNC", 20),
        ("consult", "PND", 15),
    ),
    "court": (
        ("consult", "RMS", 35),
        ("alter", "RMS", 20),
        ("disclose", "RMS", 15),
        ("export", "RMS", 10),
        ("print", "RMS", 10),
        ("consult", "PNC", 10),
        ("erase", "PND", 1),
    ),
    "other": (
        ("consult", "PNC", 30),
        ("consult", "PND", 30),
        ("consult", "RMS", 30),
        ("consult", "INTEL", 10),
    ),
}
_EXTRA_EVENTS = np.array([2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 2.0, 2.0])  # per session, by op kind
_SEARCH_FIRST = np.array([0.45, 0.25, 0.3, 0.35, 0.4, 0.3, 0.2, 0.3])
_SEARCH_HIDES_SUBJECT = 0.15  # the search found nobody, or several people
_NAMES_OPERATION = {Label.ASSIGNED: 0.65, Label.UNIT: 0.6}
_NOISE_NAMES_OPERATION = 0.15
_GIVES_PURPOSE = 0.55
_USUAL_TERMINAL = 0.8
_GAP_SECONDS = 40.0
_NOMINAL = 0.2  # events on the force's systems that open the person's record, not the case

PURPOSES: tuple[str, ...] = (
    "Incident attendance",
    "Call handling",
    "Persons check at incident",
    "Risk assessment",
    "Crime investigation",
    "Suspect enquiries",
    "Victim update",
    "Witness enquiries",
    "Case file preparation",
    "Intelligence development",
    "Intelligence research",
    "Subject profile",
    "Network analysis",
    "Custody record",
    "Detainee risk assessment",
    "Custody review",
    "Charging decision",
    "Warrant execution",
    "Pre-warrant briefing",
    "Address check",
    "Enquiry task",
    "Bail check",
    "Safeguarding visit",
    "Missing person enquiries",
    "Court file preparation",
    "Witness warning",
    "Court results update",
    "Professional standards enquiry",
    "Vetting review",
    "Complaint investigation",
    "Routine check",
    "Intelligence check",
    "Enquiries",
    "Safeguarding check",
    "Welfare check",
    "Update records",
)
PURPOSE = {text: i for i, text in enumerate(PURPOSES)}
_PURPOSES_BY_KIND: dict[str, tuple[int, ...]] = {
    "incident": (0, 1, 2, 3, 33),
    "crime": (4, 5, 6, 7, 8),
    "intelligence": (9, 10, 11, 12),
    "custody": (13, 14, 15, 16),
    "warrant": (17, 18, 19),
    "task": (20, 21, 22, 23),
    "court": (24, 25, 26),
    "other": (27, 28, 29),
}
GENERIC_PURPOSES = (30, 31, 32, 33, 34, 35)  # what a misuser types when asked why
LEGITIMATE_RECIPIENTS: tuple[str, ...] = (
    "CPS",
    "HMCTS",
    "Probation Service",
    "Local Authority Children's Services",
    "MASH",
    "NHS Safeguarding Team",
    "ACRO Criminal Records Office",
    "Neighbouring force",
    "Home Office Immigration Enforcement",
    "DVLA",
)
_RECIPIENTS_BY_KIND: dict[str, tuple[int, ...]] = {
    "crime": (0, 1, 2, 4, 7),
    "intelligence": (7, 6, 8),
    "court": (0, 1, 2),
}


def _tables() -> tuple[I64, I64, F64, I64, I64, I64]:
    """The access choices of every kind as flat arrays plus a cumulative weight table per kind."""
    width = max(len(v) for v in _ACCESS.values())
    action = np.zeros((len(OPERATION_KINDS), width), dtype=np.int64)
    system = np.zeros_like(action)
    cdf = np.ones((len(OPERATION_KINDS), width), dtype=np.float64) * 2
    purposes = np.full((len(OPERATION_KINDS), 8), -1, dtype=np.int64)
    recipients = np.zeros((len(OPERATION_KINDS), 8), dtype=np.int64)
    n_recipients = np.ones(len(OPERATION_KINDS), dtype=np.int64)
    for k, kind in enumerate(OPERATION_KINDS):
        choices = _ACCESS[kind]
        weights = np.array([w for _, _, w in choices], dtype=np.float64)
        action[k, : len(choices)] = [ACTION[a] for a, _, _ in choices]
        system[k, : len(choices)] = [SYSTEM[s] for _, s, _ in choices]
        cdf[k, : len(choices)] = np.cumsum(weights) / weights.sum()
        cdf[k, len(choices) - 1] = 1.0  # never past the last choice, whatever the rounding
        own = _PURPOSES_BY_KIND[kind]
        purposes[k] = np.resize(np.array(own), 8)
        targets = _RECIPIENTS_BY_KIND.get(kind, (0, 7))
        recipients[k] = np.resize(np.array(targets), 8)
        n_recipients[k] = len(targets)
    return action, system, cdf, purposes, recipients, n_recipients


_ACTION_TABLE, _SYSTEM_TABLE, _CDF, _PURPOSE_TABLE, _RECIPIENT_TABLE, _N_RECIPIENTS = _tables()
_PURPOSE_COUNT = np.array([len(_PURPOSES_BY_KIND[k]) for k in OPERATION_KINDS], dtype=np.int64)


def record_index(system: I64, subject: I64, op: I64, n_subjects: int, nominal: B) -> I64:
    """Index into the record reference table.

    The table holds each subject's PNC record, PND record and local nominal record, then each
    operation's case record. PNC and PND events open the person's record there; events on the
    force's own systems open the case, or (``nominal``, or with no case) the person's nominal.
    """
    local = np.where(nominal | (op < 0), 2 * n_subjects + subject, 3 * n_subjects + op)
    return np.where(
        system == SYSTEM["PNC"],
        subject,
        np.where(system == SYSTEM["PND"], n_subjects + subject, local),
    )


@dataclass(frozen=True, eq=False)
class _Sessions:
    """One row per session: a short burst of work about one subject of one operation."""

    start: I64  # seconds within the day
    end: I64  # the end of the work item, in seconds within the day (may be past midnight)
    person: I64
    op: I64
    kind: I64
    subject: I64
    label: I64
    names_op: B
    purpose: I64
    search: B
    terminal: I64


@dataclass(eq=False)
class Activity:
    """Makes the legitimate events of any day from the work items."""

    seed: int
    ops: Operations
    workforce: Workforce
    roster: Roster
    n_subjects: int
    usual_terminal: I64
    unit_terminal_base: I64
    unit_terminal_count: I64
    # person * (n_subjects + 1) + subject for each employee's own and relatives' records: nobody
    # works a case about themselves or their family, so such work leaves no events.
    conflicts: I64

    def __post_init__(self) -> None:
        self._by_start = np.argsort(self.ops.item_start, kind="stable")
        self._sorted_start = self.ops.item_start[self._by_start]
        self._linked = np.zeros(self.n_subjects, dtype=bool)
        self._linked[self.conflicts % (self.n_subjects + 1)] = True

    def active_items(self, day: int) -> I64:
        d0, d1 = day * SECONDS_PER_DAY, (day + 1) * SECONDS_PER_DAY
        started = self._by_start[: np.searchsorted(self._sorted_start, d1, side="left")]
        return np.sort(started[self.ops.item_end[started] > d0])

    def day(self, day: int) -> EventBatch:
        rng = stream(self.seed, Stage.ACTIVITY, day)
        sessions = self.sessions(day, rng)
        return self.events(sessions, rng, day * SECONDS_PER_DAY)

    def sessions(self, day: int, rng: np.random.Generator) -> _Sessions:
        """Sessions of the day's active items, while their person is on shift."""
        ops, roster = self.ops, self.roster.day(day)
        d0 = day * SECONDS_PER_DAY
        item = self.active_items(day)
        person = ops.item_person[item]
        a = np.clip(ops.item_start[item] - d0, 0, SECONDS_PER_DAY)
        b = np.clip(ops.item_end[item] - d0, 0, SECONDS_PER_DAY)
        # Overlap of the item with the tail of last night's shift (1) and today's shift (2).
        lo1 = np.maximum(a, roster.carry_start[person])
        o1 = np.clip(np.minimum(b, roster.carry_end[person]) - lo1, 0, None)
        lo2 = np.maximum(a, roster.start[person])
        o2 = np.clip(np.minimum(b, roster.end[person]) - lo2, 0, None)
        expected = ops.item_rate[item] * self.workforce.activity[person] * (o1 + o2) / 3600
        count = rng.poisson(expected)

        rep = np.repeat(np.arange(len(item)), count)
        s_item = item[rep]
        n = len(s_item)
        u = rng.random(n) * (o1 + o2)[rep]
        start = np.where(u < o1[rep], lo1[rep] + u, lo2[rep] + (u - o1[rep])).astype(np.int64)
        op = ops.item_op[s_item]
        kind = ops.kind[op]
        involved = ops.subject_ptr[op + 1] - ops.subject_ptr[op]
        subject = ops.subject[ops.subject_ptr[op] + (rng.random(n) * involved).astype(np.int64)]
        label = ops.item_label[s_item]
        names_op = np.where(
            label == Label.ASSIGNED,
            _NAMES_OPERATION[Label.ASSIGNED],
            np.where(label == Label.UNIT, _NAMES_OPERATION[Label.UNIT], _NOISE_NAMES_OPERATION),
        )
        pick = (rng.random(n) * _PURPOSE_COUNT[kind]).astype(np.int64)
        s_person = ops.item_person[s_item]
        unit = self.workforce.unit[s_person]
        # A session happens at one terminal: usually one's own desk, sometimes another in the unit.
        spare = self.unit_terminal_base[unit] + (
            rng.random(n) * self.unit_terminal_count[unit]
        ).astype(np.int64)
        return _Sessions(
            start=start,
            end=ops.item_end[s_item] - d0,
            person=s_person,
            op=op,
            kind=kind,
            subject=subject,
            label=label,
            names_op=rng.random(n) < names_op,
            purpose=np.where(rng.random(n) < _GIVES_PURPOSE, _PURPOSE_TABLE[kind, pick], -1),
            search=rng.random(n) < _SEARCH_FIRST[kind],
            terminal=np.where(
                rng.random(n) < _USUAL_TERMINAL, self.usual_terminal[s_person], spare
            ),
        )

    def events(self, s: _Sessions, rng: np.random.Generator, d0: int) -> EventBatch:
        """Each session as a burst of events a few tens of seconds apart."""
        n_events = 1 + rng.poisson(_EXTRA_EVENTS[s.kind])
        e = np.repeat(np.arange(len(s.op)), n_events)
        n = len(e)
        position = segment_positions(n_events)
        gap = rng.exponential(_GAP_SECONDS, n)
        gap[position == 0] = 0
        elapsed = np.cumsum(gap)
        elapsed -= np.repeat(elapsed[np.cumsum(n_events) - n_events], n_events)
        t = s.start[e] + elapsed.astype(np.int64)
        kind, subject, op = s.kind[e], s.subject[e], s.op[e]
        choice = np.empty(n, dtype=np.int64)
        draw = rng.random(n)
        for k in range(len(OPERATION_KINDS)):
            rows = np.flatnonzero(kind == k)
            choice[rows] = np.searchsorted(_CDF[k], draw[rows], side="right")
        action = _ACTION_TABLE[kind, choice]
        system = _SYSTEM_TABLE[kind, choice]

        search = s.search[e] & (position == 0)
        action[search] = ACTION["search"]
        system[search] = np.where(rng.random(int(search.sum())) < 0.6, SYSTEM["PNC"], SYSTEM["PND"])
        fields = Q_SURNAME | np.where(rng.random(n) < 0.85, Q_FORENAMES, 0)
        fields |= np.where(rng.random(n) < 0.7, Q_DOB, 0)
        found = rng.random(n) >= _SEARCH_HIDES_SUBJECT
        local = (system == SYSTEM["RMS"]) | (system == SYSTEM["INTEL"])
        nominal = local & (rng.random(n) < _NOMINAL)
        record = record_index(system, subject, op, self.n_subjects, nominal)
        disclosure = (action == ACTION["disclose"]) | (action == ACTION["export"])
        which = (rng.random(n) * _N_RECIPIENTS[kind]).astype(np.int64)
        batch = EventBatch(
            t=d0 + t,
            person=s.person[e],
            action=action,
            system=system,
            subject=np.where(search & ~found, -1, subject),
            record=np.where(search, -1, record),
            query_subject=np.where(search, subject, -1),
            query_fields=np.where(search, fields, 0),
            purpose=s.purpose[e],
            operation=np.where(s.names_op[e], op, -1),
            recipient=np.where(disclosure, _RECIPIENT_TABLE[kind, which], -1),
            terminal=s.terminal[e],
            label=s.label[e],
            instance=full(n, -1),
            lied=full(n, 0),
        )
        # A burst is cut short at the end of its work item, and at midnight, where the day's file
        # ends (tomorrow's events are made tomorrow).
        keep = (t < SECONDS_PER_DAY) & (t < s.end[e])
        linked = np.flatnonzero(self._linked[subject])
        key = batch.person[linked] * (self.n_subjects + 1) + subject[linked]
        keep[linked[np.isin(key, self.conflicts)]] = False
        return batch.take(np.flatnonzero(keep))
