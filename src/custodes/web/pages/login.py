"""Signing in and out, in the browser.

The sign-in form is protected against login CSRF (a hostile page signing the victim in as the
attacker) by a double-submit token: a random value in a cookie scoped to ``/login`` that the form
must repeat. A successful sign-in always starts a new session (no fixation); signing out deletes
the session on the server, not only the cookie.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from custodes.cases.users import (
    SESSION_LIFETIME,
    SignedIn,
    SignInFailed,
    authenticate,
    csrf_matches,
    end_session,
    start_session,
)
from custodes.web.context import context
from custodes.web.errors import WebError
from custodes.web.guard import SESSION_COOKIE, GuardedRoute, current_session
from custodes.web.pages.render import render

router = APIRouter(route_class=GuardedRoute)
LOGIN_CSRF_COOKIE = "custodes_login_csrf"


def safe_next(target: str) -> str:
    """Only a path on this site (``/cases/3``), never ``//evil.example`` or a full URL."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return "/"


def set_session_cookie(request: Request, response: Response, signed_in: SignedIn) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    if current_session(request, context(request)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, next=safe_next(next))


def _form(
    request: Request, *, next: str = "/", name: str = "", message: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status,
        login_csrf=token,
        next=next,
        name=name,
        message=message,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise WebError(403, "the sign-in form has expired: reload /login and sign in again")
    ctx = context(request)
    try:
        user = authenticate(ctx.db, name, password)
    except SignInFailed as failed:
        return _form(request, next=safe_next(next), name=name, message=str(failed), status=401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(ctx.db, old)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, start_session(ctx.db, user))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(context(request).db, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
