"""Employees and their relatives, as HR knows them and as police records know them.

HR holds each employee and the people they declared (partner, household, family, next of kin, an
ex-partner, an association with someone who has a record). Some of these people, and some
employees, also have police records, and the two never agree exactly: a nickname instead of the
given name, a dropped middle name, two letters swapped, day and month of birth swapped, a maiden
or married surname, an old address. Some relationships were never declared at all (an ex-partner
is the classic case). Detection has to link across these differences, so the generator makes
them, and writes the truth of who is who to ``truth/links.csv``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from custodes.synth import names
from custodes.synth.base import F64, I64, Window
from custodes.synth.organisation import Workforce
from custodes.synth.population import (
    DAYS_PER_YEAR,
    JUVENILE,
    NO_DAY,
    POLICE_EMPLOYEE,
    Geography,
    Subjects,
)

SELF_RECORD = 0.25  # employees who also have a police record (victim, witness, old matter)
POLICE_EMPLOYEE_FLAGGED = 0.75  # of those, records that carry the flag (older ones do not)
UNDECLARED_EX = 0.02
# Chance that a declared person also has a police record, by relation.
RECORD_CHANCE = {
    "partner": 0.15,
    "household": 0.12,
    "family": 0.2,
    "next_of_kin": 0.2,
    "ex_partner": 0.5,
    "declared_association": 0.85,
}
_UNCHANGED = 0.3
_FEMALE = frozenset(names.FEMALE_FORENAMES)


@dataclass(frozen=True)
class Link:
    """One record that belongs to an employee or to someone related to them (truth)."""

    subject: int
    person: int
    relation: str  # "self" or a relation code
    declared: bool
    variants: str  # how the record differs from HR, ";"-separated


@dataclass(frozen=True)
class Relative:
    person: int
    relation: str
    surname: str
    forenames: str
    dob: int
    postcode: int


@dataclass(eq=False)
class Linkage:
    relations: list[Relative]
    links: list[Link]
    self_subject: I64  # each employee's own record, -1 where none
    _relatives: dict[int, list[Link]] = field(default_factory=dict, repr=False)

    def renumber(self, new_index: I64) -> None:
        """Follow subjects to their new positions after the population is shuffled."""
        self.links = [
            Link(int(new_index[k.subject]), k.person, k.relation, k.declared, k.variants)
            for k in self.links
        ]
        has = self.self_subject >= 0
        self.self_subject[has] = new_index[self.self_subject[has]]
        self._relatives = {}
        for link in self.links:
            if link.relation != "self":
                self._relatives.setdefault(link.person, []).append(link)

    def relatives(self, person: int) -> list[Link]:
        return self._relatives.get(person, [])

    def linked_subjects(self, person: int) -> set[int]:
        own = {int(self.self_subject[person])} - {-1}
        return own | {k.subject for k in self.relatives(person)}


@dataclass
class _Records:
    """New subject records being collected, as rows."""

    rows: list[tuple[str, str, int, int, int, int, int, float]] = field(default_factory=list)

    def add(self, values: tuple[str, str, int, int, int, int, int, float]) -> int:
        self.rows.append(values)
        return len(self.rows) - 1

    def as_subjects(self, first_household: int) -> Subjects:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * 8
        return Subjects(
            surname=list(columns[0]),
            forenames=list(columns[1]),
            dob=np.array(columns[2], dtype=np.int64),
            postcode=np.array(columns[3], dtype=np.int64),
            number=np.array(columns[4], dtype=np.int64),
            flags=np.array(columns[5], dtype=np.int64),
            household=np.array(columns[6], dtype=np.int64) + first_household,
            popularity=np.array(columns[7], dtype=np.float64),
        )


def make_linkage(
    rng: np.random.Generator,
    window: Window,
    geography: Geography,
    workforce: Workforce,
    subjects: Subjects,
    *,
    min_self: int,
    min_family: int,
    min_ex: int,
) -> Linkage:
    """Declared relations, and police records of employees and relatives, appended to subjects.

    ``min_*`` guarantee enough material for the misuse scenarios in a small force.
    """
    size = len(workforce)
    forced_self = set(rng.choice(size, size=min(size, min_self), replace=False).tolist())
    forced_family = set(rng.choice(size, size=min(size, min_family), replace=False).tolist())
    forced_ex = set(rng.choice(size, size=min(size, min_ex), replace=False).tolist())
    base = len(subjects)
    records = _Records()
    relations: list[Relative] = []
    links: list[Link] = []
    self_subject = np.full(size, -1, dtype=np.int64)
    n_postcodes = len(geography.postcode)

    def record(
        person: int, relation: str, who: Relative, number: int, declared: bool, flags: int
    ) -> None:
        postcode = who.postcode if who.postcode >= 0 else int(rng.integers(n_postcodes))
        surname, forenames, dob, postcode, number, tags = vary(
            rng, window, who, postcode, number, n_postcodes
        )
        if who.dob != NO_DAY and who.dob > -18 * DAYS_PER_YEAR:
            flags |= JUVENILE
        popularity = 3.0 if relation == "declared_association" else 0.5
        # Records at the employee's home form one household; anyone else is a household alone.
        at_home = relation in ("self", "partner", "household") and tags.find("moved") < 0
        household = person if at_home else size + len(records.rows)
        row = records.add((surname, forenames, dob, postcode, number, flags, household, popularity))
        links.append(Link(base + row, person, relation, declared, tags))

    for p in range(size):
        home, number = int(workforce.home_postcode[p]), int(workforce.home_number[p])
        me = Relative(
            p, "self", workforce.surname[p], workforce.forenames[p], int(workforce.dob[p]), home
        )
        if p in forced_self or rng.random() < SELF_RECORD:
            flag = POLICE_EMPLOYEE if rng.random() < POLICE_EMPLOYEE_FLAGGED else 0
            record(p, "self", me, number, True, flag)
            self_subject[p] = base + len(records.rows) - 1
        declared = _declared_relatives(rng, me, n_postcodes)
        if p in forced_family and not any(r.relation == "family" for r in declared):
            declared.append(_relative(rng, me, "family", n_postcodes))
        # Half the ex-partners the scenarios need were declared to HR, half were not.
        hidden_ex = p in forced_ex and rng.random() < 0.5
        if p in forced_ex and not hidden_ex:
            declared.append(_relative(rng, me, "ex_partner", n_postcodes))
        for who in declared:
            relations.append(who)
            if who.relation == "next_of_kin" and any(r.relation == "partner" for r in declared):
                continue  # the partner again, already considered
            chance = RECORD_CHANCE[who.relation]
            forced = (p in forced_family and who.relation == "family") or (
                p in forced_ex and who.relation == "ex_partner"
            )
            if forced or rng.random() < chance:
                at_home = who.relation in ("partner", "household")
                house = number if at_home else int(rng.integers(1, 120))
                record(p, who.relation, who, house, True, 0)
        if hidden_ex or rng.random() < UNDECLARED_EX:
            ex = _relative(rng, me, "ex_partner", n_postcodes)
            record(p, "ex_partner", ex, int(rng.integers(1, 120)), False, 0)

    subjects.extend(records.as_subjects(int(subjects.household.max()) + 1))
    return Linkage(relations=relations, links=links, self_subject=self_subject)


def _declared_relatives(rng: np.random.Generator, me: Relative, n_postcodes: int) -> list[Relative]:
    declared: list[Relative] = []
    if rng.random() < 0.55:
        declared.append(_relative(rng, me, "partner", n_postcodes))
    for _ in range(int(rng.random() < 0.4) * int(rng.integers(1, 3))):
        declared.append(_relative(rng, me, "household", n_postcodes))
    for _ in range(int(rng.binomial(2, 0.3))):
        declared.append(_relative(rng, me, "family", n_postcodes))
    if rng.random() < 0.6:
        partner = next((r for r in declared if r.relation == "partner"), None)
        if partner is not None:
            declared.append(Relative(**{**partner.__dict__, "relation": "next_of_kin"}))
        else:
            declared.append(_relative(rng, me, "next_of_kin", n_postcodes))
    if rng.random() < 0.04:
        declared.append(_relative(rng, me, "ex_partner", n_postcodes))
    if rng.random() < 0.03:
        declared.append(_relative(rng, me, "declared_association", n_postcodes))
    return declared


def _relative(rng: np.random.Generator, me: Relative, relation: str, n_postcodes: int) -> Relative:
    """A plausible person for ``relation``: a partner near one's age at home, a parent elsewhere."""
    female = bool(rng.random() < 0.5)
    if relation in ("partner", "ex_partner"):
        female = me.forenames.split(" ")[0] not in _FEMALE
    forename = _draw(rng, *_FORENAMES[female])
    my_dob = me.dob if me.dob != NO_DAY else int(-40 * DAYS_PER_YEAR)
    # How much older than the employee (years): children younger, parents or siblings either way.
    if relation == "household":
        years = rng.uniform(-40, -22)
    elif relation == "family":
        years = (-4.0, 4.0, 27.0, 30.0)[int(rng.integers(4))] + rng.normal(0, 2)
    elif relation == "next_of_kin":
        years = 28 + rng.normal(0, 3)
    else:
        years = rng.normal(0, {"partner": 3, "ex_partner": 4}.get(relation, 8))
    dob = int(my_dob - years * DAYS_PER_YEAR + rng.integers(-180, 180))
    if dob >= 0:  # a young employee's child: born before the window, not decades ahead
        dob = -int(rng.integers(30, int(18 * DAYS_PER_YEAR)))
    own_surname = relation in ("household", "family", "next_of_kin") or rng.random() < 0.5
    if relation == "declared_association":
        own_surname = rng.random() < 0.1
    surname = me.surname if own_surname else _surname(rng)
    at_home = relation in ("partner", "household")
    postcode = me.postcode if at_home else int(rng.integers(n_postcodes))
    if relation in ("family", "next_of_kin", "declared_association") and rng.random() < 0.15:
        postcode = -1  # HR did not record it
    return Relative(me.person, relation, surname, forename, dob, postcode)


