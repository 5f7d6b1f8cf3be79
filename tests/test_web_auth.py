"""Signing in and out, lockout, sessions, CSRF on every state-changing route, anonymous
requests, request size limits and security headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from custodes.cases.users import (
    LOCKOUT,
    SIGN_IN_FAILED,
    SignInFailed,
    UserError,
    add_user,
    authenticate,
    find_session,
    now,
    session_count,
    set_active,
    start_session,
)
from custodes.web.rules import RULES
from custodes.web.security import MAX_BODY
from tests.web_fixtures import ONE_PER_ROLE, PASSWORD, Site, site_fixture

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("web_auth")


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site_fixture(detected_force, tmp_path_factory.mktemp("web-auth"))


# users ------------------------------------------------------------------------------------------


def test_passwords_are_kept_only_as_argon2_hashes(site: Site) -> None:
    user = add_user(site.db, "hashed", "investigator", "a long enough secret")
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough secret" not in user.password_hash


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("carl", "detective", PASSWORD, "unknown role 'detective'"),
        ("ann", "investigator", PASSWORD, "a user named 'ann' already exists"),
        ("short", "investigator", "elevenchars", "use at least 12"),
        ("", "investigator", PASSWORD, "user name"),
    ],
)
def test_adding_a_bad_user_says_what_is_wrong(
    site: Site, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        add_user(site.db, name, role, password)


# signing in -------------------------------------------------------------------------------------


def test_signing_in_through_the_form_starts_a_session(site: Site) -> None:
    client, _ = site.browser("ann")
    assert "ann" in client.get("/").text
    cookie = client.cookies.get("custodes_session")
    assert cookie and find_session(site.db, cookie) is not None


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(site: Site) -> None:
    client = site.anonymous()
    wrong = client.post("/api/login", json={"name": "bob", "password": "not the password"})
    unknown = client.post("/api/login", json={"name": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": SIGN_IN_FAILED}


def test_five_failures_lock_the_account_for_fifteen_minutes(site: Site) -> None:
    add_user(site.db, "locky", "investigator", PASSWORD)
    client = site.anonymous()
    for _ in range(5):
        assert (
            client.post(
                "/api/login", json={"name": "locky", "password": "guess guess guess"}
            ).status_code
            == 401
        )
    locked = client.post("/api/login", json={"name": "locky", "password": PASSWORD})
    assert locked.status_code == 401 and locked.json()["detail"] == SIGN_IN_FAILED
    with pytest.raises(SignInFailed):
        authenticate(site.db, "locky", PASSWORD, at=now() + LOCKOUT - timedelta(seconds=5))
    assert authenticate(site.db, "locky", PASSWORD, at=now() + LOCKOUT + timedelta(seconds=5))


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(site: Site) -> None:
    add_user(site.db, "leaver", "investigator", PASSWORD)
    client = site.api("leaver")
    assert client.get("/api/me").status_code == 200
    set_active(site.db, "leaver", False)
    assert client.get("/api/me").status_code == 401
    again = site.anonymous().post("/api/login", json={"name": "leaver", "password": PASSWORD})
    assert again.status_code == 401


def test_signing_out_ends_the_session_on_the_server(site: Site) -> None:
    client, csrf = site.browser("bob")
    token = client.cookies.get("custodes_session")
    assert token
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert find_session(site.db, token) is None
    stolen = site.anonymous()
    stolen.cookies.set("custodes_session", token)
    assert stolen.get("/api/me").status_code == 401


def test_an_expired_session_is_refused(site: Site) -> None:
    user = authenticate(site.db, "ann", PASSWORD)
    signed = start_session(site.db, user, lifetime=timedelta(seconds=-1))
    client = site.anonymous()
    client.cookies.set("custodes_session", signed.token)
    assert client.get("/api/me").status_code == 401


def test_only_a_hash_of_the_session_token_is_stored(site: Site) -> None:
    client = site.api("ann")
    token = client.cookies.get("custodes_session")
    assert token
    with site.db.engine.connect() as connection:
        stored = [
            row[0] for row in connection.exec_driver_sql("SELECT token_hash FROM login_sessions")
        ]
    assert token not in stored and len(stored) == session_count(site.db)


def test_the_session_cookie_is_http_only_and_same_site_strict(site: Site) -> None:
    answer = site.anonymous().post("/api/login", json={"name": "ann", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_the_sign_in_form_needs_its_own_csrf_token(site: Site) -> None:
    client = site.anonymous()
    answer = client.post("/login", data={"name": "ann", "password": PASSWORD})
    assert answer.status_code == 403 and "sign-in form has expired" in answer.text
    assert client.cookies.get("custodes_session") is None


def test_after_signing_in_the_browser_goes_back_only_to_this_site(site: Site) -> None:
    client = site.anonymous()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"name": "ann", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_api_sign_in_needs_json(site: Site) -> None:
    answer = site.anonymous().post("/api/login", data={"name": "ann", "password": PASSWORD})
    assert answer.status_code in (415, 422)


# anonymous requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for (m, p), rule in RULES.items() if not rule.public]
)
def test_anonymous_pages_redirect_to_sign_in_and_the_api_answers_401(
    site: Site, method: str, path: str
) -> None:
    concrete = path.format(
        case_id=1, task_id=1, alert_id="A1", event_id="E1", person_id="P1", subject_id="S1"
    )
    answer = site.anonymous().request(method, concrete)
    if path.startswith("/api/"):
        assert answer.status_code == 401
        assert "sign in" in answer.json()["detail"]
    else:
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


# CSRF -------------------------------------------------------------------------------------------

STATE_CHANGING = [(m, p) for (m, p), rule in RULES.items() if m != "GET" and not rule.public]


@pytest.mark.parametrize(("method", "path"), STATE_CHANGING)
def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(
    site: Site, method: str, path: str
) -> None:
    rule = RULES[(method, path)]  # a user the route lets in, so that only the token is missing
    client = site.api("rita" if rule.allows("reviewer") else ONE_PER_ROLE[min(rule.roles)])
    token = client.headers.pop("X-CSRF-Token")
    concrete = path.format(case_id=1, task_id=1)
    before = site.changes()
    if path.startswith("/api/"):
        answers = [
            client.request(method, concrete, json={"version": 1}),
            client.request(method, concrete, json={}, headers={"X-CSRF-Token": "forged"}),
        ]
    else:
        answers = [
            client.request(method, concrete, data={"version": "1"}),
            client.request(method, concrete, data={"version": "1", "csrf_token": "forged"}),
            # another session's token is no better
            client.request(
                method, concrete, data={"csrf_token": site.api("ann").headers["X-CSRF-Token"]}
            ),
        ]
    for answer in answers:
        assert answer.status_code == 403, (path, answer.text)
        assert "CSRF" in answer.text
    assert site.changes() == before
    assert client.get("/api/me", headers={"X-CSRF-Token": token}).status_code == 200


# transport --------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413(site: Site) -> None:
    client = site.api("ann")
    before = site.changes()
    big = {"version": 1, "body": "x" * (MAX_BODY + 1)}
    answer = client.post("/api/cases/1/notes", json=big)
    assert answer.status_code == 413
    assert "larger than 64 KiB" in answer.json()["detail"]
    chunked = client.post(
        "/api/cases/1/notes",
        content=iter([b'{"version": 1, "body": "', b"x" * MAX_BODY, b'"}']),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    page, csrf = site.browser("ann")
    form = page.post(
        "/cases/1/notes", data={"csrf_token": csrf, "version": "1", "body": "y" * MAX_BODY}
    )
    assert form.status_code == 413 and "larger than 64 KiB" in form.text
    assert site.changes() == before


def test_every_response_carries_the_security_headers(site: Site) -> None:
    client = site.api("ann")
    for answer in (client.get("/"), client.get("/api/alerts"), site.anonymous().get("/login")):
        headers = answer.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/alerts").headers["cache-control"] == "no-store"


def test_pages_use_no_inline_script_and_load_nothing_from_elsewhere(site: Site) -> None:
    client, _ = site.browser("rita")
    for path in ("/", "/alerts", "/cases", "/ledger", "/login"):
        html = client.get(path).text
        assert "<script>" not in html and " on" + "click=" not in html
        assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert client.get("/static/htmx.min.js").status_code == 200


def test_the_api_describes_itself_in_openapi(site: Site) -> None:
    document = site.anonymous().get("/api/openapi.json").json()
    assert (
        "/api/alerts" in document["paths"] and "/api/cases/{case_id}/outcomes" in document["paths"]
    )
    assert "/alerts" not in document["paths"], "pages are not part of the API"
    schemas = document["components"]["schemas"]
    assert {"AlertEvidence", "CaseDetail", "OutcomeIn", "TriageIn", "StepOut"} <= set(schemas)
