"""Explanation templates, held as data.

An explanation is a path through the force's own data from the accessed subject to the person
who accessed it. Each template below names a path, the conditions on it (time windows, the kind
of unit or operation) and the sentence that states it. They are listed, counted and reported;
changing what counts as explained means changing this table, not code.

Templates are tried together; when several explain an event, the lowest ``rank`` (the most
direct evidence) is kept. An event none explains is ``unexplained``: neutral, not an accusation.

Every template requires that the person was employed at the time (a known ``person_id``,
``joined <= day <= left``), and a disclosure or export explains only when its recipient is a
known partner (:data:`KNOWN_RECIPIENTS`): a purpose text or a named operation proves nothing by
itself, because misusers write them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Path(StrEnum):
    """How a template connects the subject to the person (one query builder each)."""

    NAMED_OPERATION = "named_operation"  # event.operation_ref -> operation <- subject, person
    ASSIGNMENT = "assignment"  # subject -> operation_subjects -> operation -> assignments -> person
    UNIT = "unit"  # subject -> operation -> owning unit = the person's unit
    COLLEAGUE = "colleague"  # subject -> operation -> assignments -> colleague in the same unit
    FRESH_INCIDENT = "fresh_incident"  # subject -> incident opened that day or the day before
    TARGET = "target"  # subject -> open warrant or intelligence operation (briefing)


@dataclass(frozen=True)
class Template:
    name: str
    rank: int
    path: Path
    route: str  # the path, in the data's own words
    says: str  # the explanation as a sentence; {operation_id} and {role} are filled in
    before: timedelta = timedelta(0)  # how long before the window opens an access still counts
    after: timedelta = timedelta(0)  # how long after it closes
    unit_kinds: tuple[str, ...] = ()  # only for people in units of these kinds (empty: any)
    operation_kinds: tuple[str, ...] = ()  # only for operations of these kinds (empty: any)
    recent: timedelta | None = None  # the operation was opened at most this long before
    # For unit paths: the operation's unit need only be of the person's unit's kind (a control
    # room's watches share its calls), not the person's own unit.
    same_unit_kind: bool = False
    # Circumstantial: the path is plausible rather than recorded (no assignment of this person
    # at this time: unit-level work, or work around a recorded assignment). It counts only when
    # the person came back to the operation that day, and never for a vague name search (a
    # surname, or surname and initial).
    circumstantial: bool = False
    # The person must come back to the operation that day (looks 15 minutes apart or more), not
    # just look twice: for paths around someone else's or an ended assignment.
    comes_back: bool = False
    # Weak only: never explains an event, only records that a plausible reason exists (which
    # keeps relationship rules quiet about, say, a neighbour in tonight's incident).
    weak_only: bool = False
    # The explanation as the data subject reads it (a subject access report): the purpose in
    # general words, naming no operation, no other person and nothing covert;
    # {operation} is filled from OPERATION_WORDS.
    for_subject: str = ""

    def describe(self) -> str:
        return f"{self.name}: {self.route}"


TEMPLATES: tuple[Template, ...] = (
    Template(
        "named_operation",
        1,
        Path.NAMED_OPERATION,
        "event.operation_ref -> operations <- operation_subjects(subject); assignments(person) "
        "or the person's unit owns it",
        "named {operation_id}, which involves the subject ({role}) and which they work",
        before=timedelta(hours=1),
        after=timedelta(days=7),
        for_subject="work on {operation} involving you, recorded in the access itself",
    ),
    Template(
        "assigned",
        2,
        Path.ASSIGNMENT,
        "subject -> operation_subjects -> operations -> assignments -> person, during the "
        "assignment",
        "assigned to {operation_id}, which involves the subject ({role})",
        before=timedelta(hours=1),
        after=timedelta(hours=1),
        for_subject="assigned to {operation} involving you",
    ),
    Template(
        "unit_work",
        3,
        Path.UNIT,
        "subject -> operation_subjects -> operations -> unit = the person's unit "
        "(intelligence), while the operation is open",
        "{operation_id} involving the subject ({role}) is their unit's work",
        before=timedelta(hours=1),
        after=timedelta(days=1),
        unit_kinds=("intelligence",),
        circumstantial=True,
        for_subject="the work of the unit responsible for {operation} involving you",
    ),
    Template(
        "custody_record",
        3,
        Path.UNIT,
        "subject -> operation_subjects -> custody record of a custody unit -> the person works "
        "in custody (any suite or watch), while the record is open",
        "custody record {operation_id} of the subject ({role})",
        before=timedelta(hours=1),
        after=timedelta(days=1),
        unit_kinds=("custody",),
        operation_kinds=("custody",),
        same_unit_kind=True,
        circumstantial=True,
        for_subject="custody staff dealing with {operation} involving you",
    ),
    Template(
        "control_room_call",
        3,
        Path.UNIT,
        "subject -> operation_subjects -> operations owned by the control room -> the person "
        "works in the control room (any watch), while the operation is open",
        "{operation_id} involving the subject ({role}) is a control room call",
        before=timedelta(hours=1),
        after=timedelta(days=1),
        unit_kinds=("control_room",),
        same_unit_kind=True,
        circumstantial=True,
        for_subject="the control room handling {operation} involving you",
    ),
    Template(
        "assignment_follow_up",
        4,
        Path.ASSIGNMENT,
        "subject -> operation_subjects -> operations -> assignments -> person, within a week "
        "after the assignment ended",
        "follow-up on {operation_id} (the subject: {role}) after their assignment ended",
        before=timedelta(hours=1),
        after=timedelta(days=7),
        comes_back=True,
        circumstantial=True,
        for_subject="follow-up after being assigned to {operation} involving you",
    ),
    Template(
        "colleague_case",
        5,
        Path.COLLEAGUE,
        "subject -> operation_subjects -> crime -> assignments -> a colleague in the person's "
        "unit, during that assignment",
        "covering {operation_id} (the subject: {role}) for a colleague in their unit",
        before=timedelta(hours=1),
        after=timedelta(days=1),
        operation_kinds=("crime",),
        comes_back=True,
        circumstantial=True,
        for_subject="work with a colleague assigned to {operation} involving you",
    ),
    Template(
        "fresh_incident",
        6,
        Path.FRESH_INCIDENT,
        "subject -> operation_subjects -> incident opened that day or the day before, while "
        "officers are recorded attending it, and the person is in a front-line unit",
        "attending incident {operation_id} (the subject: {role}), not recorded as assigned",
        before=timedelta(hours=1),
        after=timedelta(hours=1),
        unit_kinds=("response", "neighbourhood", "other"),
        operation_kinds=("incident",),
        recent=timedelta(days=1),
        comes_back=True,
        circumstantial=True,
        for_subject="attending {operation} involving you",
    ),
    Template(
        "recent_incident",
        8,
        Path.TARGET,
        "subject -> operation_subjects -> incident opened that day or the day before, and the "
        "person is in a front-line unit (no attendance recorded by anyone)",
        "{operation_id}, a recent incident involving the subject ({role})",
        unit_kinds=("response", "neighbourhood", "other"),
        operation_kinds=("incident",),
        recent=timedelta(days=1),
        circumstantial=True,
        weak_only=True,
        for_subject="attending {operation} involving you",
    ),
    Template(
        "briefing",
        7,
        Path.TARGET,
        "subject -> operation_subjects -> warrant or intelligence operation opened in the "
        "last sixteen days, and the person is in a response unit",
        "briefing on {operation_id}, where the subject is a {role}",
        unit_kinds=("response",),
        operation_kinds=("warrant", "intelligence"),
        recent=timedelta(days=16),
        comes_back=True,
        circumstantial=True,
        for_subject="a briefing on {operation}",
    ),
)

UNEXPLAINED = "unexplained"
UNEXPLAINED_FOR_SUBJECT = "not explained by the force's records"

# An operation as a data subject reads it. Intelligence work and warrants are not named as such:
# telling someone they are the subject of either could prejudice it.
OPERATION_WORDS: dict[str, str] = {
    "incident": "an incident",
    "crime": "a crime investigation",
    "intelligence": "a police operation",
    "custody": "a custody record",
    "warrant": "a police operation",
    "task": "a police task",
    "court": "court proceedings",
    "other": "a police matter",
}


def for_subject(template_name: str, operation_kind: str | None) -> str:
    """The purpose of an access as its data subject reads it."""
    if template_name == UNEXPLAINED:
        return UNEXPLAINED_FOR_SUBJECT
    words = OPERATION_WORDS.get(operation_kind or "other", OPERATION_WORDS["other"])
    return by_name(template_name).for_subject.format(operation=words)


# Partners a force discloses to in the ordinary course of business. A disclosure or export to
# anyone else (a personal e-mail address, a messaging number) is never explained by a template.
KNOWN_RECIPIENTS: tuple[str, ...] = (
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
    "Youth Offending Team",
    "Border Force",
    "National Crime Agency",
    "Coroner",
    "Independent Office for Police Conduct",
    "Information Commissioner's Office",
)
DISCLOSING_ACTIONS = ("disclose", "export")


def by_name(name: str) -> Template:
    for template in TEMPLATES:
        if template.name == name:
            return template
    raise KeyError(name)