def _surname(rng: np.random.Generator) -> str:
    return _draw(rng, names.SURNAMES, _SURNAME_CDF)


def _draw(rng: np.random.Generator, pool: tuple[str, ...], cdf: F64) -> str:
    """One name, drawn by weight (one at a time: relatives are made one by one)."""
    return pool[min(int(np.searchsorted(cdf, rng.random() * cdf[-1])), len(pool) - 1)]


_SURNAME_CDF: F64 = np.cumsum(names.SURNAME_WEIGHTS)
_FORENAMES: dict[bool, tuple[tuple[str, ...], F64]] = {
    female: (pool, np.cumsum(weights))
    for female in (False, True)
    for pool, weights in [names.forename_weights(female)]
}


def vary(
    rng: np.random.Generator,
    window: Window,
    who: Relative,
    postcode: int,
    number: int,
    n_postcodes: int,
) -> tuple[str, str, int, int, int, str]:
    """The police record of a person HR knows as ``who``: usually different in one or two ways."""
    surname, forenames, dob = who.surname, who.forenames, who.dob
    if rng.random() < _UNCHANGED:
        return surname, forenames, dob, postcode, number, ""
    first = forenames.split(" ")[0]
    born = window.start + dt.timedelta(days=dob) if dob != NO_DAY else None
    options: list[tuple[str, float]] = [
        ("transposed_surname", 0.12),
        ("transposed_forename", 0.1),
        ("moved", 0.25),
    ]
    if names.FORENAME_VARIANTS.get(first):
        options.append(("nickname", 0.35))
    if " " in forenames:
        options.append(("no_middle_name", 0.3))
    if born is not None and born.day <= 12 and born.day != born.month:
        options.append(("dob_day_month_swapped", 0.15))
    if born is not None:
        options.append(("dob_missing", 0.05))
    if who.relation in ("self", "partner", "family", "ex_partner"):
        options.append(("surname_changed", 0.1))
    weights = np.array([w for _, w in options])
    k = min(len(options), 1 + int(rng.random() < 0.35))
    chosen = rng.choice(len(options), size=k, replace=False, p=weights / weights.sum())
    tags = sorted(options[i][0] for i in chosen.tolist())
    for tag in tags:
        if tag == "nickname":
            forenames = " ".join([names.nickname(rng, first) or first, *forenames.split(" ")[1:]])
        elif tag == "no_middle_name":
            forenames = forenames.split(" ")[0]
        elif tag == "transposed_surname":
            surname = names.transpose(rng, surname)
        elif tag == "transposed_forename":
            forenames = names.transpose(rng, forenames)
        elif tag == "dob_day_month_swapped" and born is not None:
            dob = (dt.date(born.year, born.day, born.month) - window.start).days
        elif tag == "dob_missing":
            dob = NO_DAY
        elif tag == "surname_changed":
            surname = _surname(rng)
        elif tag == "moved":
            postcode = int(rng.integers(n_postcodes))
            number = int(rng.integers(1, 120))
    return surname, forenames, dob, postcode, number, ";".join(tags)
