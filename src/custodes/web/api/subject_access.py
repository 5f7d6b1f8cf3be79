"""``POST /api/subject-access``: the DPO's subject access report as JSON (the DPO only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from custodes.web.guard import GuardedRoute
from custodes.web.subject_access import SubjectAccessIn, generate_report

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["subject access"])


@router.post("/subject-access", responses={403: {}, 404: {}, 409: {}, 422: {}}, response_model=None)
def api_subject_access(request: Request, body: SubjectAccessIn) -> dict[str, Any]:
    """Every access to one subject's records as of a signed checkpoint (format
    `custodes/subject-access/v1`, as `custodes subject report` writes it): employees are named
    only with an `identities_reason`, which the ledger records with the report."""
    return generate_report(request, body).to_dict()
