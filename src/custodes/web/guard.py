"""Enforcement, once, for every route: sign-in, role, CSRF, need-to-know, read auditing.

Each route of the application is a :class:`GuardedRoute`; before FastAPI reads the request's
body or calls the endpoint, the guard looks the route's rule up in :mod:`custodes.web.rules`
and checks, in order: a live session (pages redirect to ``/login``, the API answers 401), the
user's role (403), the CSRF token on anything that changes state (403), and for a case-scoped
route that the user is on the case (404 for no such case, 403 for someone else's). A route with
a ``personal`` rule must record exactly one read in the ledger per successful response; the
guard checks that it did.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from custodes.cases.models import User
from custodes.cases.users import ActiveSession, csrf_matches, find_session
from custodes.web.context import WebContext, context
from custodes.web.errors import WebError, error_response
from custodes.web.rules import Rule, is_api, rule_for

SESSION_COOKIE = "custodes_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Viewer:
    """Who is asking, on which rule; ``reads`` counts the ledger reads this response recorded."""

    user: User
    csrf_token: str
    rule: Rule
    reads: int = 0

    @property
    def role(self) -> str:
        return self.user.role


def viewer(request: Request) -> Viewer:
    """The signed-in user of a guarded request (a dependency for endpoints)."""
    found = getattr(request.state, "viewer", None)
    if not isinstance(found, Viewer):
        raise RuntimeError("viewer() used on a route the guard lets anonymous users into")
    return found


def current_session(request: Request, ctx: WebContext) -> ActiveSession | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    return find_session(ctx.db, token) if token else None


class GuardedRoute(APIRoute):
    """An API route whose handler runs only once the route's rule is satisfied."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        rules = {method: rule_for(method, self.path_format) for method in self.methods or ()}

        async def guarded(request: Request) -> Response:
            rule = rules[request.method if request.method != "HEAD" else "GET"]
            try:
                refused = await _check(request, rule)
            except WebError as error:
                return error_response(request, error)
            if refused is not None:
                return refused
            response = await handler(request)
            return _finish(request, rule, response)

        return guarded


async def _check(request: Request, rule: Rule) -> Response | None:
    # The session and need-to-know lookups query the case database: they run in the thread
    # pool, as the endpoints do, so a slow query or a wait for a pooled connection holds up
    # this request only, never the event loop every other request is waiting on.
    if rule.public:
        return None
    ctx = context(request)
    session = await run_in_threadpool(current_session, request, ctx)
    if session is None:
        return _anonymous(request)
    if not rule.allows(session.user.role):
        raise WebError(403, f"your role ({session.user.role}) may not use {request.url.path}")
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, session.csrf_token):
        raise WebError(
            403,
            "this request did not carry this session's CSRF token: reload the page and try "
            f"again (API clients send the {CSRF_HEADER} header from POST /api/login)",
        )
    request.state.viewer = Viewer(session.user, session.csrf_token, rule)
    if rule.scope is not None:
        parameter = {"case": "case_id", "person": "person_id", "subject": "subject_id"}
        identifier = request.path_params[parameter[rule.scope]]
        await run_in_threadpool(ctx.need_to_know, session.user, rule.scope, identifier)
    return None


def _anonymous(request: Request) -> Response:
    if is_api(request.url.path):
        return JSONResponse(
            {"detail": "sign in first: POST /api/login with your name and password"},
            status_code=401,
            headers={"WWW-Authenticate": 'Cookie realm="custodes"'},
        )
    if request.headers.get("HX-Request") == "true":  # HTMX: the whole page goes to sign-in
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _csrf_ok(request: Request, expected: str) -> bool:
    given = request.headers.get(CSRF_HEADER)
    if given is None and _is_form(request):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    return csrf_matches(expected, given)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _finish(request: Request, rule: Rule, response: Response) -> Response:
    found: Any = getattr(request.state, "viewer", None)
    shown = isinstance(found, Viewer) and rule.personal and 200 <= response.status_code < 300
    if shown and found.reads != 1:
        raise RuntimeError(
            f"{request.method} {request.url.path} showed personal data and recorded "
            f"{found.reads} reads in the ledger; it must record exactly one"
        )
    if not rule.public:
        response.headers["Cache-Control"] = "no-store"
    return response
