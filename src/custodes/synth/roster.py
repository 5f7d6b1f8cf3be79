"""Shift patterns, and who is at work when.

Police work is rostered: response teams, the control room and custody suites cover the clock on
rotating early, late and night shifts with rest days; neighbourhood teams work days and lates;
detectives, analysts, professional standards and back-office staff keep office hours on weekdays.
The force bundle holds no roster, so detection has to learn each person's pattern from their own
history; the generator keeps the roster so that legitimate work happens on shift, misuse "outside
the pattern" is really outside it, and the truth files can say which is which.

A person's day is a shift code from their pattern's cycle, unless they are not employed that day,
absent (leave, sickness, training) or doing overtime on a rest day; absence and overtime are
hashed from (seed, person, day), so any person's day can be asked for on its own. Shifts may
cross midnight, so a calendar day is covered by up to two intervals: the tail of last night's
shift and today's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from custodes.synth.base import I64, SECONDS_PER_DAY, B, Window

# (start minute, length in minutes) of each shift; index 0 is a rest day.
SHIFTS = np.array(
    [
        (0, 0),  # rest
        (7 * 60, 8 * 60),  # early
        (15 * 60, 8 * 60),  # late
        (22 * 60, 9 * 60),  # night, into the next morning
        (7 * 60, 12 * 60),  # twelve-hour day
        (19 * 60, 12 * 60),  # twelve-hour night
        (8 * 60, 510),  # office day, 08:00-16:30 before each person's own start offset
        (8 * 60, 8 * 60),  # neighbourhood day
        (14 * 60, 8 * 60),  # neighbourhood late
        (18 * 60, 7 * 60),  # special constable's evening, into the small hours
        (10 * 60, 4 * 60),  # volunteer's morning
    ],
    dtype=np.int64,
)
R, EARLY, LATE, NIGHT, DAY12, NIGHT12, OFFICE, NDAY, NLATE, EVENING, MORNING = range(11)


class Pattern(IntEnum):
    RESPONSE = 0
    TWELVE_HOUR = 1
    NEIGHBOURHOOD = 2
    OFFICE = 3
    SPECIAL = 4
    VOLUNTEER = 5


# Cycles start on a Monday. Rotating patterns give each team or watch its own offset into the
# cycle; weekday patterns keep the offset a multiple of seven so they stay on the calendar.
_CYCLES: dict[Pattern, tuple[int, ...]] = {
    Pattern.RESPONSE: (EARLY, EARLY, LATE, LATE, NIGHT, NIGHT, R, R, R, R),
    Pattern.TWELVE_HOUR: (DAY12, DAY12, NIGHT12, NIGHT12, R, R, R, R),
    Pattern.NEIGHBOURHOOD: (
        NDAY,
        NDAY,
        NDAY,
        NLATE,
        NLATE,
        R,
        R,
        NLATE,
        NLATE,
        R,
        R,
        NDAY,
        NDAY,
        NDAY,
    ),
    Pattern.OFFICE: (OFFICE, OFFICE, OFFICE, OFFICE, OFFICE, R, R),
    Pattern.SPECIAL: (R, R, R, R, EVENING, EVENING, R, R, R, R, R, R, EVENING, R),
    Pattern.VOLUNTEER: (R, MORNING, R, MORNING, R, R, R),
}
ROTATING = frozenset({Pattern.RESPONSE, Pattern.TWELVE_HOUR})
_OVERTIME_SHIFT = {
    Pattern.RESPONSE: LATE,
    Pattern.TWELVE_HOUR: DAY12,
    Pattern.NEIGHBOURHOOD: NDAY,
    Pattern.OFFICE: OFFICE,
    Pattern.SPECIAL: R,
    Pattern.VOLUNTEER: R,
}
CYCLE_LENGTH = np.array([len(_CYCLES[p]) for p in Pattern], dtype=np.int64)
_TABLE = np.zeros((len(Pattern), int(CYCLE_LENGTH.max())), dtype=np.int64)
for _p in Pattern:
    _TABLE[_p, : len(_CYCLES[_p])] = _CYCLES[_p]
_OVERTIME = np.array([_OVERTIME_SHIFT[p] for p in Pattern], dtype=np.int64)

ABSENCE_RATE = 0.06  # leave, sickness, training courses
OVERTIME_RATE = 0.012  # rest days worked
_DAY_KEY = 1_000_000  # keeps hashed day numbers positive
NOT_LEFT = 10**7  # "left" day for people still employed


@dataclass(frozen=True)
class DayRoster:
    """Who works on one day: each person's shift code and the intervals covering the day."""

    code: I64
    overtime: B
    # Seconds within the day; an empty interval has start == end.
    carry_start: I64
    carry_end: I64
    start: I64
    end: I64

    def on_shift(self, persons: I64, seconds: I64) -> B:
        """Whether each person is on shift at each time (seconds within the day)."""
        in_carry = (seconds >= self.carry_start[persons]) & (seconds < self.carry_end[persons])
        return in_carry | ((seconds >= self.start[persons]) & (seconds < self.end[persons]))

    def hours_on_duty(self) -> B:
        """A (people, 24) matrix: on duty at the half hour."""
        middle = np.arange(24, dtype=np.int64) * 3600 + 1800
        carry = (middle >= self.carry_start[:, None]) & (middle < self.carry_end[:, None])
        today = (middle >= self.start[:, None]) & (middle < self.end[:, None])
        return np.asarray(carry | today, dtype=np.bool_)


