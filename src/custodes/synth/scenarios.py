"""Misuse scenarios: who does it, to whom, and how it looks in the logs.

Misuse is rare, and misusers are otherwise ordinary colleagues who go on doing their normal work
(their legitimate events come from :mod:`activity` like everyone else's). Each instance of a
scenario is one person doing one kind of wrong: looking themselves up, a relative, an ex-partner
night after night, a neighbour, a colleague, celebrities; paging through records in bulk; fishing
with name searches; carrying on after leaving; sending a record to a private address; working
outside their pattern; or using an account that HR never heard of. Some misusers cover their
tracks with a plausible purpose, or the reference of a real operation that does not involve the
subject or that they are not on (``lied`` in the truth).

Each scenario is one method of :class:`Scenarios`, written per instance in plain Python: there
are few instances, and the code reads as a description of what the person did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from custodes.synth.activity import GENERIC_PURPOSES, LEGITIMATE_RECIPIENTS
from custodes.synth.base import SECONDS_PER_DAY, B
from custodes.synth.behaviour import HOUR, LIARS, Behaviour
from custodes.synth.events import Q_FORENAMES, Q_INITIAL, Q_SURNAME
from custodes.synth.organisation import RECENT_LEAVER_DAYS
from custodes.synth.population import POLICE_EMPLOYEE, PROTECTED, VIP
from custodes.synth.roster import Pattern

SCENARIOS = (
    "self",
    "family",
    "ex_partner",
    "neighbour",
    "colleague",
    "vip_browsing",
    "bulk_browsing",
    "name_fishing",
    "leaver_access",
    "unknown_recipient_disclosure",
    "off_pattern",
    "unknown_account",
)
# Instances per 1,000 people per 30 days: about 1% of the workforce misuse access in a month.
_RATE = (1.5, 1.5, 1.0, 1.0, 1.0, 0.8, 0.3, 0.6, 0.4, 0.5, 0.8, 0.2)
_FAMILY = ("family", "household", "partner", "next_of_kin")


def scenario_counts(workforce: int, days: int, scale: float = 1.0) -> dict[str, int]:
    """Instances per scenario: proportional to people x days (x ``scale``), at least one of
    each."""
    return {
        name: max(1, round(scale * rate * workforce / 1000 * days / 30))
        for name, rate in zip(SCENARIOS, _RATE, strict=True)
    }


@dataclass(frozen=True)
class Instance:
    """One person's misuse of one kind (a row of ``truth/scenarios.csv``)."""

    id: str
    scenario: str
    person: int  # index into workforce ids, then ghost ids
    subject: int  # the main subject, -1 where there is none (bulk, fishing, unknown account)
    note: str


