"""The force: its units and the people who work in them.

Headcount is shared between unit kinds roughly as in a county force of England and Wales (about
a third in response, then neighbourhood, detectives, control room and the rest), and each kind is
split into teams of a plausible size. Most people are officers or police staff; specials,
volunteers and contractors are few and work little. Each person gets a shift pattern from their
unit, a home in the force area, a start date, and for a few a leaving date inside or just before
the window (leavers whose accounts were not closed are one of the misuse scenarios).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodes.bundle.contract import UNIT_KINDS, WORKFORCE_ROLES
from custodes.synth import names
from custodes.synth.base import F64, I64, Window, segment_positions
from custodes.synth.population import (
    DAYS_PER_YEAR,
    NO_DAY,
    Geography,
    Subjects,
    adult_ages,
    birth_days,
    draw_forenames,
    draw_homes,
    draw_surnames,
)
from custodes.synth.roster import NOT_LEFT, Pattern, pattern_offsets

KIND = {kind: i for i, kind in enumerate(UNIT_KINDS)}
ROLE = {role: i for i, role in enumerate(WORKFORCE_ROLES)}

# Share of headcount and usual team size per unit kind.
_SHARE_AND_TEAM: dict[str, tuple[float, int]] = {
    "response": (0.30, 30),
    "neighbourhood": (0.15, 20),
    "cid": (0.12, 25),
    "intelligence": (0.06, 30),
    "control_room": (0.09, 90),
    "custody": (0.07, 25),
    "public_protection": (0.08, 25),
    "psd": (0.02, 30),
    "admin": (0.08, 40),
    "other": (0.03, 30),
}
# Chance of each role (officer, staff, special, volunteer, contractor) by unit kind.
_ROLE_MIX: dict[str, tuple[float, float, float, float, float]] = {
    "response": (0.90, 0.02, 0.08, 0.0, 0.0),
    "neighbourhood": (0.62, 0.28, 0.06, 0.04, 0.0),
    "cid": (0.85, 0.15, 0.0, 0.0, 0.0),
    "intelligence": (0.40, 0.58, 0.0, 0.0, 0.02),
    "control_room": (0.12, 0.88, 0.0, 0.0, 0.0),
    "custody": (0.45, 0.50, 0.0, 0.0, 0.05),
    "public_protection": (0.70, 0.30, 0.0, 0.0, 0.0),
    "psd": (0.60, 0.40, 0.0, 0.0, 0.0),
    "admin": (0.05, 0.80, 0.0, 0.05, 0.10),
    "other": (0.55, 0.35, 0.0, 0.0, 0.10),
}
_TEAM_PATTERN: dict[str, Pattern] = {
    "response": Pattern.RESPONSE,
    "control_room": Pattern.TWELVE_HOUR,
    "custody": Pattern.TWELVE_HOUR,
    "neighbourhood": Pattern.NEIGHBOURHOOD,
}
_ADMIN_NAMES = ("Criminal Justice Unit", "HR Services", "Information Management", "Finance")
_OTHER_NAMES = ("Roads Policing Unit", "Operational Support", "Training School")
LEAVER_SHARE = 0.012  # people leaving per month, share of workforce
JOINER_SHARE = 0.006
EARLIEST_LEFT = -45  # leavers may have gone up to this many days before the window
RECENT_LEAVER_DAYS = 10  # how long before the window a misused leaver's account may have been


@dataclass(eq=False)
class Units:
    ids: list[str]
    names: list[str]
    kind: I64
    size: I64

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(eq=False)
class Workforce:
    """Everyone who can log in; ``ids`` then ``ghost_ids`` (accounts not in the HR extract)."""

    ids: list[str]
    ghost_ids: list[str]
    role: I64
    unit: I64
    unit_recorded: np.ndarray  # False where HR holds no unit (some contractors)
    surname: list[str]
    forenames: list[str]
    dob: I64
    home_postcode: I64
    home_number: I64
    joined: I64
    left: I64  # NOT_LEFT when still employed
    pattern: I64
    offset: I64
    start_minutes: I64
    activity: F64  # how busy a person is on the systems, relative to peers

    def __len__(self) -> int:
        return len(self.ids)

    def unit_kind(self, units: Units) -> I64:
        return np.asarray(units.kind[self.unit], dtype=np.int64)


def headcounts(workforce: int) -> dict[str, int]:
    """People per unit kind: every kind gets at least one, the rest by share (largest remainder)."""
    kinds = list(_SHARE_AND_TEAM)
    shares = np.array([_SHARE_AND_TEAM[k][0] for k in kinds])
    minimum = np.array([2 if k == "psd" and workforce >= 60 else 1 for k in kinds])
    spare = workforce - int(minimum.sum())
    ideal = shares / shares.sum() * spare
    counts = minimum + np.floor(ideal).astype(np.int64)
    remainder = workforce - int(counts.sum())
    for i in np.argsort(-(ideal - np.floor(ideal)), kind="stable")[:remainder]:
        counts[i] += 1
    return dict(zip(kinds, counts.tolist(), strict=True))


def make_units(workforce: int) -> tuple[Units, I64]:
    """Units of every kind, and the unit of each member of staff (in unit order)."""
    ids: list[str] = []
    unit_names: list[str] = []
    kinds: list[int] = []
    sizes: list[int] = []
    for kind, heads in headcounts(workforce).items():
        team = _SHARE_AND_TEAM[kind][1]
        n_units = max(1, round(heads / team))
        if kind == "response":  # five teams cover the clock on the ten-day cycle
            n_units = 5 * max(1, round(heads / (5 * team)))
        split = np.full(n_units, heads // n_units) + (np.arange(n_units) < heads % n_units)
        for i, size in enumerate(split.tolist()):
            ids.append(f"U{len(ids) + 1:03d}")
            unit_names.append(_unit_name(kind, i, n_units))
            kinds.append(KIND[kind])
            sizes.append(size)
    seen: dict[str, int] = {}
    for i, name in enumerate(unit_names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            unit_names[i] = f"{name} {seen[name]}"
    size_array = np.array(sizes, dtype=np.int64)
    member_unit = np.repeat(np.arange(len(ids), dtype=np.int64), size_array)
    return Units(ids, unit_names, np.array(kinds, dtype=np.int64), size_array), member_unit


def _unit_name(kind: str, i: int, n_units: int) -> str:
    town = names.TOWNS[i % len(names.TOWNS)]
    letter = "ABCDE"[i % 5]
    area = names.TOWNS[(i // 5) % len(names.TOWNS)]
    by_kind = {
        "response": f"{area} Response Team {letter}",
        "neighbourhood": f"{town} Neighbourhood Policing Team",
        "cid": f"{town} CID",
        "intelligence": "Force Intelligence Bureau" if i == 0 else f"{town} Intelligence Unit",
        "control_room": "Force Control Room" if n_units == 1 else f"Force Control Room {i + 1}",
        "custody": f"{town} Custody Suite",
        "public_protection": f"{town} Public Protection Unit",
        "psd": "Professional Standards Department" if i == 0 else "Counter Corruption Unit",
        "admin": _ADMIN_NAMES[i % len(_ADMIN_NAMES)],
        "other": _OTHER_NAMES[i % len(_OTHER_NAMES)],
    }
    return by_kind[kind]


def make_workforce(
    rng: np.random.Generator,
    window: Window,
    geography: Geography,
    subjects: Subjects,
    size: int,
    *,
    min_leavers: int,
    ghosts: int,
) -> tuple[Units, Workforce]:
    units, unit = make_units(size)
    kind_names = [UNIT_KINDS[k] for k in units.kind[unit].tolist()]
    mix = np.array([_ROLE_MIX[k] for k in kind_names])
    role = (rng.random(size)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    role = np.minimum(role, len(WORKFORCE_ROLES) - 1).astype(np.int64)

    female = rng.random(size) < 0.38
    surname = draw_surnames(rng, size)
    forenames = draw_forenames(rng, female, middle_share=0.4)
    ages = np.clip(adult_ages(rng, size) + 4, 19, 66)
    dob = birth_days(rng, ages)
    home_postcode, home_number = draw_homes(rng, geography, subjects, size)

    # Years of service: anything from a new recruit to thirty years, never before age 18.
    service = np.minimum(rng.exponential(9.0, size), ages - 18.5)
    joined = -(service * DAYS_PER_YEAR).astype(np.int64) - 1
    left = np.full(size, NOT_LEFT, dtype=np.int64)
    months = max(window.days, 30) / 30
    n_joiners = min(size // 10, round(size * JOINER_SHARE * months))
    joiners = rng.choice(size, size=n_joiners, replace=False)
    joined[joiners] = rng.integers(0, window.days, n_joiners)
    candidates = np.setdiff1d(np.arange(size), joiners)
    n_leavers = min(len(candidates), max(min_leavers, round(size * LEAVER_SHARE * months)))
    leavers = rng.choice(candidates, size=n_leavers, replace=False)
    last = window.days - 1  # a leaver's last day is before the window's last day
    left[leavers] = rng.integers(EARLIEST_LEFT, max(last, EARLIEST_LEFT + 1), n_leavers)
    # The first ``min_leavers`` left recently enough for their accounts to be misused in the window.
    recent = leavers[:min_leavers]
    left[recent] = rng.integers(-RECENT_LEAVER_DAYS, max(last, 1 - RECENT_LEAVER_DAYS), len(recent))
    joined[leavers] = np.minimum(joined[leavers], left[leavers] - 30)

    pattern = np.array(
        [int(_TEAM_PATTERN.get(k, Pattern.OFFICE)) for k in kind_names], dtype=np.int64
    )
    pattern[role == ROLE["special"]] = Pattern.SPECIAL
    pattern[role == ROLE["volunteer"]] = Pattern.VOLUNTEER
    # Response teams rotate together; control room and custody staff are spread over watches.
    response_units = np.flatnonzero(units.kind == KIND["response"])
    team = np.zeros(len(units), dtype=np.int64)
    team[response_units] = np.arange(len(response_units))
    watch = np.where(pattern == Pattern.RESPONSE, team[unit], rng.integers(0, 4, size))
    offset = pattern_offsets(pattern, watch.astype(np.int64))
    start_minutes = rng.integers(-4, 5, size).astype(np.int64) * 15

    contractor = role == ROLE["contractor"]
    unit_recorded = ~(contractor & (rng.random(size) < 0.5))
    dob_missing = contractor & (rng.random(size) < 0.3)
    dob[dob_missing] = NO_DAY

    # Staff numbers are scattered over a range with room to spare, as after years of turnover.
    digits = max(6, len(str(2 * (size + ghosts))))
    low, high = 10 ** (digits - 1), 10**digits
    numbers = rng.choice(high - low, size=size + ghosts, replace=False) + low
    all_ids = [f"P{n}" for n in numbers.tolist()]
    activity = rng.lognormal(0.0, 0.35, size)
    activity[np.isin(role, [ROLE["special"], ROLE["volunteer"]])] *= 0.4
    workforce = Workforce(
        ids=all_ids[:size],
        ghost_ids=all_ids[size:],
        role=role,
        unit=unit,
        unit_recorded=unit_recorded,
        surname=surname,
        forenames=forenames,
        dob=dob,
        home_postcode=home_postcode,
        home_number=home_number,
        joined=joined,
        left=left,
        pattern=pattern,
        offset=offset,
        start_minutes=start_minutes,
        activity=activity,
    )
    return units, workforce


def unit_members(workforce: Workforce, n_units: int) -> tuple[I64, I64]:
    """People per unit: ``order[ptr[u]:ptr[u + 1]]``."""
    counts = np.bincount(workforce.unit, minlength=n_units)
    ptr = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, np.argsort(workforce.unit, kind="stable").astype(np.int64)


def terminals(units: Units, workforce: Workforce) -> tuple[list[str], I64, I64]:
    """Terminal names (``T-U012-03``), each unit's first terminal, and each person's usual one.

    About one terminal per three people: desks are shared, so one terminal alone never names a
    person.
    """
    per_unit = np.maximum(2, -(-units.size // 3))
    base = np.concatenate([[0], np.cumsum(per_unit)[:-1]]).astype(np.int64)
    labels = [
        f"T-{units.ids[u]}-{k + 1:02d}" for u in range(len(units)) for k in range(per_unit[u])
    ]
    rank = segment_positions(np.bincount(workforce.unit, minlength=len(units)))
    order = np.argsort(workforce.unit, kind="stable")
    person_rank = np.empty(len(workforce), dtype=np.int64)
    person_rank[order] = rank
    usual = base[workforce.unit] + person_rank % per_unit[workforce.unit]
    return labels, base, usual.astype(np.int64)