def _uniform(seed: int, salt: int, persons: I64, days: I64) -> NDArray[np.float64]:
    """A reproducible uniform number per (person, day): a SplitMix64 hash, not a stream.

    Hashing lets the roster answer for any person on any day without replaying a random stream
    for everyone, which the misuse scenarios need when they look for a person's working days.
    """
    x = (seed % 2**64) ^ (salt * 0x9E3779B97F4A7C15 % 2**64)
    mixed = persons.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
    mixed ^= (days + _DAY_KEY).astype(np.uint64) * np.uint64(0x8CB92BA72F3D8DD7)
    mixed ^= np.uint64(x)
    mixed ^= mixed >> np.uint64(30)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(27)
    mixed *= np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(eq=False)
class Roster:
    """Everyone's shifts, from pattern and offset, with absence and overtime hashed per day."""

    seed: int
    window: Window
    pattern: I64
    offset: I64
    start_shift_minutes: I64  # personal start offset (office workers start 07:00 to 09:00)
    joined: I64
    left: I64
    overtime_eligible: B
    _cache: dict[int, DayRoster] = field(default_factory=dict, repr=False)

    def codes_for(self, persons: I64, days: I64) -> tuple[I64, B]:
        """Shift code and overtime flag for each (person, day) pair."""
        pattern = self.pattern[persons]
        index = (self.window.epoch_day + days + 3 + self.offset[persons]) % CYCLE_LENGTH[pattern]
        code = _TABLE[pattern, index]
        absent = _uniform(self.seed, 1, persons, days) < ABSENCE_RATE
        rested = (code == R) & self.overtime_eligible[persons]
        overtime = rested & (_uniform(self.seed, 2, persons, days) < OVERTIME_RATE)
        code = np.where(overtime, _OVERTIME[pattern], code)
        employed = (self.joined[persons] <= days) & (days <= self.left[persons])
        working = employed & ~absent
        return np.where(working, code, R), overtime & working

    def codes(self, day: int) -> tuple[I64, B]:
        everyone = np.arange(len(self.pattern), dtype=np.int64)
        return self.codes_for(everyone, np.full(len(everyone), day, dtype=np.int64))

    def shift_times(self, day: int | I64, code: I64, persons: I64 | None = None) -> tuple[I64, I64]:
        """Start and end of shifts that start on ``day``, in window seconds."""
        personal = (
            self.start_shift_minutes if persons is None else self.start_shift_minutes[persons]
        )
        begin = SHIFTS[code, 0] * 60 + np.where(code == OFFICE, personal, 0) * 60
        start = np.asarray(day, dtype=np.int64) * SECONDS_PER_DAY + begin
        return start, start + SHIFTS[code, 1] * 60

    def working_days(self, person: int) -> I64:
        """Days of the window on which a shift of ``person`` starts."""
        days = np.arange(self.window.days, dtype=np.int64)
        code, _ = self.codes_for(np.full(len(days), person, dtype=np.int64), days)
        working: I64 = days[code != R]
        return working

    def intervals(self, person: int, day: int) -> list[tuple[int, int]]:
        """The stretches of ``day`` that ``person`` is on shift, in window seconds."""
        days = np.array([day - 1, day], dtype=np.int64)
        persons = np.array([person, person], dtype=np.int64)
        code, _ = self.codes_for(persons, days)
        start, end = self.shift_times(days, code, persons)
        lo, hi = day * SECONDS_PER_DAY, (day + 1) * SECONDS_PER_DAY
        spans = [
            (max(int(a), lo), min(int(b), hi))
            for a, b, c in zip(start.tolist(), end.tolist(), code.tolist(), strict=True)
            if c != R
        ]
        return [(a, b) for a, b in spans if b > a]

    def day(self, day: int) -> DayRoster:
        """The roster of one day for everyone (cached: operations and activity both ask)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        code, overtime = self.codes(day)
        previous, _ = self.codes(day - 1)
        base = day * SECONDS_PER_DAY
        _, p_end = self.shift_times(day - 1, previous)
        t_start, t_end = self.shift_times(day, code)
        carry_end = np.clip(p_end - base, 0, SECONDS_PER_DAY)
        working = code != R
        roster = DayRoster(
            code=code,
            overtime=overtime,
            carry_start=np.zeros_like(carry_end),
            carry_end=np.where(previous != R, carry_end, 0),
            start=np.where(working, t_start - base, 0),
            end=np.where(working, np.minimum(t_end - base, SECONDS_PER_DAY), 0),
        )
        if len(self._cache) >= 4:
            self._cache.pop(min(self._cache))
        self._cache[day] = roster
        return roster


def pattern_offsets(pattern: I64, team: I64) -> I64:
    """Offsets into the cycle, from each person's team or watch number.

    Rotating cycles work two days of each shift type, so teams two days apart cover the clock
    between them: five response teams on the ten-day cycle, four watches on the eight-day one.
    For fourteen-day weekly patterns the team picks one of the two weeks.
    """
    length = CYCLE_LENGTH[pattern]
    rotating = np.isin(pattern, [int(p) for p in ROTATING])
    team_offset = (team % (length // 2)) * 2
    weekly = np.where(length == 14, (team % 2) * 7, 0)
    return np.where(rotating, team_offset, weekly).astype(np.int64)


def shifts_for_day(roster: Roster, day: int) -> tuple[I64, I64, I64, B]:
    """The shifts starting on ``day``: person, start and end (window seconds), overtime."""
    today = roster.day(day)
    persons = np.flatnonzero(today.code != R).astype(np.int64)
    start, end = roster.shift_times(day, today.code[persons], persons)
    return persons, start, end, today.overtime[persons]


def on_duty_pools(hours: B, members: I64) -> tuple[I64, I64]:
    """Per hour, who among ``members`` is on duty: ``pool[ptr[h]:ptr[h + 1]]``."""
    hour_index, member_index = np.nonzero(hours[members].T)
    ptr = np.zeros(25, dtype=np.int64)
    np.cumsum(np.bincount(hour_index, minlength=24), out=ptr[1:])
    return ptr, members[member_index].astype(np.int64)


def pick_on_duty(
    rng: np.random.Generator, pools: tuple[I64, I64], hours: I64, fallback: I64
) -> I64:
    """One person on duty at each hour, or someone from ``fallback`` where nobody is."""
    ptr, pool = pools
    count = ptr[hours + 1] - ptr[hours]
    u = rng.random(len(hours))
    chosen = np.full(len(hours), -1, dtype=np.int64)
    has = count > 0
    if pool.size:
        chosen[has] = pool[ptr[hours[has]] + (u[has] * count[has]).astype(np.int64)]
    if fallback.size:
        chosen[~has] = fallback[(u[~has] * len(fallback)).astype(np.int64)]
    return chosen
