"""Server-rendered HTML: one Jinja2 environment (autoescaped), one base layout, partials ``_*``.

Pages get the signed-in user, the CSRF token (for forms, and for HTMX through ``hx-headers`` on
the body) and the navigation their role allows, from the same route table that enforces it.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from custodes.cases.taxonomy import BREACH_LABELS, OUTCOMES
from custodes.web.rules import rule_for

NAVIGATION = (
    ("/", "Dashboard"),
    ("/alerts", "Alerts"),
    ("/cases", "Cases"),
    ("/ledger", "Ledger"),
    ("/subject-access", "Subject access"),
)
OUTCOME_LABELS = {o.code: o.label for o in OUTCOMES}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("custodes.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["outcome_label"] = lambda code: OUTCOME_LABELS.get(code, code)
    env.filters["breach_label"] = lambda code: BREACH_LABELS.get(code, code)
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def when(moment: datetime | str | None) -> str:
    """A timestamp as people read it: ``2026-01-05 09:14 UTC``."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        return moment.replace("T", " ")[:16] + " UTC"
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def day(moment: date | datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d")


def navigation(role: str) -> list[tuple[str, str]]:
    return [(path, label) for path, label in NAVIGATION if rule_for("GET", path).allows(role)]


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    from custodes.web.guard import Viewer

    found = getattr(request.state, "viewer", None)
    page: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "user": None,
        "csrf_token": "",
        "nav": [],
    }
    if isinstance(found, Viewer):
        page.update(user=found.user, csrf_token=found.csrf_token, nav=navigation(found.role))
    page.update(values)
    html = environment().get_template(template).render(page)
    return HTMLResponse(html, status_code=status_code)


def render_error(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=title, message=message)
