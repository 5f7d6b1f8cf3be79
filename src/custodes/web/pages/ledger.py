"""``/ledger``: the ledger's size, its last checkpoint and who signed it (every role)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from custodes.web.context import context
from custodes.web.guard import GuardedRoute
from custodes.web.ledger_status import ledger_status
from custodes.web.pages.render import render

router = APIRouter(route_class=GuardedRoute)


@router.get("/ledger", include_in_schema=False)
def ledger_page(request: Request) -> HTMLResponse:
    with context(request).store() as store:
        status = ledger_status(store)
    return render(request, "ledger.html", status=status)
