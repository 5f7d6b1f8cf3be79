"""How work arrives and who picks it up: the generating policy behind :mod:`operations`.

Rates are per member of the workforce per day, so a force of any size gets proportionate demand.
Everything is drawn in batches per day and kind; the only Python loops are over the few
incidents placed deliberately near an officer's home (the ``same_postcode`` hard negatives).
"""

from __future__ import annotations

import numpy as np

from custodes.synth.base import I64, SECONDS_PER_DAY
from custodes.synth.events import Label
from custodes.synth.involvement import ROLE
from custodes.synth.roster import on_duty_pools, pick_on_duty
from custodes.synth.workplan import WorkPlan

HOUR = 3600

INCIDENTS_PER_HEAD = 0.25
CRIME_FROM_INCIDENT = 0.3
CUSTODY_FROM_INCIDENT = 0.07
PER_HEAD = {"crime": 0.03, "intelligence": 0.002, "warrant": 0.004, "task": 0.03, "court": 0.01}
PSD_CASES_PER_HEAD = 0.0005
SAME_POSTCODE_SHARE = 0.015  # incidents near an attending officer's home
STALE_SHARE = 0.06
COVERING_SHARE = 0.06
UNRECORDED_SHARE = 0.04
BRIEFING_SHARE = 0.08  # of response officers starting a shift

# Sessions per hour on shift, by kind of work item.
RATE = {
    "call": 8.0,
    "attend": 1.6,
    "investigate": 0.12,
    "custody": 2.0,
    "custody_unit": 0.4,
    "arrest": 1.5,
    "analyse": 0.15,
    "analyse_unit": 0.06,
    "warrant": 1.5,
    "task": 0.35,
    "court": 0.15,
    "psd": 0.2,
    "briefing": 4.0,
    "noise": 0.8,
}
# Calls by hour of day: quiet before dawn, busiest in the evening.
_CALLS_BY_HOUR = np.array(
    [5, 4, 3, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 7, 8, 8, 8, 8, 8, 7, 7, 6], dtype=np.float64
)