class Scenarios(Behaviour):
    """Plans misuse instances, one scenario per method (``_<scenario>``)."""

    def run(self, scenario: str, instance_id: str, index: int) -> Instance | None:
        """Plan one instance; None when the force has nobody who fits (it always has, by design)."""
        self.instance = index
        method: Callable[[str], Instance | None] = getattr(self, "_" + scenario)
        for _ in range(25):
            mark = len(self.rows)
            found = method(instance_id)
            if found is not None and len(self.rows) > mark:
                return found
            del self.rows[mark:]
        return None

    def related(self, relations: tuple[str, ...]) -> B:
        """Who has a relative of one of these kinds with a police record."""
        has = np.zeros(len(self.f.workforce), dtype=bool)
        for link in self.f.linkage.links:
            if link.relation in relations:
                has[link.person] = True
        return has

    # -- the scenarios -----------------------------------------------------------------------

    def _self(self, instance_id: str) -> Instance | None:
        selves = self.f.linkage.self_subject
        person = self.actor(selves >= 0)
        if person is None:
            return None
        subject = int(selves[person])
        if not self.visits(person, subject, self.work_days(person, int(self.rng.integers(1, 4)))):
            return None
        flagged = self.f.subjects.flags[subject] & POLICE_EMPLOYEE
        note = "looked up their own record" + (
            "" if flagged else " (record not flagged as an employee)"
        )
        return Instance(instance_id, "self", person, subject, note)

    def _family(self, instance_id: str) -> Instance | None:
        link = self.f.linkage
        person = self.actor(self.related(_FAMILY))
        if person is None:
            return None
        relatives = [k for k in link.relatives(person) if k.relation in _FAMILY]
        relative = relatives[int(self.rng.integers(len(relatives)))]
        days = self.work_days(person, int(self.rng.integers(1, 5)))
        if not self.visits(person, relative.subject, days, search=self.rng.random() < 0.5):
            return None
        note = f"looked up a relative ({relative.relation}, declared to HR)"
        return Instance(instance_id, "family", person, relative.subject, note)

    def _ex_partner(self, instance_id: str) -> Instance | None:
        link = self.f.linkage
        person = self.actor(self.related(("ex_partner",)))
        if person is None:
            return None
        ex = next(k for k in link.relatives(person) if k.relation == "ex_partner")
        n_days = min(self.f.window.days, int(self.rng.integers(3, 9)))
        days = sorted(self.rng.choice(self.f.window.days, size=n_days, replace=False).tolist())
        liar = bool(self.rng.random() < LIARS)
        for i, day in enumerate(days):
            at_night = self.rng.random() < 0.6
            t = self.on_shift(person, day)
            if at_night or t is None:
                hour = (
                    int(self.rng.choice([0, 1, 2, 3, 22, 23]))
                    if at_night
                    else int(self.rng.integers(18, 22))
                )
                t = day * SECONDS_PER_DAY + hour * HOUR + int(self.rng.integers(0, 3000))
            self.look_up(
                person, ex.subject, t, liar=liar, search=i == 0, n=int(self.rng.integers(1, 4))
            )
        declared = "declared to HR" if ex.declared else "not declared to HR"
        return Instance(instance_id, "ex_partner", person, ex.subject, f"ex-partner {declared}")

    def _neighbour(self, instance_id: str) -> Instance | None:
        subjects, wf = self.f.subjects, self.f.workforce
        person = self.actor()
        if person is None:
            return None
        home = int(wf.home_postcode[person])
        linked = self.f.linkage.linked_subjects(person)
        residents = (subjects.postcode == home) & ((subjects.flags & PROTECTED) == 0)
        near = [s for s in np.flatnonzero(residents).tolist() if s not in linked]
        if not near:
            return None
        subject = near[int(self.rng.integers(len(near)))]
        if not self.visits(
            person, subject, self.work_days(person, int(self.rng.integers(1, 3))), search=True
        ):
            return None
        note = f"neighbour in the same postcode unit ({self.f.geography.postcode[home]})"
        return Instance(instance_id, "neighbour", person, subject, note)

    def _colleague(self, instance_id: str) -> Instance | None:
        wf, selves = self.f.workforce, self.f.linkage.self_subject
        person = self.actor()
        if person is None:
            return None
        others = np.flatnonzero((selves >= 0) & (np.arange(len(wf)) != person))
        same_unit = others[wf.unit[others] == wf.unit[person]]
        pool = same_unit if len(same_unit) and self.rng.random() < 0.7 else others
        if not len(pool):
            return None
        colleague = int(pool[int(self.rng.integers(len(pool)))])
        subject = int(selves[colleague])
        if not self.visits(person, subject, self.work_days(person, int(self.rng.integers(1, 3)))):
            return None
        where = " in the same unit" if wf.unit[colleague] == wf.unit[person] else ""
        return Instance(
            instance_id,
            "colleague",
            person,
            subject,
            f"record of colleague {wf.ids[colleague]}{where}",
        )

    def _vip_browsing(self, instance_id: str) -> Instance | None:
        person = self.actor()
        vips = np.flatnonzero(self.f.subjects.flags & VIP)
        if person is None or not len(vips):
            return None
        chosen = self.rng.choice(
            vips, size=min(len(vips), int(self.rng.integers(1, 5))), replace=False
        )
        days = self.work_days(person, 2)
        if not days:
            return None
        for subject in chosen.tolist():
            self.visits(person, subject, [days[int(self.rng.integers(len(days)))]], most=3)
        return Instance(
            instance_id,
            "vip_browsing",
            person,
            int(chosen[0]),
            f"browsed {len(chosen)} public figures",
        )

    def _bulk_browsing(self, instance_id: str) -> Instance | None:
        person = self.actor()
        days = self.work_days(person, 1) if person is not None else []
        if person is None or not days:
            return None
        t = self.on_shift(person, days[0])
        if t is None:
            return None
        n = int(self.rng.integers(50, 300))
        first = int(self.rng.integers(0, max(1, len(self.f.subjects) - n)))
        system = "PNC" if self.rng.random() < 0.6 else "PND"
        start = t = min(t, (days[0] + 1) * SECONDS_PER_DAY - 20 * n - 60)
        terminal = self.terminal(person)
        for subject in range(first, min(first + n, len(self.f.subjects))):
            self.emit(t, person, "consult", system, subject, terminal=terminal)
            t += int(self.rng.integers(3, 20))
        minutes = max(1, (t - start) // 60)
        return Instance(
            instance_id, "bulk_browsing", person, -1, f"{n} sequential records in {minutes} minutes"
        )

    def _name_fishing(self, instance_id: str) -> Instance | None:
        person = self.actor()
        days = self.work_days(person, 2) if person is not None else []
        if person is None or not days:
            return None
        total = 0
        for _ in range(int(self.rng.integers(1, 4))):
            t = self.on_shift(person, days[int(self.rng.integers(len(days)))])
            if t is None:
                continue
            terminal = self.terminal(person)
            for _ in range(int(self.rng.integers(8, 30))):
                query = self.random_subject()
                u = self.rng.random()
                fields = Q_SURNAME | (Q_INITIAL if u < 0.3 else Q_FORENAMES if u < 0.5 else 0)
                found = query if self.rng.random() < 0.3 else -1
                system = "PNC" if self.rng.random() < 0.5 else "PND"
                self.emit(
                    t,
                    person,
                    "search",
                    system,
                    found,
                    terminal=terminal,
                    query=query,
                    fields=fields,
                )
                t += int(self.rng.integers(10, 90))
                total += 1
        if not total:
            return None
        return Instance(
            instance_id, "name_fishing", person, -1, f"{total} name searches with no operation"
        )

    def _leaver_access(self, instance_id: str) -> Instance | None:
        wf, days = self.f.workforce, self.f.window.days
        recent = (wf.left >= -RECENT_LEAVER_DAYS) & (wf.left < days - 1)
        person = self.actor(recent & (wf.joined < wf.left), employed=False)
        if person is None:
            return None
        left = int(wf.left[person])
        after = np.arange(max(0, left + 1), min(days, left + 15))
        chosen = sorted(
            self.rng.choice(
                after, size=min(len(after), int(self.rng.integers(1, 4))), replace=False
            ).tolist()
        )
        liar = bool(self.rng.random() < 0.2)
        relatives = self.f.linkage.relatives(person)
        for day in chosen:
            t = day * SECONDS_PER_DAY + int(self.rng.integers(7 * HOUR, 22 * HOUR))
            for _ in range(int(self.rng.integers(1, 4))):
                use_relative = relatives and self.rng.random() < 0.3
                subject = relatives[0].subject if use_relative else self.random_subject()
                t = self.look_up(person, subject, t, liar=liar, n=int(self.rng.integers(1, 3)))
        date = self.f.window.date(left).isoformat()
        return Instance(
            instance_id, "leaver_access", person, -1, f"left on {date}; account still active"
        )

    def _unknown_recipient_disclosure(self, instance_id: str) -> Instance | None:
        ops, wf = self.f.ops, self.f.workforce
        person = self.actor()
        if person is None:
            return None
        mine = [int(i) for i in ops.items_of(person, len(wf)).tolist() if ops.item_written[i]]
        self.rng.shuffle(mine)
        for item in mine:
            op = int(ops.item_op[item])
            first = max(0, int(ops.item_start[item]) // SECONDS_PER_DAY)
            last = min(self.f.window.days - 1, int(ops.item_end[item]) // SECONDS_PER_DAY)
            for day in range(first, last + 1):
                t = self.on_shift(person, day)
                if t is None or not (ops.item_start[item] <= t < ops.item_end[item]):
                    continue
                subjects = ops.subjects_of(op)
                subject = int(subjects[int(self.rng.integers(len(subjects)))])
                recipient = self.personal_address()
                liar = bool(self.rng.random() < 0.3)
                purpose = int(GENERIC_PURPOSES[2]) if liar else -1
                named = op if self.rng.random() < 0.6 else -1
                terminal = self.terminal(person)
                self.emit(t, person, "consult", "RMS", subject, terminal=terminal, op=named)
                action = "disclose" if self.rng.random() < 0.6 else "export"
                self.emit(
                    t + int(self.rng.integers(30, 600)),
                    person,
                    action,
                    "RMS",
                    subject,
                    terminal=terminal,
                    purpose=purpose,
                    op=named,
                    recipient=recipient,
                    lied=liar,
                )
                address = self.recipients[recipient - len(LEGITIMATE_RECIPIENTS)]
                return Instance(
                    instance_id,
                    "unknown_recipient_disclosure",
                    person,
                    subject,
                    f"{action} to {address}",
                )
        return None

    def _off_pattern(self, instance_id: str) -> Instance | None:
        wf = self.f.workforce
        person = self.actor(wf.pattern == Pattern.OFFICE)
        if person is None:
            return None
        day = int(self.rng.integers(self.f.window.days))
        hour = int(self.rng.choice([0, 1, 2, 3, 4, 21, 22, 23]))
        t = day * SECONDS_PER_DAY + hour * HOUR + int(self.rng.integers(0, 2400))
        if any(a <= t < b + 1800 for a, b in self.f.roster.intervals(person, day)):
            return None
        liar = bool(self.rng.random() < 0.25)
        clock = f"{hour:02d}:{(t // 60) % 60:02d}"
        for _ in range(int(self.rng.integers(2, 6))):
            t = self.look_up(
                person, self.random_subject(), t, liar=liar, n=int(self.rng.integers(1, 3))
            )
        return Instance(
            instance_id,
            "off_pattern",
            person,
            -1,
            f"records opened around {clock}, outside the person's hours",
        )

    def _unknown_account(self, instance_id: str) -> Instance | None:
        wf = self.f.workforce
        if self.ghosts_used >= len(wf.ghost_ids):
            return None
        person = len(wf) + self.ghosts_used
        self.ghosts_used += 1
        day = int(self.rng.integers(self.f.window.days))
        t = day * SECONDS_PER_DAY + int(self.rng.integers(8 * HOUR, 20 * HOUR))
        for _ in range(int(self.rng.integers(2, 6))):
            t = self.look_up(
                person, self.random_subject(), t, liar=False, n=int(self.rng.integers(1, 4))
            )
        ghost = wf.ghost_ids[person - len(wf)]
        note = f"account {ghost} is not in the HR extract (a purged leaver or a shared login)"
        return Instance(instance_id, "unknown_account", person, -1, note)
