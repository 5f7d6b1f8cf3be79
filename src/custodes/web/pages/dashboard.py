"""``/``: the dashboard, for every role (counts only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from custodes.web.chart import bar_chart
from custodes.web.context import context
from custodes.web.dashboard import dashboard
from custodes.web.guard import GuardedRoute
from custodes.web.pages.render import render

router = APIRouter(route_class=GuardedRoute)


@router.get("/", include_in_schema=False)
def home_page(request: Request) -> HTMLResponse:
    figures = dashboard(context(request).db)
    chart = bar_chart(
        [(o.label, o.count) for o in figures.outcomes],
        f"Outcomes recorded in {figures.year}, per person",
        empty=f"No outcomes recorded in {figures.year} yet.",
    )
    return render(request, "dashboard.html", figures=figures, chart=chart)
