"""The authorisation matrix: every route × every role × (own case / another case), generated
from the route table, so a new route without a rule, or a rule that enforcement ignores, fails.

"Own" means the user is on the case (owner, reviewer or member) or, for an employee's or a
subject's history, that the person is in such a case; "other" means a case they are not on.
Allowed requests are sent with empty bodies, so nothing changes: the test checks who gets past
the guard (anything but 403) and who does not (403).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custodes.cases.access import SEES_NAMES_IN_QUEUE
from custodes.cases.taxonomy import USER_ROLES
from custodes.web.app import _routers, served_routes
from custodes.web.guard import GuardedRoute
from custodes.web.rules import RULES, Rule, rule_for
from tests.web_fixtures import (
    CSRF_FIELD,
    ONE_PER_ROLE,
    CaseIds,
    Site,
    TestClient,
    build_site,
    two_cases,
)

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("web_matrix")


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("web-matrix"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def ids(site: Site) -> CaseIds:
    return two_cases(site)


def test_every_served_route_has_a_rule_and_every_rule_a_route(site: Site) -> None:
    served = served_routes(site.app)
    assert len(served) == len(set(served)) > 40
    missing = [r for r in served if r not in RULES]
    assert not missing, f"routes without a rule in custodes.web.rules.RULES: {missing}"
    stale = [r for r in RULES if r not in served]
    assert not stale, f"rules for routes nobody serves: {stale}"
    unguarded = [
        route
        for router in _routers()
        for route in router.routes
        if not isinstance(route, GuardedRoute)
    ]
    assert not unguarded, f"routes that bypass the guard: {unguarded}"


def test_a_route_without_a_rule_cannot_be_served() -> None:
    from fastapi import APIRouter

    router = APIRouter(route_class=GuardedRoute)
    with pytest.raises(LookupError, match="GET /secret has no rule"):
        router.add_api_route("/secret", lambda: {}, methods=["GET"])
    with pytest.raises(LookupError):
        rule_for("POST", "/alerts/{alert_id}")


def expected(rule: Rule, role: str, own: bool) -> bool:
    if rule.public:
        return True
    if not rule.allows(role):
        return False
    if rule.scope == "case":
        return own
    if rule.scope in ("person", "subject"):
        return own or role in SEES_NAMES_IN_QUEUE
    return True


MATRIX = [
    pytest.param(method, path, role, own, id=f"{method} {path} {role} {'own' if own else 'other'}")
    for (method, path), rule in RULES.items()
    for role in USER_ROLES
    for own in ((True, False) if rule.scope else (True,))
]


@pytest.fixture(scope="module")
def clients(site: Site) -> dict[str, TestClient]:
    return {role: site.api(name) for role, name in ONE_PER_ROLE.items()}


@pytest.mark.parametrize(("method", "path", "role", "own"), MATRIX)
def test_the_authorisation_matrix(
    site: Site,
    ids: CaseIds,
    clients: dict[str, TestClient],
    method: str,
    path: str,
    role: str,
    own: bool,
) -> None:
    rule = RULES[(method, path)]
    name = ONE_PER_ROLE[role]
    # Signing out would end the shared session: those routes get a session of their own.
    client = site.api(name) if path.endswith("/logout") else clients[role]
    url = path.format(**(ids.own if own else ids.other))
    if method == "GET":
        answer = client.get(url)
    elif path.startswith("/api/"):
        answer = client.post(url, json={})
    elif path == "/login":  # the sign-in form, with its own (double-submit) token
        anonymous = site.anonymous()
        token = CSRF_FIELD.search(anonymous.get("/login").text)
        assert token
        answer = anonymous.post(url, data={"csrf_token": token.group(1)})
    else:
        answer = client.post(url, data={"csrf_token": client.headers["X-CSRF-Token"]})
    if expected(rule, role, own):
        assert answer.status_code not in (401, 403), (answer.status_code, answer.text[:300])
        assert answer.status_code < 500, answer.text
    else:
        assert answer.status_code == 403, (answer.status_code, answer.text[:300])


def test_every_role_has_a_place_in_the_matrix() -> None:
    rules = set(RULES.values())
    for role in USER_ROLES:
        assert any(r.allows(role) and not r.public for r in rules), f"{role} can do nothing"
    assert set(ONE_PER_ROLE) == set(USER_ROLES)
