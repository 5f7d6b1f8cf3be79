"""Recording what a viewer saw: one ledger event per response that shows personal data.

Pages and API endpoints call :func:`record_view` once, after they have gathered what they will
show and before they answer (log before serve: if the ledger cannot record the read, the
viewer sees an error, not the data). The guard checks that a route marked ``personal`` in the
route table recorded exactly one read. Reads of concurrent requests share ledger appends
(:mod:`custodes.web.read_ledger`), each still with its own leaf.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import Request

from custodes.cases.audit import read_fields
from custodes.web.context import context
from custodes.web.guard import viewer
from custodes.web.read_ledger import read_ledger

if TYPE_CHECKING:
    from custodes.cases.evidence import EvidencePack


def record_view(
    request: Request,
    what: str,
    *,
    case: str | None = None,
    people: Sequence[str] = (),
    subjects: Sequence[str] = (),
    items: Sequence[str] = (),
) -> None:
    """Record that the signed-in user saw ``what`` (a page or an API answer), for ``case``
    (a reference) if any, naming the employees, subjects and items (alerts, events) shown."""
    seen = viewer(request)
    fields = read_fields(seen.user, what, case=case, people=people, subjects=subjects, items=items)
    read_ledger(context(request).home).record(fields)
    seen.reads += 1


def build_pack(request: Request, case_id: int, what: str) -> EvidencePack:
    """A case's evidence pack for the signed-in user (on the case), its read recorded."""
    from custodes.cases.evidence import build_evidence_pack

    pack = build_evidence_pack(context(request).db, viewer(request).user, case_id)
    record_view(
        request,
        what,
        case=pack.reference,
        people=pack.people,
        subjects=pack.subjects,
        items=pack.event_ids,
    )
    return pack
