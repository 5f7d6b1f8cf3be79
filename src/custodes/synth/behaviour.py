"""The vocabulary of misuse: choosing a misuser, finding when they are at work, writing events.

:class:`Behaviour` knows how a person looks a record up (a burst of consultations, sometimes a name
search first), when they are on shift, which terminal they use, and what a cover story looks
like: a plausible purpose, or the reference of a real operation that does not involve the subject
or that they are not on. The scenarios themselves are in :mod:`scenarios`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodes.synth.activity import GENERIC_PURPOSES, LEGITIMATE_RECIPIENTS
from custodes.synth.base import I64, B, Window
from custodes.synth.events import ACTION, Q_DOB, Q_FORENAMES, Q_SURNAME, SYSTEM
from custodes.synth.linkage import Linkage
from custodes.synth.operations import Operations
from custodes.synth.organisation import KIND, ROLE, Units, Workforce
from custodes.synth.population import Geography, Subjects
from custodes.synth.roster import Roster

LIARS = 0.35  # share of instances where the misuser gives a false purpose or operation
HOUR = 3600
_MAIL = ("gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "icloud.com")

Row = tuple[int, ...]  # t, person, action, system, subject, query_subject, query_fields,
# purpose, operation, recipient, terminal, instance, lied


@dataclass(eq=False)
class Force:
    """What the scenarios need to know about the generated force."""

    window: Window
    units: Units
    workforce: Workforce
    subjects: Subjects
    geography: Geography
    linkage: Linkage
    ops: Operations
    roster: Roster
    usual_terminal: I64
    unit_terminal_base: I64


class Behaviour:
    """Writes the events of misuse instances into ``rows``."""

    def __init__(
        self, force: Force, rng: np.random.Generator, rows: list[Row], recipients: list[str]
    ) -> None:
        self.f, self.rng, self.rows, self.recipients = force, rng, rows, recipients
        wf, days = force.workforce, force.window.days
        kind = force.units.kind[wf.unit]
        # Misusers are people employed throughout the window, by preference officers and staff
        # outside professional standards (whose own work is looking at colleagues).
        self.present = (wf.joined <= 0) & (wf.left >= days - 1)
        regular = np.isin(wf.role, [ROLE["officer"], ROLE["staff"]]) & (kind != KIND["psd"])
        self.steady = self.present & regular
        self.used = np.zeros(len(wf), dtype=bool)
        self.ghosts_used = 0
        self.subject_cdf = np.cumsum(force.subjects.popularity)
        self.instance = -1

    # -- choosing people ---------------------------------------------------------------------

    def actor(self, fits: B | None = None, *, employed: bool = True) -> int | None:
        """Someone who ``fits`` to misuse access, each person once where the force allows.

        Preference goes to regular officers and staff employed throughout, then to anyone employed
        throughout (``employed=False`` drops that condition, for leavers); in a very small force
        someone may have to misuse access in two ways.
        """
        fits = np.ones(len(self.used), dtype=bool) if fits is None else fits
        pools = [self.steady & fits, self.present & fits] if employed else [fits]
        for pool in [p & ~self.used for p in pools] + pools:
            people = np.flatnonzero(pool)
            if len(people):
                person = int(people[int(self.rng.integers(len(people)))])
                self.used[person] = True
                return person
        return None

    def random_subject(self) -> int:
        drawn = np.searchsorted(self.subject_cdf, self.rng.random() * self.subject_cdf[-1])
        return int(min(drawn, len(self.subject_cdf) - 1))

    def work_days(self, person: int, most: int) -> list[int]:
        days = self.f.roster.working_days(person)
        if not len(days):
            return []
        k = min(len(days), most)
        return sorted(self.rng.choice(days, size=k, replace=False).tolist())

    def on_shift(self, person: int, day: int) -> int | None:
        spans = self.f.roster.intervals(person, day)
        total = sum(b - a for a, b in spans)
        if total <= HOUR:
            return None
        u = int(self.rng.integers(0, total - 1800))
        for a, b in spans:
            if u < b - a:
                return a + u
            u -= b - a
        return None

    def terminal(self, person: int) -> int:
        """Where a sitting happens: usually one's own desk; an unknown account uses any unit's."""
        wf = self.f.workforce
        if person >= len(wf) or self.rng.random() < 0.2:
            unit = (
                int(self.rng.integers(len(self.f.units))) if person >= len(wf) else wf.unit[person]
            )
            return int(self.f.unit_terminal_base[unit]) + int(self.rng.integers(0, 2))
        return int(self.f.usual_terminal[person])

    # -- writing events ----------------------------------------------------------------------

    def emit(
        self,
        t: int,
        person: int,
        action: str,
        system: str,
        subject: int,
        *,
        terminal: int,
        query: int = -1,
        fields: int = 0,
        purpose: int = -1,
        op: int = -1,
        recipient: int = -1,
        lied: bool = False,
    ) -> None:
        self.rows.append(
            (
                t,
                person,
                ACTION[action],
                SYSTEM[system],
                subject,
                query,
                fields,
                purpose,
                op,
                recipient,
                terminal,
                self.instance,
                int(lied),
            )
        )

    def cover_story(self, person: int, t: int, subject: int) -> tuple[int, int]:
        """A purpose and an operation that look right and are not: (purpose, operation)."""
        ops = self.f.ops
        purpose = int(self.rng.choice(GENERIC_PURPOSES)) if self.rng.random() < 0.8 else -1
        op = -1
        if person < len(self.f.workforce) and self.rng.random() < 0.5:
            mine = ops.items_of(person, len(self.f.workforce))
            running = mine[(ops.item_start[mine] <= t) & (ops.item_end[mine] > t)]
            live = [
                int(i)
                for i in running.tolist()
                if subject not in ops.subjects_of(int(ops.item_op[i]))
            ]
            if live:
                op = int(ops.item_op[live[int(self.rng.integers(len(live)))]])
        if op < 0 and (purpose < 0 or self.rng.random() < 0.5):
            recent = int(np.searchsorted(ops.opened, t))
            candidate = int(self.rng.integers(max(0, recent - 2000), max(recent, 1)))
            if subject not in ops.subjects_of(candidate):
                op = candidate
        if purpose < 0 and op < 0:
            purpose = int(GENERIC_PURPOSES[0])
        return purpose, op

    def look_up(
        self,
        person: int,
        subject: int,
        t: int,
        *,
        liar: bool,
        search: bool = False,
        systems: tuple[str, ...] = ("PNC", "PND", "RMS"),
        n: int = 1,
    ) -> int:
        """A short burst about one subject; returns the time after it."""
        purpose, op = self.cover_story(person, t, subject) if liar else (-1, -1)
        terminal = self.terminal(person)
        if search:
            fields = Q_SURNAME | Q_FORENAMES | (Q_DOB if self.rng.random() < 0.5 else 0)
            self.emit(
                t,
                person,
                "search",
                "PNC",
                subject,
                terminal=terminal,
                query=subject,
                fields=fields,
                purpose=purpose,
                op=op,
                lied=liar,
            )
            t += int(self.rng.integers(10, 90))
        for _ in range(n):
            system = systems[int(self.rng.integers(len(systems)))]
            self.emit(
                t,
                person,
                "consult",
                system,
                subject,
                terminal=terminal,
                purpose=purpose,
                op=op,
                lied=liar,
            )
            t += int(self.rng.integers(15, 240))
        return t

    def visits(
        self, person: int, subject: int, days: list[int], *, most: int = 3, search: bool = False
    ) -> bool:
        """Look the subject up on each of ``days``, on shift; True if anything was written."""
        liar = bool(self.rng.random() < LIARS)
        wrote = False
        for i, day in enumerate(days):
            t = self.on_shift(person, day)
            if t is None:
                continue
            n = int(self.rng.integers(1, most + 1))
            self.look_up(person, subject, t, liar=liar, search=search and i == 0, n=n)
            wrote = True
        return wrote

    def personal_address(self) -> int:
        """A private e-mail address or messaging number: no legitimate recipient looks like it."""
        first = self.f.subjects.forenames[self.random_subject()].split(" ")[0].lower()
        last = "".join(
            c for c in self.f.subjects.surname[self.random_subject()].lower() if c.isalpha()
        )
        if self.rng.random() < 0.25:
            address = f"WhatsApp 07700 900{int(self.rng.integers(0, 1000)):03d}"
        else:
            domain = _MAIL[int(self.rng.integers(len(_MAIL)))]
            address = f"{first}.{last}{int(self.rng.integers(10, 99))}@{domain}"
        self.recipients.append(address)
        return len(LEGITIMATE_RECIPIENTS) + len(self.recipients) - 1
