"""Case work through the web: triage with HTMX, a case from escalation to sign-off through the
pages, pseudonyms in the queue, and bad input, which gets a clear message and changes nothing.
The API's round trip runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web_fixtures import Site, TestClient, build_site, two_cases

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("web_casework")


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("web-casework"))
    try:
        yield built
    finally:
        built.close()


def new_alerts(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/alerts", params={"state": "new", **filters})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def case_version(client: TestClient, case_id: int) -> int:
    version: int = client.get(f"/api/cases/{case_id}").json()["case"]["version"]
    return version


# pseudonyms -------------------------------------------------------------------------------------


def test_investigators_see_pseudonyms_in_the_queue_and_reviewers_see_identifiers(
    site: Site,
) -> None:
    named = new_alerts(site.api("rita"))
    people = {a["person"] for a in named}
    subjects = {a["subject"] for a in named if a["subject"]}
    assert all(p.startswith("P") for p in people)
    page, _ = site.browser("ann")
    html = page.get("/alerts").text
    for identifier in people | subjects:
        assert identifier not in html, f"{identifier} shown to an investigator"
    assert "EMP-" in html and "SUBJ-" in html
    evidence = page.get(f"/alerts/{named[0]['alert_id']}").text
    assert named[0]["person"] not in evidence


def test_search_criteria_are_hidden_behind_pseudonyms(site: Site) -> None:
    fishing = new_alerts(site.api("rita"), rule="name_fishing")
    assert fishing, "the force plants name fishing"
    shown = site.api("ann").get(f"/api/alerts/{fishing[0]['alert_id']}").json()
    queries = [e["query"] for e in shown["events"] if e["query"]]
    assert queries and all(re.fullmatch(r"([a-z_]+=…;?)+", q) for q in queries), queries
    assert "=…" in shown["summary"] or "[withheld]" in shown["summary"]


# triage with HTMX and a case through the pages ---------------------------------------------------


def test_a_case_from_triage_to_sign_off_through_the_pages(site: Site) -> None:
    ann, ann_csrf = site.browser("ann")
    chosen = new_alerts(site.api("ann"), family="relationship")[0]
    escalated = ann.post(
        "/alerts/triage",
        data={
            "csrf_token": ann_csrf,
            "action": "escalate",
            "alert_ids": chosen["alert_id"],
            f"v_{chosen['alert_id']}": str(chosen["version"]),
            "title": "Relationship lookup",
            "q_state": "new",
        },
        headers={"HX-Request": "true"},
    )
    assert escalated.status_code == 200, escalated.text
    assert "1 alert escalated: case PSD-" in escalated.text
    assert escalated.text.lstrip().startswith('<section id="queue">'), "HTMX gets the fragment"
    case_id = int(re.search(r'href="/cases/(\d+)"', escalated.text).group(1))  # type: ignore[union-attr]
    case_url = f"/cases/{case_id}"
    page = ann.get(case_url).text
    person = re.search(r'href="/people/([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert person in page, "on her own case, ann sees the employee's identifier"

    def step(client: TestClient, csrf: str, name: str, **fields: str) -> str:
        answer = client.post(
            f"{case_url}/{name}",
            data={
                "csrf_token": csrf,
                "version": str(case_version(site.api("ann"), case_id)),
                **fields,
            },
        )
        assert answer.status_code == 303, (name, answer.text)
        assert answer.headers["location"] == f"{case_url}?done={name}"
        return client.get(answer.headers["location"]).text

    assert "Assigned." in step(ann, ann_csrf, "assign", reviewer="rita")
    step(ann, ann_csrf, "status", to="assessment", reason="the lookup has no work reason")
    step(ann, ann_csrf, "allegations", breach_type="unauthorised_access", systems="PNC")
    step(ann, ann_csrf, "notes", body="Interviewed on 12 January.")
    shown = step(ann, ann_csrf, "outcomes", person_ref=person, code="written_warning")
    assert "Written warning" in shown
    step(ann, ann_csrf, "status", to="outcome", reason="outcome decided")
    in_review = step(ann, ann_csrf, "status", to="review", reason="for sign-off")
    assert "Sign off and close" not in in_review, "only the reviewer may close"

    bob, _ = site.browser("bob")
    refused = bob.get(case_url)
    assert refused.status_code == 403 and "need-to-know" in refused.text

    rita, rita_csrf = site.browser("rita")
    assert "Sign off and close" in rita.get(case_url).text
    closed = step(rita, rita_csrf, "close", note="Warning given; access reviewed.")
    assert "Case closed and signed off." in closed and "signed off by rita" in closed
    dashboard = ann.get("/").text
    assert "<svg" in dashboard and "Written warning" in dashboard


def test_an_htmx_triage_that_fails_says_why_in_the_message_area(site: Site) -> None:
    client, csrf = site.browser("ann")
    before = site.changes()
    answer = client.post(
        "/alerts/triage",
        data={"csrf_token": csrf, "action": "dismiss", "alert_ids": "A-nope", "reason": "x"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 404
    assert answer.headers["HX-Retarget"] == "#flash"
    assert 'role="alert"' in answer.text and "A-nope" in answer.text
    assert site.changes() == before


def test_a_signed_out_htmx_request_sends_the_whole_page_to_sign_in(site: Site) -> None:
    answer = site.anonymous().post("/alerts/triage", headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"] == "/login"


# bad input --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_case(site: Site) -> int:
    return int(two_cases(site).own["case_id"])


BAD_API: list[tuple[str, str, Any, int, str]] = [
    ("GET", "/api/cases/999999", None, 404, "no case 999999"),
    ("GET", "/api/cases/abc", None, 404, "case numbers are digits"),
    ("GET", "/api/alerts/A-unknown", None, 404, "no alert 'A-unknown'"),
    ("GET", "/api/alerts?min_score=lots", None, 422, "min_score"),
    ("GET", "/api/alerts?state=sideways", None, 422, "state"),
    ("GET", "/api/alerts?sort=shoe_size", None, 422, "cannot sort by"),
    ("GET", "/api/people/P-nobody", None, 403, "in none of yours"),
    ("GET", "/api/subjects/S-nobody", None, 403, "in none of yours"),
    (
        "POST",
        "/api/alerts/triage",
        {"action": "dismiss", "alert_ids": ["A-x"], "reason": "r"},
        404,
        "no alert A-x",
    ),
    ("POST", "/api/alerts/triage", {"action": "shrug", "alert_ids": ["A-x"]}, 422, "action"),
    ("POST", "/api/alerts/triage", {"action": "dismiss", "alert_ids": []}, 422, "alert_ids"),
    ("POST", "/api/cases", {"title": "t" * 201}, 422, "title"),
    ("POST", "/api/cases", {"title": "ok", "mystery": 1}, 422, "mystery"),
    ("POST", "{case}/status", {"version": "V", "to": "closed", "reason": "r"}, 422, "version"),
    ("POST", "{case}/status", {"to": "closed", "reason": "done"}, 422, "use close"),
    ("POST", "{case}/status", {"to": "review", "reason": "skip"}, 422, "can move to assessment"),
    ("POST", "{case}/status", {"to": "assessment", "reason": ""}, 422, "reason is required"),
    (
        "POST",
        "{case}/outcomes",
        {"person_ref": "{person}", "code": "hanged_drawn_quartered"},
        422,
        "unknown outcome 'hanged_drawn_quartered'",
    ),
    ("POST", "{case}/outcomes", {"person_ref": "P-nobody", "code": "written_warning"}, 422, ""),
    ("POST", "{case}/allegations", {"breach_type": "gossip"}, 422, "unknown breach type"),
    (
        "POST",
        "{case}/allegations",
        {"breach_type": "other", "incident_date": "yesterday"},
        422,
        "incident_date",
    ),
    ("POST", "{case}/events", {"event_ids": ["E-never-stored"]}, 404, "E-never-stored"),
    ("POST", "{case}/tasks/999999/done", {}, 404, "no task 999999"),
    ("POST", "{case}/members", {"member": "olly"}, 422, "cannot be added to cases"),
    ("POST", "{case}/assign", {"owner": "nobody-at-all"}, 404, "no user 'nobody-at-all'"),
    ("POST", "{case}/close", {"note": "done"}, 403, ""),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    BAD_API,
    ids=[f"{m} {p} {s}" for m, p, _, s, _ in BAD_API],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    site: Site,
    open_case: int,
    method: str,
    path: str,
    body: Any,
    status: int,
    message: str,
) -> None:
    client = site.api("ann")
    case = client.get(f"/api/cases/{open_case}").json()["case"]
    url = path.replace("{case}", f"/api/cases/{open_case}")
    if isinstance(body, dict):
        body = {"version": case["version"], **body} if "{case}" in path else body
        body = {
            k: (v.replace("{person}", case["people"][0]["person_ref"]) if isinstance(v, str) else v)
            for k, v in body.items()
        }
    before = site.changes()
    answer = client.request(method, url, json=body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and detail and "Traceback" not in detail
    assert message in detail, detail
    assert site.changes() == before


def test_unknown_people_and_subjects_are_404_for_those_who_see_names(site: Site) -> None:
    rita = site.api("rita")
    for url, message in [
        ("/api/people/P-nobody", "no employee or account 'P-nobody'"),
        ("/api/subjects/S-nobody", "no subject 'S-nobody'"),
        ("/api/people/%20%20", "not an employee identifier"),
        ("/people/P-nobody", "no employee or account"),
    ]:
        answer = rita.get(url)
        assert answer.status_code == 404 and message in answer.text, answer.text


def test_a_stale_version_is_a_conflict_and_changes_nothing(site: Site, open_case: int) -> None:
    client = site.api("ann")
    version = case_version(client, open_case)
    note = client.post(f"/api/cases/{open_case}/notes", json={"version": version, "body": "first"})
    assert note.status_code == 200
    before = site.changes()
    stale = client.post(f"/api/cases/{open_case}/notes", json={"version": version, "body": "again"})
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    assert site.changes() == before


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b'{"version": 1, "body": ', "application/json"),
        (b"\xff\xfe not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"version=1&body=hello", "text/plain"),
    ],
)
def test_malformed_bodies_get_422_and_change_nothing(
    site: Site, open_case: int, content: bytes, kind: str
) -> None:
    client = site.api("ann")
    before = site.changes()
    answer = client.post(
        f"/api/cases/{open_case}/notes", content=content, headers={"Content-Type": kind}
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["detail"].startswith(("the request body", "body"))
    assert site.changes() == before


def test_bad_forms_get_a_page_that_says_why_and_change_nothing(site: Site, open_case: int) -> None:
    client, csrf = site.browser("ann")
    version = str(case_version(site.api("ann"), open_case))
    before = site.changes()
    for url, form, status, message in [
        (
            f"/cases/{open_case}/outcomes",
            {"version": version, "person_ref": "P1", "code": "flogging"},
            422,
            "unknown outcome",
        ),
        (
            f"/cases/{open_case}/status",
            {"version": "two", "to": "review", "reason": "r"},
            422,
            "version",
        ),
        (f"/cases/{open_case}/notes", {"version": version, "body": "n" * 20_001}, 422, "body"),
        ("/cases/424242/notes", {"version": "1", "body": "hello"}, 404, "no case 424242"),
        (
            "/alerts/triage",
            {"action": "escalate", "alert_ids": "A-none", "title": "x"},
            404,
            "A-none",
        ),
    ]:
        answer = client.post(url, data={"csrf_token": csrf, **form})
        assert answer.status_code == status, (url, answer.text)
        assert message in answer.text and "<h1>" in answer.text
    assert client.get("/alerts?min_score=high").status_code == 422
    assert site.changes() == before


# both databases ---------------------------------------------------------------------------------


def test_the_api_round_trip_on_each_case_database(
    detected_force: Path, tmp_path: Path, case_db_url: str
) -> None:
    site = build_site(detected_force, tmp_path, case_db_url)
    try:
        ann = site.api("ann")
        chosen = new_alerts(ann)[0]
        escalated = ann.post(
            "/api/alerts/triage",
            json={
                "action": "escalate",
                "alert_ids": [chosen["alert_id"]],
                "title": "On " + case_db_url.split(":")[0],
            },
        )
        assert escalated.status_code == 200, escalated.text
        case_id = escalated.json()["case_id"]
        detail = ann.get(f"/api/cases/{case_id}").json()
        assert detail["case"]["status"] == "open"
        assert [e["kind"] for e in detail["timeline"]].count("step") >= 1
        assert site.api("bob").get(f"/api/cases/{case_id}").status_code == 403
        assert ann.get("/api/cases").json()["total"] == 1
    finally:
        site.close()
