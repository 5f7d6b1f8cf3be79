"""Who may see and do what in case work: the role policy, in one place, as data.

Two rules, which no role overrides:

* **Need-to-know.** A case can be opened only by its owner, its reviewer and its members (the
  access list). An admin, the DPO or an overseer who is not on a case cannot open it; a case is
  shared by adding someone to it, which is itself a recorded step.
* **Pseudonyms until escalation.** The alert queue shows employees and subjects as keyed
  pseudonyms (``EMP-…``, ``SUBJ-…``): triage is about the pattern, not the person. Names (the
  force's identifiers) are shown to the roles in :data:`SEES_NAMES_IN_QUEUE`, and, once an alert
  is part of a case, to the people on that case.

Why those roles see names: a *reviewer* (a senior PSD officer) decides whether a pattern is
worth a case and must be able to spot a conflict of interest; the *DPO* answers subject access
requests from the queue. An *investigator* triages on evidence, not on who it is; an *overseer*
checks that the process is followed, which needs no names; an *admin* runs the service.

The pseudonym is an HMAC-SHA256 of the identifier under a random key kept in
``HOME/cases.secret`` (mode 0600, created on first use): stable, so one employee's alerts group
together, but not reversible without the key, and different from one force to the next.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from custodes.cases.errors import Forbidden
from custodes.cases.models import Case, User
from custodes.errors import CustodesError

# what each role may do -------------------------------------------------------------------------

TRIAGE: Final = "triage"  # explain, dismiss, escalate and merge alerts
WORK_CASES: Final = "work_cases"  # change a case one is on (anyone on it may read and add notes)
OPEN_CASES: Final = "open_cases"  # open a case and own one
SIGN_OFF: Final = "sign_off"  # be a case's reviewer, who signs off its closure
JOIN_CASES: Final = "join_cases"  # be added to a case's access list
VIEW_QUEUE: Final = "view_queue"  # see the alert queue (pseudonymised unless SEE_NAMES)
SEE_NAMES: Final = "see_names"  # see employees' and subjects' identifiers in the queue

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "investigator": frozenset({VIEW_QUEUE, TRIAGE, WORK_CASES, OPEN_CASES, JOIN_CASES}),
    "reviewer": frozenset(
        {VIEW_QUEUE, TRIAGE, WORK_CASES, OPEN_CASES, JOIN_CASES, SIGN_OFF, SEE_NAMES}
    ),
    "dpo": frozenset({VIEW_QUEUE, JOIN_CASES, SEE_NAMES}),
    "overseer": frozenset({VIEW_QUEUE}),
    "admin": frozenset({VIEW_QUEUE}),
}
"""Permissions by user role (``taxonomy.USER_ROLES``). Opening a *case* is not a permission of
any role: it needs a place on the case (owner, reviewer or member)."""

SEES_NAMES_IN_QUEUE: Final = frozenset(r for r, p in ROLE_PERMISSIONS.items() if SEE_NAMES in p)

DOING: Final = {
    TRIAGE: "triage alerts",
    WORK_CASES: "change cases (only read them and add notes)",
    OPEN_CASES: "open or own cases",
    SIGN_OFF: "review and sign off cases",
    JOIN_CASES: "be added to cases",
    VIEW_QUEUE: "see the alert queue",
    SEE_NAMES: "see names in the alert queue",
}


def may(user: User, permission: str) -> bool:
    """Whether the user's role carries ``permission`` (an inactive user may do nothing)."""
    return user.active is not False and permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def require(user: User, permission: str) -> None:
    """Refuse with :class:`Forbidden` unless the user's role carries ``permission``."""
    if not may(user, permission):
        raise Forbidden(f"{user.name} ({user.role}) may not {DOING[permission]}")


# need-to-know ----------------------------------------------------------------------------------


def on_case(user: User, case: Case, member_ids: set[int] | None = None) -> bool:
    """Whether the user is on the case: its owner, its reviewer or a member. Nothing else
    counts, whatever the role."""
    if user.active is False:
        return False
    if user.id in (case.owner_id, case.reviewer_id):
        return True
    members = member_ids if member_ids is not None else {m.user_id for m in case.members}
    return user.id in members


def require_on_case(user: User, case: Case, member_ids: set[int] | None = None) -> None:
    """Refuse unless the user is on the case (:func:`on_case`; ``member_ids`` if the caller has
    already read them)."""
    if not on_case(user, case, member_ids):
        raise Forbidden(
            f"{user.name} is not on case {case.reference}: ask its owner to add you (need-to-know)"
        )


def sees_names(user: User) -> bool:
    """Whether the user sees identifiers (not pseudonyms) in the alert queue before an alert
    is part of a case they are on."""
    return may(user, SEE_NAMES)


# pseudonyms ------------------------------------------------------------------------------------

PSEUDONYM_PREFIX: Final = {"employee": "EMP", "subject": "SUBJ"}
PSEUDONYM_HEX: Final = 12  # 48 bits: a collision among a million subjects is ~0.2% likely
SECRET_FILE: Final = "cases.secret"
KEY_BYTES: Final = 32


def pseudonym(kind: str, identifier: str, key: bytes) -> str:
    """A stable pseudonym for an employee's ``person_id`` or a subject's ``subject_id``:
    ``EMP-…`` or ``SUBJ-…`` and 12 hex digits of HMAC-SHA256(key, kind NUL identifier)."""
    prefix = PSEUDONYM_PREFIX.get(kind)
    if prefix is None:
        raise ValueError(f"unknown pseudonym kind {kind!r}: employee or subject")
    message = f"{kind}\x00{identifier}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:PSEUDONYM_HEX]}"


def pseudonym_key(home: Path) -> bytes:
    """The force's pseudonym key, ``HOME/cases.secret``: created once (32 random bytes, mode
    0600, atomically even if two processes start at once), then read."""
    path = home / SECRET_FILE
    if not path.exists():
        _create_key(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CustodesError(f"{path} is readable by others: run `chmod 600 {path}`")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise CustodesError(
            f"{path} is not a pseudonym key ({len(key)} bytes, not {KEY_BYTES}): restore it "
            "from a backup (a new key changes every pseudonym)"
        )
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first: theirs wins
            os.link(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


SIGNALS_SHOWN_UNDER_PSEUDONYMS: Final = frozenset(
    {
        "self_lookup",  # how the record was linked (match weight, fields that agree)
        "family_lookup",  # the kind of relation and the match weight
        "ex_partner_lookup",
        "neighbour_lookup",  # "at their address", "in their postcode unit"
        "conflict_of_interest",
        "repeated_interest",  # a number of days
        "sensitive_subject",  # "a VIP", "a protected person"
        "bulk_browsing",  # a number of records
        "leaver_access",  # the leaving date
        "unknown_account",
        "off_pattern",  # usual working hours
    }
)
"""Detection rules whose signal (the alert's ``detail``) names nobody, so it is shown beside
pseudonyms. Any other rule's signal is withheld until names are shown: ``colleague_lookup``
names another employee, ``name_fishing`` shows the names searched for, ``unknown_recipient``
the recipient. A new rule's signal is withheld until it is listed here."""
