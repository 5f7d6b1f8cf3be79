"""The web application: ``create_app(home)`` gives a FastAPI app over a store and its cases.

Pages (server-rendered, HTMX for triage) and a JSON API under ``/api/`` share the library calls,
the guard (:mod:`custodes.web.guard`) and the route table (:mod:`custodes.web.rules`). Nothing is
loaded from the internet: HTMX, the stylesheet and a few lines of script are served from the
package, and charts are SVG rendered on the server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount, Route

import custodes
from custodes.cases.access import pseudonym_key
from custodes.cases.db import open_cases
from custodes.errors import CustodesError
from custodes.web.context import WebContext
from custodes.web.errors import (
    WebError,
    on_custodes_error,
    on_http_error,
    on_validation_error,
    on_web_error,
)
from custodes.web.rules import rule_for
from custodes.web.security import MAX_BODY, SecurityMiddleware

API_DESCRIPTION = """The same operations as the pages, as JSON. Sign in with `POST /api/login`
(the answer sets the session cookie and gives a `csrf_token`); send that token in the
`X-CSRF-Token` header on every POST. Reads of personal data are recorded in the ledger with
your name, as they are in the browser."""


REQUEST_THREADS = 40
"""The threads that run the application's routes at once (Starlette's pool, AnyIO's default):
the case database keeps as many connections open, so no request waits for one."""


def create_app(home: Path, db_url: str | None = None, *, max_body: int = MAX_BODY) -> FastAPI:
    """The application for the store under ``home`` and its case database (SQLite under
    HOME by default, or ``db_url``)."""
    if not (home / "catalog.sqlite").exists():
        raise CustodesError(f"{home}: no store here: run `custodes ingest BUNDLE --home {home}`")
    db = open_cases(home, db_url, connections=REQUEST_THREADS)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(
        title="Custodes",
        version=custodes.__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs load scripts from the internet
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.custodes = WebContext(home, db, pseudonym_key(home))
    app.add_middleware(SecurityMiddleware, max_body=max_body)
    app.add_exception_handler(WebError, on_web_error)
    app.add_exception_handler(CustodesError, on_custodes_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.mount("/static", StaticFiles(packages=[("custodes.web", "static")]), name="static")
    for router in _routers():
        app.include_router(router)
    for method, path in served_routes(app):  # refuse to serve a route nobody wrote a rule for
        rule_for(method, path)
    return app


SERVED_HOME = "CUSTODES_SERVE_HOME"
SERVED_DB = "CUSTODES_SERVE_DB"


SWITCH_INTERVAL = 0.001
"""How long (s) a server thread may hold the GIL while another waits for it (Python's default
is 5 ms). A request thread coming back from the case database, DuckDB or a disk sync needs the
GIL again, and waits up to this long behind a thread rendering a page; a case page makes about
twenty such calls. Measured beside a busy Python thread, a DuckDB lookup of ten cited events took
25.8 ms with the default and 13.7 ms with 1 ms (7.5 ms alone)."""


def tune_for_serving() -> None:
    """Settings of a server process, set once before it serves (see :data:`SWITCH_INTERVAL`)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def app_from_environment() -> FastAPI:
    """The application of one of several server processes (``custodes serve --workers N``):
    uvicorn starts each worker by importing a factory, so the HOME and the case database's URL
    come from the environment the parent set."""
    tune_for_serving()
    return create_app(Path(os.environ[SERVED_HOME]), os.environ.get(SERVED_DB) or None)


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the application answers, static files apart (FastAPI
    keeps included routers as branches: they are walked)."""

    def walk(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, str]]:
        for route in routes:
            included = getattr(route, "original_router", None)
            if isinstance(included, APIRouter):
                yield from walk(included.routes)
            elif isinstance(route, APIRoute | Route):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        yield method, route.path
            elif not (isinstance(route, Mount) and route.path == "/static"):
                raise LookupError(f"{route!r} is neither a route nor the static files")

    return list(walk(app.routes))


def sync_at_start(home: Path, db_url: str | None = None) -> str:
    """Copy detection's latest alerts into the case database before serving (``custodes
    serve`` does it); says what changed, or that there are no alerts yet."""
    from custodes.cases.sync import sync_alerts
    from custodes.detect.run import ALERTS

    if not (home / ALERTS).exists():
        return f"no alerts yet: run `custodes detect --home {home}` (then restart to sync)"
    db = open_cases(home, db_url)
    try:
        report = sync_alerts(db, home, by="custodes serve")
    finally:
        db.close()
    return (
        f"alerts synced: {report.inserted} new, {report.refreshed} refreshed, "
        f"{report.kept} already triaged ({report.alerts} raised by detection)"
    )


def _routers() -> list[APIRouter]:
    from custodes.web.api import alerts as api_alerts
    from custodes.web.api import cases as api_cases
    from custodes.web.api import general as api_general
    from custodes.web.api import subject_access as api_subject_access
    from custodes.web.pages import alerts, cases, dashboard, history, ledger, login, subject_access

    return [
        login.router,
        dashboard.router,
        alerts.router,
        cases.router,
        history.router,
        ledger.router,
        api_general.router,
        api_alerts.router,
        api_cases.router,
        subject_access.router,
        api_subject_access.router,
    ]
