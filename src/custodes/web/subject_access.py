"""Subject access for the DPO, on the web: the request, its checks, and the report with its read.

The page and the API both come here. A report is the library's
(:func:`custodes.subject.subject_access_report`), requested by the signed-in DPO by name, and its
generation is the library's ledger event (``subject_access_report``: who asked, for whom, the
report's identifier, whether identities were included and why). Since the answer shows personal
data, it also records the one ``investigator_read`` that every such answer records (see
``docs/web.md``): the read is what ties the view to the web session's user and role, and it
names the employees shown, which the report's event does not.

The mistakes a DPO can make get their own answers before the (seconds long) report is computed:
an identifier that cannot be one (422), an empty reason to include identities (422), a store with
no checkpoint yet (409) and a subject the store does not know (404).
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from custodes.subject import SubjectAccessReport, subject_access_report
from custodes.web.context import context
from custodes.web.errors import WebError
from custodes.web.guard import viewer
from custodes.web.reads import record_view

MAX_REASON = 2000


class SubjectAccessIn(BaseModel):
    """A subject access request: whose records, and optionally why the employees who looked
    must be named (recorded in the ledger); ``as_of`` regenerates a report as of that ledger
    size (by default: the newest checkpoint)."""

    model_config = ConfigDict(extra="forbid")

    subject_id: str = Field(min_length=1, max_length=64)
    identities_reason: str | None = Field(default=None, max_length=MAX_REASON)
    as_of: int | None = Field(default=None, ge=1)


def generate_report(request: Request, ask: SubjectAccessIn) -> SubjectAccessReport:
    """The report for ``ask``, requested by the signed-in user; its generation and this view
    are both in the ledger before it is returned."""
    subject_id = _checked_subject(ask.subject_id)
    reason = ask.identities_reason
    if reason is not None and not reason.strip():
        raise WebError(
            422,
            "the reason to include the employees' identities is empty: say why they are "
            "essential to the subject, or leave identities out (units only)",
        )
    ctx = context(request)
    with ctx.store() as store:
        if not store.catalog.checkpoints():
            raise WebError(
                409,
                "no checkpoint has been issued yet, and a report is computed at a signed "
                "checkpoint: ask the log's operator to run `custodes ledger checkpoint`",
            )
        known = store.query(
            "SELECT 1 FROM subjects WHERE subject_id = ? "
            "UNION ALL SELECT 1 FROM access_events WHERE subject_id = ? LIMIT 1",
            [subject_id, subject_id],
        )
    if not known:
        raise WebError(
            404, f"no subject {subject_id!r} is known to this store: check the identifier"
        )
    report = subject_access_report(
        ctx.home,
        subject_id,
        requested_by=viewer(request).user.name,
        identities_reason=reason.strip() if reason is not None else None,
        as_of=ask.as_of,
    )
    record_view(
        request,
        "subject access report",
        subjects=[subject_id],
        people=[a.employee["person_id"] for a in report.accesses if a.employee],
        items=[report.report_id],
    )
    return report


def _checked_subject(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 64 or any(c.isspace() or not c.isprintable() for c in value):
        raise WebError(
            422, "subject_id: give the subject's identifier (1 to 64 characters, no spaces)"
        )
    return value
