"""The force bundle, version 1: the input contract, held as data.

A bundle is a directory of tables, each ``NAME.csv`` (UTF-8, header row) or ``NAME.parquet`` with
the same columns. This module is the single place that says which tables and columns exist, which
are required, what kind of value each holds and which codes are allowed. The validator
(:mod:`custodes.bundle.validate`) turns these specifications into SQL, the synthetic force
generator writes to them and the documentation (``docs/bundle.md``) describes them; a test keeps
the three in step.

The contract lives in ``DESIGN.md`` ("The force bundle, v1"); change it there first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

BUNDLE_VERSION = 1


class Kind(StrEnum):
    """What a column holds, which decides how it is validated and stored."""

    ID = "id"  # an identifier: a non-blank string, stored as given
    TEXT = "text"  # free text, stored as given
    CODE = "code"  # one of a closed list of codes
    OPEN_CODE = "open_code"  # a short code from an open list (e.g. system names)
    TIMESTAMP = "timestamp"  # ISO 8601 with a UTC offset, stored as TIMESTAMPTZ in UTC
    DATE = "date"  # YYYY-MM-DD, stored as DATE
    FLAGS = "flags"  # ';'-separated codes from a closed list, stored as a list


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    codes: tuple[str, ...] = ()

    def describe_codes(self) -> str:
        return ", ".join(self.codes)


@dataclass(frozen=True)
class OrderRule:
    """A row-level rule: ``later`` must not be before ``earlier`` when both are given."""

    earlier: str
    later: str


@dataclass(frozen=True)
class Table:
    """One table of the bundle.

    ``key`` names the columns that identify a row. Reference tables with a key are versioned in
    the store: a row whose key is known but whose content changed (a leaver's ``left`` date now
    filled in) is stored as a new version and the newest wins. Access events are immutable: the
    same ``event_id`` with different content is refused. Tables without a key are sets of rows.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    immutable: bool = False
    order_rules: tuple[OrderRule, ...] = ()
    partition_by_month_of: str | None = None
    doc: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


UNIT_KINDS = (
    "response",
    "neighbourhood",
    "cid",
    "intelligence",
    "control_room",
    "custody",
    "public_protection",
    "psd",
    "admin",
    "other",
)
WORKFORCE_ROLES = ("officer", "staff", "special", "volunteer", "contractor")
RELATIONS = ("household", "family", "partner", "ex_partner", "next_of_kin", "declared_association")
SUBJECT_FLAGS = ("vip", "protected", "police_employee", "deceased", "juvenile")
OPERATION_KINDS = (
    "incident",
    "crime",
    "intelligence",
    "custody",
    "warrant",
    "task",
    "court",
    "other",
)
SUBJECT_ROLES = ("victim", "suspect", "witness", "reporter", "associate", "other")
# The six operations of DPA 2018 s.62 / LED Art. 25 come first, in that order.
ACTIONS = (
    "collect",
    "alter",
    "consult",
    "disclose",
    "combine",
    "erase",
    "export",
    "print",
    "search",
)
KNOWN_SYSTEMS = ("PNC", "PND", "RMS", "CAD", "INTEL")


def _id(name: str, required: bool = True) -> Column:
    return Column(name, Kind.ID, required)


def _text(name: str, required: bool = False) -> Column:
    return Column(name, Kind.TEXT, required)


def _code(name: str, codes: tuple[str, ...], required: bool = True) -> Column:
    return Column(name, Kind.CODE, required, codes)


def _date(name: str, required: bool = False) -> Column:
    return Column(name, Kind.DATE, required)


TABLES: tuple[Table, ...] = (
    Table(
        "units",
        (_id("unit_id"), _text("name"), _code("kind", UNIT_KINDS)),
        key=("unit_id",),
        doc="Organisational units: teams, stations, departments.",
    ),
    Table(
        "workforce",
        (
            _id("person_id"),
            _code("role", WORKFORCE_ROLES),
            _text("surname", True),
            _text("forenames", True),
            _date("date_of_birth"),
            _text("home_postcode"),
            _text("home_address"),
            _id("unit_id", required=False),
            _date("joined", True),
            _date("left"),
        ),
        key=("person_id",),
        order_rules=(OrderRule("joined", "left"),),
        doc="Everyone who can log in: officers, staff, specials, volunteers, contractors.",
    ),
    Table(
        "relations",
        (
            _id("person_id"),
            _code("relation", RELATIONS),
            _text("surname", True),
            _text("forenames", True),
            _date("date_of_birth"),
            _text("postcode"),
        ),
        doc="People an employee declared to HR (named, not linked to police records).",
    ),
    Table(
        "subjects",
        (
            _id("subject_id"),
            _text("surname", True),
            _text("forenames", True),
            _date("date_of_birth"),
            _text("postcode"),
            _text("address"),
            Column("flags", Kind.FLAGS, False, SUBJECT_FLAGS),
        ),
        key=("subject_id",),
        doc="People held in police records (nominals).",
    ),
    Table(
        "operations",
        (
            _id("operation_id"),
            _code("kind", OPERATION_KINDS),
            _date("opened", True),
            _date("closed"),
            _id("unit_id", required=False),
        ),
        key=("operation_id",),
        order_rules=(OrderRule("opened", "closed"),),
        doc="Incidents, crimes, intelligence operations, custody records, warrants, tasks.",
    ),
    Table(
        "operation_subjects",
        (
            _id("operation_id"),
            _id("subject_id"),
            _code("role", SUBJECT_ROLES, required=False),
        ),
        doc="Which subjects an operation involves, and how.",
    ),
    Table(
        "assignments",
        (
            _id("operation_id"),
            _id("person_id"),
            Column("start", Kind.TIMESTAMP, True),
            Column("end", Kind.TIMESTAMP),
            _text("role"),
        ),
        key=("operation_id", "person_id", "start"),
        order_rules=(OrderRule("start", "end"),),
        doc="Who was assigned to which operation, and when.",
    ),
    Table(
        "access_events",
        (
            _id("event_id"),
            Column("ts", Kind.TIMESTAMP, True),
            _id("person_id"),
            _code("action", ACTIONS),
            Column("system", Kind.OPEN_CODE, True),
            _id("subject_id", required=False),
            _text("record_ref"),
            _text("query"),
            _text("purpose"),
            _text("operation_ref"),
            _text("recipient"),
            _text("terminal"),
        ),
        key=("event_id",),
        immutable=True,
        partition_by_month_of="ts",
        doc="Every consultation or disclosure of personal data, as the force system logged it.",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

# Reference data goes in before the events that refer to it.
INGEST_ORDER: tuple[str, ...] = tuple(t.name for t in TABLES)