class CasePlanner(WorkPlan):
    """Draws the work of each day: how much arrives, of which kind, and who takes it."""

    # -- a day of work -------------------------------------------------------------------------

    def day(self, day: int) -> None:
        rng = self.rng(day)
        today = self.c.roster.day(day)
        hours = today.hours_on_duty()
        pools = {k: on_duty_pools(hours, m) for k, m in self.kind_members.items()}
        self.incidents(rng, day, pools)
        self.long_running(day, rng)
        self.warrants(rng, day, pools)
        self.briefings(rng, day, pools)

    def incidents(
        self, rng: np.random.Generator, day: int, pools: dict[str, tuple[I64, I64]]
    ) -> None:
        n = int(rng.poisson(INCIDENTS_PER_HEAD * self.size))
        hour = np.searchsorted(
            np.cumsum(_CALLS_BY_HOUR) / _CALLS_BY_HOUR.sum(), rng.random(n), side="right"
        )
        hour = np.minimum(hour, 23).astype(np.int64)
        t = day * SECONDS_PER_DAY + hour * HOUR + rng.integers(0, HOUR, n)
        closed = t + rng.integers(HOUR, 3 * SECONDS_PER_DAY, n)
        ops = self.new_ops("incident", self.units_of(rng, "control_room", n), t, closed)
        call_handler = pick_on_duty(
            rng, pools["control_room"], hour, self.kind_members["control_room"]
        )
        self.item(
            call_handler,
            ops,
            t,
            t + 20 * 60,
            RATE["call"],
            Label.UNIT,
            "call handler",
            written=False,
        )

        responders = rng.choice([1, 2, 3], size=n, p=[0.4, 0.45, 0.15])
        inc = np.repeat(np.arange(n), responders)
        first = np.r_[True, inc[1:] != inc[:-1]]
        # Response attends most calls; neighbourhood officers and roads policing some.
        u = rng.random(len(inc))
        person = pick_on_duty(rng, pools["response"], hour[inc], self.kind_members["response"])
        for team, chosen in (("neighbourhood", first & (u < 0.15)), ("other", first & (u >= 0.93))):
            pool, members = pools[team], self.kind_members[team]
            person[chosen] = pick_on_duty(rng, pool, hour[inc[chosen]], members)
        # One officer is sent once; in a small force the same few are sent to everything.
        _, once = np.unique(inc * (self.size + 1) + person + 1, return_index=True)
        once = np.sort(once)
        inc, first, person = inc[once], first[once], person[once]
        start = t[inc] + rng.integers(120, 1200, len(inc))
        end = start + rng.integers(HOUR, 6 * HOUR, len(inc))
        unrecorded = rng.random(len(inc)) < UNRECORDED_SHARE
        for written, label in ((True, Label.ASSIGNED), (False, Label.UNRECORDED_ASSIGNMENT)):
            rows = unrecorded != written
            self.item(
                person[rows],
                ops[inc[rows]],
                start[rows],
                end[rows],
                RATE["attend"],
                label,
                "attending officer",
                written=written,
            )
        self.stale(rng, person, ops[inc], end, RATE["attend"])
        link_op, link_subject, link_role = self.pick_subjects(rng, "incident", ops)
        first_responder = np.full(n, -1, dtype=np.int64)
        first_responder[inc[first]] = person[first]
        extra_op, extra_subject = self.involve.near_home(
            rng, ops, first_responder, SAME_POSTCODE_SHARE
        )
        self.links.add(op=extra_op, subject=extra_subject, role=ROLE["witness"])

        crime = rng.random(n) < CRIME_FROM_INCIDENT
        self.crimes(
            rng,
            day,
            t[crime] + rng.integers(HOUR, 6 * HOUR, int(crime.sum())),
            ops[crime],
            first_responder[crime],
            (link_op, link_subject, link_role),
        )
        custody = rng.random(n) < CUSTODY_FROM_INCIDENT
        self.custody(
            rng,
            t[custody],
            ops[custody],
            first_responder[custody],
            (link_op, link_subject, link_role),
            pools,
        )

    def crimes(
        self,
        rng: np.random.Generator,
        day: int,
        opened: I64,
        incidents: I64,
        attending: I64,
        links: tuple[I64, I64, I64],
    ) -> None:
        n = len(opened)
        opened = np.minimum(opened, self.c.window.end_seconds - 1)
        kind = rng.choice(
            ["response", "cid", "public_protection", "neighbourhood"],
            size=n,
            p=[0.45, 0.3, 0.2, 0.05],
        )
        unit = np.zeros(n, dtype=np.int64)
        for k in np.unique(kind):
            unit[kind == k] = self.units_of(rng, str(k), int((kind == k).sum()))
        # Volume crime stays with the officer who attended, and so with their team.
        kept = (kind == "response") & (attending >= 0)
        unit[kept] = self.c.workforce.unit[attending[kept]]
        closed = opened + ((2 + rng.exponential(35, n)) * SECONDS_PER_DAY).astype(np.int64)
        ops = self.new_ops("crime", unit, opened, closed)
        oic = np.where(kept, attending, self.member_of(rng, unit, day))
        self.investigators(rng, oic, ops, opened, closed)
        link_op, link_subject, link_role = links
        lookup = np.full(int(link_op.max(initial=-1)) + 1, -1, dtype=np.int64)
        lookup[incidents] = ops
        mapped = lookup[link_op]
        rows = mapped >= 0
        self.links.add(op=mapped[rows], subject=link_subject[rows], role=link_role[rows])

    def investigators(
        self, rng: np.random.Generator, oic: I64, ops: I64, opened: I64, closed: I64
    ) -> None:
        start = opened + rng.integers(0, 4 * HOUR, len(ops))
        self.item(oic, ops, start, closed, RATE["investigate"], Label.ASSIGNED, "officer in case")
        covering = rng.random(len(ops)) < COVERING_SHARE
        unit = self.c.workforce.unit[oic[covering]]
        colleague = self.member_of(rng, unit, start[covering] // SECONDS_PER_DAY)
        colleague[colleague == oic[covering]] = -1  # nobody to cover for: no item
        later = start[covering] + rng.integers(2, 10, int(covering.sum())) * SECONDS_PER_DAY
        self.item(
            colleague,
            ops[covering],
            later,
            later + SECONDS_PER_DAY,
            RATE["noise"] * 2,
            Label.COVERING,
            "officer in case",
            written=False,
        )

    def custody(
        self,
        rng: np.random.Generator,
        t: I64,
        incidents: I64,
        arresting: I64,
        links: tuple[I64, I64, I64],
        pools: dict[str, tuple[I64, I64]],
    ) -> None:
        n = len(t)
        arrival = np.minimum(
            t + rng.integers(HOUR // 2, 3 * HOUR, n), self.c.window.end_seconds - 1
        )
        released = arrival + rng.integers(4 * HOUR, 30 * HOUR, n)
        ops = self.new_ops("custody", self.units_of(rng, "custody", n), arrival, released)
        hour = (arrival % SECONDS_PER_DAY) // HOUR
        staff = self.kind_members["custody"]
        for role, rate, label, written in (
            ("custody officer", RATE["custody"], Label.ASSIGNED, True),
            ("detention officer", RATE["custody"], Label.ASSIGNED, True),
            ("detention officer", RATE["custody_unit"], Label.UNIT, False),
        ):
            person = pick_on_duty(rng, pools["custody"], hour, staff)
            self.item(person, ops, arrival, released, rate, label, role, written=written)
        self.item(
            arresting,
            ops,
            arrival,
            arrival + 2 * HOUR,
            RATE["arrest"],
            Label.ASSIGNED,
            "arresting officer",
        )
        # The detainee is the suspect of the incident if there is one, else its first subject.
        link_op, link_subject, link_role = links
        suspect = np.full(int(link_op.max(initial=-1)) + 1, -1, dtype=np.int64)
        suspect[link_op[::-1]] = link_subject[::-1]
        is_suspect = link_role == ROLE["suspect"]
        suspect[link_op[is_suspect][::-1]] = link_subject[is_suspect][::-1]
        self.links.add(op=ops, subject=suspect[incidents], role=ROLE["suspect"])

    def long_running(self, day: int, rng: np.random.Generator | None = None) -> None:
        """Crimes reported directly, intelligence work, tasks, court files and PSD cases."""
        rng = rng or self.rng(day)
        backlog = day < 0

        def opened(n: int) -> I64:
            return day * SECONDS_PER_DAY + rng.integers(8 * HOUR, 18 * HOUR, n)

        def still_open(t: I64, unit: I64, closed: I64) -> tuple[I64, I64, I64]:
            """Of work opened before the window, only what was still open at its start matters."""
            keep = closed >= 0
            return t[keep], unit[keep], closed[keep]

        crime_rate = PER_HEAD["crime"] + (
            INCIDENTS_PER_HEAD * CRIME_FROM_INCIDENT if backlog else 0
        )
        n = int(rng.poisson(crime_rate * self.size))
        t = opened(n)
        kind = rng.choice(["cid", "public_protection", "neighbourhood"], size=n, p=[0.4, 0.3, 0.3])
        unit = np.zeros(n, dtype=np.int64)
        for k in np.unique(kind):
            unit[kind == k] = self.units_of(rng, str(k), int((kind == k).sum()))
        closed = t + ((2 + rng.exponential(35, n)) * SECONDS_PER_DAY).astype(np.int64)
        t, unit, closed = still_open(t, unit, closed)
        ops = self.new_ops("crime", unit, t, closed)
        self.investigators(rng, self.member_of(rng, unit, day), ops, t, closed)
        self.pick_subjects(rng, "crime", ops)

        n = int(rng.poisson(PER_HEAD["intelligence"] * self.size))
        t = opened(n)
        unit = self.units_of(rng, "intelligence", n)
        closed = t + ((14 + rng.exponential(120, n)) * SECONDS_PER_DAY).astype(np.int64)
        t, unit, closed = still_open(t, unit, closed)
        n = len(t)
        ops = self.new_ops("intelligence", unit, t, closed)
        analysts = rng.integers(1, 4, n)
        rep = np.repeat(np.arange(n), analysts)
        self.item(
            self.member_of(rng, unit[rep], day),
            ops[rep],
            t[rep],
            closed[rep],
            RATE["analyse"],
            Label.ASSIGNED,
            "intelligence analyst",
        )
        rep = np.repeat(np.arange(n), 2)
        self.item(
            self.member_of(rng, unit[rep], day),
            ops[rep],
            t[rep],
            closed[rep],
            RATE["analyse_unit"],
            Label.UNIT,
            "intelligence analyst",
            written=False,
        )
        self.pick_subjects(rng, "intelligence", ops)
        self.targets += [(day, int(o)) for o in ops]

        for kind_name, unit_kind, days, role in (
            ("task", "neighbourhood", (1, 6), "enquiry officer"),
            ("court", "admin", (2, 12), "case progression officer"),
        ):
            n = int(rng.poisson(PER_HEAD[kind_name] * self.size))
            t = opened(n)
            unit = self.units_of(rng, unit_kind, n)
            end = t + rng.integers(days[0] * SECONDS_PER_DAY, days[1] * SECONDS_PER_DAY, n)
            t, unit, end = still_open(t, unit, end)
            ops = self.new_ops(kind_name, unit, t, end)
            person = self.member_of(rng, unit, day)
            self.item(person, ops, t, end, RATE[kind_name], Label.ASSIGNED, role)
            self.stale(rng, person, ops, end, RATE[kind_name])
            self.pick_subjects(rng, kind_name, ops)

        n = int(rng.poisson(PSD_CASES_PER_HEAD * self.size * (1 if backlog else 1.5)))
        if n and len(self.employee_records):
            t = opened(n)
            unit = self.units_of(rng, "psd", n)
            closed = t + ((30 + rng.exponential(150, n)) * SECONDS_PER_DAY).astype(np.int64)
            t, unit, closed = still_open(t, unit, closed)
            n = len(t)
            ops = self.new_ops("other", unit, t, closed)
            rep = np.repeat(np.arange(n), rng.integers(1, 3, n))
            self.item(
                self.member_of(rng, unit[rep], day),
                ops[rep],
                t[rep],
                closed[rep],
                RATE["psd"],
                Label.ASSIGNED,
                "investigating officer",
            )
            officer = self.employee_records[rng.integers(0, len(self.employee_records), n)]
            self.links.add(op=ops, subject=officer, role=ROLE["suspect"])
            other = rng.random(n) < 0.4
            self.pick_subjects(rng, "other", ops[other])

    def warrants(
        self, rng: np.random.Generator, day: int, pools: dict[str, tuple[I64, I64]]
    ) -> None:
        n = int(rng.poisson(PER_HEAD["warrant"] * self.size))
        hour = rng.integers(6, 11, n)
        t = day * SECONDS_PER_DAY + hour * HOUR + rng.integers(0, HOUR, n)
        ops = self.new_ops(
            "warrant", self.units_of(rng, "response", n), t - 2 * SECONDS_PER_DAY, t + 4 * HOUR
        )
        team = np.repeat(np.arange(n), rng.integers(2, 5, n))
        person = pick_on_duty(rng, pools["response"], hour[team], self.kind_members["response"])
        _, once = np.unique(team * (self.size + 1) + person + 1, return_index=True)
        team, person = team[np.sort(once)], person[np.sort(once)]
        start = t[team] - HOUR
        self.item(
            person,
            ops[team],
            start,
            start + 4 * HOUR,
            RATE["warrant"],
            Label.ASSIGNED,
            "warrant team",
        )
        self.pick_subjects(rng, "warrant", ops)
        self.targets += [(day, int(o)) for o in ops]

    def briefings(
        self, rng: np.random.Generator, day: int, pools: dict[str, tuple[I64, I64]]
    ) -> None:
        """Officers starting a shift look up wanted people and targets they are not assigned to."""
        recent = [op for d, op in self.targets[-400:] if d >= day - 14]
        if not recent:
            return
        ptr, pool = pools["response"]
        for hour in (7, 15, 22):
            people = pool[ptr[hour] : ptr[hour + 1]]
            chosen = people[rng.random(len(people)) < BRIEFING_SHARE]
            op = np.array(recent, dtype=np.int64)[rng.integers(0, len(recent), len(chosen))]
            start = np.full(len(chosen), day * SECONDS_PER_DAY + hour * HOUR)
            self.item(
                chosen,
                op,
                start,
                start + 40 * 60,
                RATE["briefing"],
                Label.BRIEFING,
                "attending officer",
                written=False,
            )

    def stale(self, rng: np.random.Generator, person: I64, ops: I64, end: I64, rate: float) -> None:
        """Follow-up work days after the assignment window closed (not recorded anywhere)."""
        chosen = rng.random(len(person)) < STALE_SHARE
        later = end[chosen] + rng.integers(
            SECONDS_PER_DAY // 2, 3 * SECONDS_PER_DAY, int(chosen.sum())
        )
        self.item(
            person[chosen],
            ops[chosen],
            later,
            later + SECONDS_PER_DAY,
            max(rate / 3, RATE["noise"]),
            Label.STALE_ASSIGNMENT,
            "attending officer",
            written=False,
        )
