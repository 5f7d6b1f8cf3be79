"""The people held in police records ("subjects") and the streets they live on.

Police records hold many more people than the force employs, most of them ordinary residents of
the force area who were once a victim, witness or suspect. The population is built household by
household: a household sits at one address in one postcode unit, its members mostly share a
surname, and postcode units are clustered (some estates fill many records), so neighbours share a
postcode unit just as they do in life. Surnames are drawn Zipf-like, so many unrelated people
share a common surname, which is the heart of the linkage problem.

A few people carry flags: public figures (``vip``), people whose address is withheld
(``protected``), the dead (``deceased``) and children (``juvenile``, derived from the date of
birth). The records of employees (``police_employee``) are added later by :mod:`linkage`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custodes.bundle.contract import SUBJECT_FLAGS
from custodes.synth import names
from custodes.synth.base import F64, I64, csr, sample_weighted, segment_positions

SUBJECTS_PER_EMPLOYEE = 22  # subjects in the base population per member of the workforce
SUBJECTS_PER_POSTCODE = 8  # mean subjects per postcode unit: enough that neighbours exist
NO_DAY = -(10**7)  # a missing date, in window-day numbers
DAYS_PER_YEAR = 365.2425

FLAG_BITS: dict[str, int] = {flag: 1 << i for i, flag in enumerate(SUBJECT_FLAGS)}
VIP = FLAG_BITS["vip"]
PROTECTED = FLAG_BITS["protected"]
POLICE_EMPLOYEE = FLAG_BITS["police_employee"]
DECEASED = FLAG_BITS["deceased"]
JUVENILE = FLAG_BITS["juvenile"]

_HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
_HOUSEHOLD_P = np.array([0.42, 0.30, 0.15, 0.09, 0.04])
_SHARED_SURNAME = 0.82
_MIDDLE_NAME = 0.35
_VIP_SHARE = 0.0002
_PROTECTED_SHARE = 0.0025
_DECEASED_SHARE = 0.008


@dataclass(eq=False)
class Geography:
    """Postcode units of the force area, each on one street in one town."""

    postcode: list[str]
    street: list[str]
    town: list[str]
    first_number: I64
    weight: F64  # how many households a unit attracts (estates cluster)

    def address(self, postcode: int, number: int) -> str:
        return f"{number} {self.street[postcode]}, {self.town[postcode]}"


@dataclass(eq=False)
class Subjects:
    """Subject records, as parallel columns (index = subject number before ids are given)."""

    surname: list[str]
    forenames: list[str]
    dob: I64  # window-day number, NO_DAY when not recorded
    postcode: I64  # index into Geography.postcode, -1 when not recorded
    number: I64  # house number, -1 when not recorded
    flags: I64  # bit set over SUBJECT_FLAGS
    household: I64
    popularity: F64  # relative chance of turning up in an operation

    def __len__(self) -> int:
        return len(self.surname)

    def extend(self, other: Subjects) -> None:
        self.surname += other.surname
        self.forenames += other.forenames
        self.dob = np.concatenate([self.dob, other.dob])
        self.postcode = np.concatenate([self.postcode, other.postcode])
        self.number = np.concatenate([self.number, other.number])
        self.flags = np.concatenate([self.flags, other.flags])
        self.household = np.concatenate([self.household, other.household])
        self.popularity = np.concatenate([self.popularity, other.popularity])

    def reorder(self, order: I64) -> None:
        """Put subject ``order[i]`` at position ``i`` (records are numbered in that order)."""
        self.surname = [self.surname[i] for i in order]
        self.forenames = [self.forenames[i] for i in order]
        self.dob = self.dob[order]
        self.postcode = self.postcode[order]
        self.number = self.number[order]
        self.flags = self.flags[order]
        self.household = self.household[order]
        self.popularity = self.popularity[order]

    def by_household(self) -> tuple[I64, I64]:
        return csr(self.household, int(self.household.max()) + 1)

    def by_postcode(self, n_postcodes: int) -> tuple[I64, I64]:
        """Subjects per postcode unit; subjects without a postcode are left out."""
        keys = np.where(self.postcode >= 0, self.postcode, n_postcodes)
        ptr, order = csr(keys, n_postcodes + 1)
        return ptr[:-1].copy(), order[: ptr[n_postcodes]]


def make_geography(rng: np.random.Generator, n_postcodes: int) -> Geography:
    """Postcode units grouped into districts (``WX4 7QA``), each district one town."""
    n_districts = int(np.clip(n_postcodes // 120, 3, 90))
    n_districts = max(n_districts, -(-n_postcodes // 3000))
    district = np.sort(rng.integers(0, n_districts, n_postcodes))
    rank = segment_positions(np.bincount(district, minlength=n_districts))
    letters = names.POSTCODE_UNIT_LETTERS
    # Each district draws its inward codes (sector digit and two letters) without repeats.
    inward = [
        f"{1 + k // 400}{letters[(k // 20) % 20]}{letters[k % 20]}"
        for k in rng.permutation(9 * 400)
    ]
    outward = [
        f"{names.POSTCODE_AREAS[d % len(names.POSTCODE_AREAS)]}{d // len(names.POSTCODE_AREAS) + 1}"
        for d in range(n_districts)
    ]
    postcode = [
        f"{outward[d]} {inward[(r * 7 + d * 131) % len(inward)]}"
        for d, r in zip(district.tolist(), rank.tolist(), strict=True)
    ]
    town = [names.TOWNS[d % len(names.TOWNS)] for d in district.tolist()]
    first = rng.integers(0, len(names.STREET_NAMES), n_postcodes)
    kind = rng.integers(0, len(names.STREET_KINDS), n_postcodes)
    street = [
        f"{names.STREET_NAMES[a]} {names.STREET_KINDS[b]}"
        for a, b in zip(first.tolist(), kind.tolist(), strict=True)
    ]
    return Geography(
        postcode=postcode,
        street=street,
        town=town,
        first_number=rng.integers(1, 40, n_postcodes).astype(np.int64),
        weight=rng.lognormal(0.0, 0.9, n_postcodes),
    )


def draw_surnames(rng: np.random.Generator, n: int) -> list[str]:
    table = np.array(names.SURNAMES, dtype=object)
    return list(table[sample_weighted(rng, names.SURNAME_WEIGHTS, n)])


def draw_forenames(rng: np.random.Generator, female: np.ndarray, middle_share: float) -> list[str]:
    """Forenames by sex; some people get a middle name, which records often drop."""
    n = len(female)
    out = np.empty(n, dtype=object)
    for is_female in (False, True):
        pool, weights = names.forename_weights(is_female)
        table = np.array(pool, dtype=object)
        rows = np.flatnonzero(female == is_female)
        first = table[sample_weighted(rng, weights, len(rows))]
        second = table[sample_weighted(rng, weights, len(rows))]
        with_middle = (rng.random(len(rows)) < middle_share) & (first != second)
        out[rows] = np.where(with_middle, first + " " + second, first)
    return list(out)


def adult_ages(rng: np.random.Generator, n: int) -> F64:
    """Ages of adults in police records: mostly 18 to 50, a long tail to old age."""
    return np.asarray(np.minimum(18 + rng.gamma(2.0, 10.0, n), 95.0), dtype=np.float64)


def birth_days(rng: np.random.Generator, ages: F64) -> I64:
    """Window-day numbers of birth for people of the given ages on the first day of the window."""
    return -(ages * DAYS_PER_YEAR + rng.uniform(0, DAYS_PER_YEAR, len(ages))).astype(np.int64)


def make_subjects(rng: np.random.Generator, geography: Geography, n: int) -> Subjects:
    """The base population: ``n`` subjects in households at addresses in the force area."""
    # There are at most n households; draw that many sizes and keep those that hold n people.
    sizes = rng.choice(_HOUSEHOLD_SIZES, size=n, p=_HOUSEHOLD_P)
    n_households = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:n_households]
    sizes[-1] -= int(sizes.sum()) - n

    home = sample_weighted(rng, geography.weight / geography.weight.sum(), n_households)
    order = np.argsort(home, kind="stable")
    rank = np.empty(n_households, dtype=np.int64)
    rank[order] = segment_positions(np.bincount(home, minlength=len(geography.postcode)))
    number = geography.first_number[home] + 2 * rank

    household = np.repeat(np.arange(n_households, dtype=np.int64), sizes)
    member = segment_positions(sizes)
    family_name = np.array(draw_surnames(rng, n_households), dtype=object)
    own_name = np.array(draw_surnames(rng, n), dtype=object)
    shared = (member == 0) | (rng.random(n) < _SHARED_SURNAME)
    surname = list(np.where(shared, family_name[household], own_name))
    forenames = draw_forenames(rng, rng.random(n) < 0.5, _MIDDLE_NAME)

    child = (member > 0) & (rng.random(n) < 0.3)
    ages = np.where(child, rng.uniform(8, 18, n), adult_ages(rng, n))
    dob = birth_days(rng, ages)
    flags = np.where(ages < 18, JUVENILE, 0).astype(np.int64)

    adults = np.flatnonzero(ages >= 18)
    older = adults[ages[adults] >= 40]
    deceased = rng.choice(older, size=min(len(older), int(n * _DECEASED_SHARE)), replace=False)
    flags[deceased] |= DECEASED
    living = np.setdiff1d(adults, deceased)
    protected = rng.choice(living, size=min(len(living), int(n * _PROTECTED_SHARE)), replace=False)
    flags[protected] |= PROTECTED
    public = np.setdiff1d(living, protected)
    vip = rng.choice(public, size=min(len(public), max(4, round(n * _VIP_SHARE))), replace=False)
    flags[vip] |= VIP

    postcode = home[household].copy()
    house_number = number[household].copy()
    # The address of a protected person is withheld from the record.
    postcode[protected] = -1
    house_number[protected] = -1

    popularity = rng.pareto(1.3, n) + 0.05
    popularity[ages < 18] *= 0.7
    popularity[deceased] *= 0.05
    popularity[protected] *= 0.3
    popularity[vip] *= 0.01
    return Subjects(
        surname=surname,
        forenames=forenames,
        dob=dob,
        postcode=postcode,
        number=house_number,
        flags=flags,
        household=household,
        popularity=popularity,
    )


def draw_homes(
    rng: np.random.Generator, geography: Geography, subjects: Subjects, k: int
) -> tuple[I64, I64]:
    """Home postcode units and house numbers for ``k`` employees.

    Employees live among the people they police: homes are drawn from postcode units that already
    hold subjects, so every employee has neighbours in the records (the ``neighbour`` scenario and
    the ``same_postcode`` hard negatives depend on it).
    """
    n_postcodes = len(geography.postcode)
    residents = np.bincount(subjects.postcode[subjects.postcode >= 0], minlength=n_postcodes)
    weight = geography.weight * (residents > 0)
    postcode = sample_weighted(rng, weight / weight.sum(), k)
    number = geography.first_number[postcode] + 2 * (residents[postcode] + rng.integers(0, 6, k))
    return postcode, number
