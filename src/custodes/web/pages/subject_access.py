"""``/subject-access``: the DPO answers a subject access request (the DPO only).

The form asks for the subject and, only if the box is ticked, the reason the employees' identities
must be included. Posting it generates the report and shows it; its downloads (PDF, JSON) post
the same request again with the report's ledger size, so what is downloaded is the report shown
(the same identifier), and each download is recorded like the first view.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from custodes.errors import CustodesError
from custodes.web.errors import WebError, status_for, validation_message
from custodes.web.guard import CSRF_FIELD, GuardedRoute
from custodes.web.pages.render import render
from custodes.web.subject_access import MAX_REASON, SubjectAccessIn, generate_report

router = APIRouter(route_class=GuardedRoute)
FORMATS = ("html", "pdf", "json")


@router.get("/subject-access", include_in_schema=False)
def subject_access_form(request: Request, subject_id: str = "") -> HTMLResponse:
    return _page(request, {"subject_id": subject_id[:64]})


async def posted_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields, without the CSRF token (the guard has checked it)."""
    form = await request.form()
    return {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}


@router.post("/subject-access", include_in_schema=False)
def subject_access(
    request: Request, fields: Annotated[dict[str, str], Depends(posted_fields)]
) -> Response:
    # A plain function, so FastAPI runs it in a worker thread: a report takes seconds to
    # compute (and a PDF as long again), and must not hold up other requests meanwhile.
    try:
        fmt, ask = _request(fields)
        report = generate_report(request, ask)
    except WebError as error:
        return _page(request, fields, error.message, error.status)
    except CustodesError as error:
        return _page(request, fields, str(error).splitlines()[0], status_for(error))
    if fmt == "html":
        return _page(request, fields, report=report.to_dict())
    from custodes.subject.render import to_json, to_pdf

    if fmt == "pdf":
        content, media = to_pdf(report), "application/pdf"
    else:
        content, media = to_json(report).encode(), "application/json"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{report.report_id}.{fmt}"'},
    )


def _request(fields: dict[str, str]) -> tuple[str, SubjectAccessIn]:
    """The format asked for and the request, from the form: the reason counts only with the
    box ticked, and a reason typed with the box unticked is a question, not a choice."""
    fmt = fields.get("format", "html")
    if fmt not in FORMATS:
        raise WebError(422, f"format: choose one of {', '.join(FORMATS)}, not {fmt[:20]!r}")
    include = fields.get("include_identities") == "yes"
    reason = fields.get("identities_reason", "")
    if not include and reason.strip():
        raise WebError(
            422,
            "a reason to include the employees' identities was given but the box is not "
            "ticked: tick it to include them, or clear the reason",
        )
    try:
        ask = SubjectAccessIn.model_validate(
            {
                "subject_id": fields.get("subject_id", ""),
                "identities_reason": reason if include else None,
                "as_of": fields.get("as_of", "").strip() or None,
            }
        )
    except ValidationError as error:
        raise WebError(422, validation_message(list(error.errors()))) from None
    return fmt, ask


def _page(
    request: Request,
    fields: dict[str, str],
    error: str | None = None,
    status: int = 200,
    report: dict[str, Any] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "subject_access.html",
        status_code=status,
        fields=fields,
        error=error,
        report=report,
        max_reason=MAX_REASON,
    )
