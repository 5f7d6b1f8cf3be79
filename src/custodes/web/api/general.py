"""``/api/login``, ``/api/logout``, ``/api/me``, ``/api/dashboard``, ``/api/ledger`` and the
employee and subject histories."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from custodes.cases.users import SignInFailed, authenticate, end_session, start_session
from custodes.web.context import context
from custodes.web.dashboard import Dashboard, dashboard
from custodes.web.errors import WebError
from custodes.web.guard import SESSION_COOKIE, GuardedRoute, viewer
from custodes.web.history import PersonHistory, SubjectHistory
from custodes.web.ledger_status import LedgerStatus, ledger_status
from custodes.web.pages.history import load_person, load_subject
from custodes.web.pages.login import set_session_cookie
from custodes.web.schemas import LoginIn, SessionOut, UserOut

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["general"])


@router.post("/login", response_model=SessionOut, responses={401: {}, 422: {}})
def api_login(request: Request, response: Response, body: LoginIn) -> SessionOut:
    """Sign in: sets the session cookie and returns the CSRF token for the X-CSRF-Token header.
    Needs a JSON body (a cross-site form cannot send one)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise WebError(415, "send the name and password as JSON (Content-Type: application/json)")
    ctx = context(request)
    try:
        user = authenticate(ctx.db, body.name, body.password)
    except SignInFailed as failed:
        raise WebError(401, str(failed)) from None
    signed_in = start_session(ctx.db, user)
    set_session_cookie(request, response, signed_in)
    return SessionOut(
        user=UserOut(name=user.name, role=user.role),
        csrf_token=signed_in.csrf_token,
        expires_at=signed_in.expires_at,
    )


@router.post("/logout", status_code=204)
def api_logout(request: Request, response: Response) -> None:
    """Sign out: the session ends on the server."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(context(request).db, token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=UserOut)
def api_me(request: Request) -> UserOut:
    """Who is signed in."""
    user = viewer(request).user
    return UserOut(name=user.name, role=user.role)


@router.get("/dashboard", response_model=Dashboard)
def api_dashboard(request: Request) -> Dashboard:
    """Queue size and ageing, cases by status, this year's outcomes (counts only)."""
    return dashboard(context(request).db)


@router.get("/ledger", response_model=LedgerStatus)
def api_ledger(request: Request) -> LedgerStatus:
    """The ledger's size, last checkpoint and its signatures (the log's, any witness's)."""
    with context(request).store() as store:
        return ledger_status(store)


@router.get("/people/{person_id}", response_model=PersonHistory, responses={403: {}, 404: {}})
def api_person(request: Request, person_id: str) -> PersonHistory:
    """An employee's record, alerts, cases (those you are on) and recent accesses."""
    return load_person(request, person_id)


@router.get("/subjects/{subject_id}", response_model=SubjectHistory, responses={403: {}, 404: {}})
def api_subject(request: Request, subject_id: str) -> SubjectHistory:
    """Who accessed a subject's records, when, and with what explanation."""
    return load_subject(request, subject_id)
