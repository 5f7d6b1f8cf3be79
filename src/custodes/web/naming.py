"""Names or pseudonyms: how one viewer sees the employees and subjects around what they opened.

The rule is :mod:`custodes.cases.access`'s: roles that see names see identifiers everywhere;
everyone else sees keyed pseudonyms (``EMP-…``, ``SUBJ-…``) except in what belongs to a case
they are on. The case library applies it to alerts; this applies it to what the web shows
beside them (an alert's events, an employee's accesses, a subject's accessors). Sentences from
explanation ("P155909 has no assignment involving S0000880") name identifiers too, so
:meth:`Namer.text` replaces every word that is a stored employee's or subject's identifier
(looked up in the store in one query) and hides the values of search criteria (``surname=…``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from custodes.cases.access import pseudonym, sees_names
from custodes.cases.db import CaseDb
from custodes.cases.models import Case, CaseMember, User
from custodes.store.store import Store

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*[A-Za-z0-9]|[A-Za-z0-9]")
CRITERION = re.compile(r"\b(surname|forenames?|dob|date_of_birth|postcode|address|name)=[^;\s,)]+")


def my_case_ids(db: CaseDb, user: User) -> set[int]:
    """The cases the user is on (owner, reviewer, member)."""
    with db.session() as session:
        members = select(CaseMember.case_id).where(CaseMember.user_id == user.id)
        return set(
            session.scalars(
                select(Case.id).where(
                    or_(Case.owner_id == user.id, Case.reviewer_id == user.id, Case.id.in_(members))
                )
            )
        )


@dataclass
class Namer:
    user: User
    key: bytes
    cases: set[int]
    allowed: set[str] = field(default_factory=set)  # shown as they are on this page
    known: dict[str, str] = field(default_factory=dict)  # identifier -> employee | subject

    def reveals(self, case_id: int | None) -> bool:
        """Whether identifiers are shown in something that belongs to ``case_id`` (or none)."""
        return sees_names(self.user) or (case_id is not None and case_id in self.cases)

    def employee(self, person_id: str, named: bool = False) -> str:
        if named or sees_names(self.user) or person_id in self.allowed:
            return person_id
        return pseudonym("employee", person_id, self.key)

    def subject(self, subject_id: str | None, named: bool = False) -> str | None:
        if subject_id is None or named or sees_names(self.user) or subject_id in self.allowed:
            return subject_id
        return pseudonym("subject", subject_id, self.key)

    def learn(self, store: Store, texts: Iterable[str | None]) -> None:
        """Find which words of ``texts`` are employees' or subjects' identifiers (one query
        for all of them), so :meth:`text` can hide them."""
        if sees_names(self.user):
            return
        words = {w for t in texts if t for w in WORD.findall(t)} - set(self.known)
        if not words:
            return
        listed = sorted(words)
        for (value,) in store.query(
            "SELECT DISTINCT person_id FROM workforce WHERE list_contains(?, person_id)",
            [listed],
        ):
            self.known[str(value)] = "employee"
        for (value,) in store.query(
            "SELECT DISTINCT subject_id FROM subjects WHERE list_contains(?, subject_id)",
            [listed],
        ):
            self.known.setdefault(str(value), "subject")

    def text(
        self, sentence: str | None, named: bool = False, extra: dict[str, str] | None = None
    ) -> str:
        """``sentence`` with every known identifier (and ``extra``: identifier -> kind, for
        accounts not in the workforce) replaced by its pseudonym, unless ``named``."""
        if not sentence or named or sees_names(self.user):
            return sentence or ""
        kinds = {**self.known, **(extra or {})}

        def swap(match: re.Match[str]) -> str:
            word = match.group(0)
            kind = kinds.get(word)
            if kind is None or word in self.allowed:
                return word
            return pseudonym(kind, word, self.key)

        return CRITERION.sub(r"\1=…", WORD.sub(swap, sentence))
