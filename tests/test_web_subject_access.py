"""The DPO's subject access page and API: the report of every access to one subject's records,
for the DPO only, with employees named only for a recorded reason, each report and each view of
it in the ledger, and downloads that are the report shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custodes.cases.audit import decode_ids
from custodes.cases.taxonomy import USER_ROLES
from custodes.ledger import generate_signer
from custodes.store import issue_checkpoint
from custodes.store.store import open_store
from tests.web_fixtures import ONE_PER_ROLE, Site, build_site

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("web_subject_access")

REPORT = "subject_access_report"
READ = "investigator_read"
REASON = "the subject alleges that a named officer harassed them"
SIGNER = generate_signer("police.example/custodes")


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("web-subject-access"))
    with open_store(built.home) as store:
        issue_checkpoint(store, SIGNER)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def subject(site: Site) -> dict[str, Any]:
    """A subject whose records several employees looked at: its id, how many accesses, and
    each employee's identifier and name (which must not show without a reason)."""
    with open_store(site.home) as store:
        ((subject_id, accesses),) = store.query(
            "SELECT subject_id, count(*) FROM access_events WHERE subject_id IS NOT NULL "
            "GROUP BY 1 HAVING count(DISTINCT person_id) >= 3 ORDER BY 2, 1 LIMIT 1"
        )
        employees = store.query(
            "SELECT DISTINCT e.person_id, w.surname FROM access_events e "
            "JOIN workforce w USING (person_id) WHERE e.subject_id = ? ORDER BY 1",
            [subject_id],
        )
    return {"id": subject_id, "accesses": accesses, "employees": employees}


def form(csrf: str, subject_id: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "subject_id": subject_id, "format": "html", **fields}


def identities_in(text: str, employees: list[tuple[str, str]]) -> set[str]:
    return {value for person, surname in employees for value in (person, surname) if value in text}


def test_the_dpo_gets_the_report_and_it_is_recorded_with_their_view(
    site: Site, subject: dict[str, Any]
) -> None:
    page, csrf = site.browser("dora")
    blank = page.get("/subject-access")
    assert blank.status_code == 200 and 'name="subject_id"' in blank.text
    assert '<a href="/subject-access"' in blank.text, "the DPO's navigation links to it"

    before = site.ledger_size()
    answer = page.post("/subject-access", data=form(csrf, subject["id"]))
    assert answer.status_code == 200, answer.text
    assert answer.text.count("<tr>") - 1 == subject["accesses"], "one row per access"
    assert "not named (units only)" in answer.text
    assert identities_in(answer.text, subject["employees"]) == set()

    (generated, generated_fields), (read, read_fields) = site.actions_since(before)
    assert (generated, read) == (REPORT, READ), "the report, then the view of it"
    assert generated_fields["requested_by"] == "dora"
    assert generated_fields["subject_id"] == subject["id"]
    assert generated_fields["identities_reason"] is None
    assert (read_fields["user"], read_fields["role"]) == ("dora", "dpo")
    assert decode_ids(read_fields["subjects"]) == [subject["id"]]
    assert decode_ids(read_fields["people"]) == [], "no employee was shown"
    assert decode_ids(read_fields["items"]) == [generated_fields["report_id"]]
    assert generated_fields["report_id"] in answer.text


def test_with_a_reason_the_employees_are_named_and_the_reason_is_in_the_ledger(
    site: Site, subject: dict[str, Any]
) -> None:
    before = site.ledger_size()
    report = site.api("dora").post(
        "/api/subject-access", json={"subject_id": subject["id"], "identities_reason": REASON}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["identities_included"] is True and body["identities_reason"] == REASON
    people = {p for p, _ in subject["employees"]}
    assert {a["employee"]["person_id"] for a in body["accesses"]} == people
    (_, generated), (_, read) = site.actions_since(before)
    assert generated["identities_reason"] == REASON and generated["requested_by"] == "dora"
    assert set(decode_ids(read["people"])) == people, "the read names everyone shown"

    page, csrf = site.browser("dora")
    shown = page.post(
        "/subject-access",
        data=form(csrf, subject["id"], include_identities="yes", identities_reason=REASON),
    )
    assert shown.status_code == 200
    assert identities_in(shown.text, subject["employees"]) == {
        v for pair in subject["employees"] for v in pair
    }
    assert REASON in shown.text

    without = site.api("dora").post("/api/subject-access", json={"subject_id": subject["id"]})
    assert "employee" not in json.dumps(without.json()["accesses"])
    assert identities_in(without.text, subject["employees"]) == set()


def test_the_downloads_are_the_report_shown(site: Site, subject: dict[str, Any]) -> None:
    page, csrf = site.browser("dora")
    shown = page.post("/subject-access", data=form(csrf, subject["id"]))
    size = site.ledger_size()
    with open_store(site.home) as store:  # a later checkpoint does not change the download
        issue_checkpoint(store, SIGNER)
    report_id = site.actions_since(size - 2)[0][1]["report_id"]
    as_of = shown.text.split('name="as_of" value="')[1].split('"')[0]

    before = site.ledger_size()
    as_json = page.post(
        "/subject-access", data={**form(csrf, subject["id"]), "format": "json", "as_of": as_of}
    )
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert f'filename="{report_id}.json"' in as_json.headers["content-disposition"]
    assert as_json.json()["report_id"] == report_id
    assert len(as_json.json()["accesses"]) == subject["accesses"]
    assert [kind for kind, _ in site.actions_since(before)] == [REPORT, READ]

    as_pdf = page.post(
        "/subject-access", data={**form(csrf, subject["id"]), "format": "pdf", "as_of": as_of}
    )
    assert as_pdf.status_code == 200
    assert as_pdf.headers["content-type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF-")
    assert f'filename="{report_id}.pdf"' in as_pdf.headers["content-disposition"]


@pytest.mark.parametrize("role", [r for r in USER_ROLES if r != "dpo"])
def test_every_other_role_is_refused(site: Site, subject: dict[str, Any], role: str) -> None:
    name = ONE_PER_ROLE[role]
    page, csrf = site.browser(name)
    before = site.ledger_size()
    assert page.get("/subject-access").status_code == 403
    assert page.post("/subject-access", data=form(csrf, subject["id"])).status_code == 403
    api = site.api(name).post("/api/subject-access", json={"subject_id": subject["id"]})
    assert api.status_code == 403 and "may not use /api/subject-access" in api.json()["detail"]
    assert 'href="/subject-access"' not in page.get("/").text, "no link to what they cannot use"
    assert site.ledger_size() == before


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"subject_id": "S-NOBODY"}, 404, "no subject 'S-NOBODY' is known"),
        ({"subject_id": "S1", "identities_reason": "   "}, 422, "reason to include"),
        ({"subject_id": "two words"}, 422, "subject_id: give the subject's identifier"),
        ({"subject_id": "S1", "as_of": 0}, 422, "as_of"),
        ({"subject_id": "S1", "names": "yes"}, 422, "names"),
    ],
)
def test_mistakes_get_one_sentence_and_record_nothing(
    site: Site, body: dict[str, Any], status: int, message: str
) -> None:
    before = site.ledger_size()
    answer = site.api("dora").post("/api/subject-access", json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert site.ledger_size() == before


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(
    site: Site, subject: dict[str, Any]
) -> None:
    page, csrf = site.browser("dora")
    before = site.ledger_size()
    ticked_blank = page.post(
        "/subject-access", data=form(csrf, subject["id"], include_identities="yes")
    )
    assert ticked_blank.status_code == 422 and "reason" in ticked_blank.text
    unticked = page.post(
        "/subject-access", data=form(csrf, subject["id"], identities_reason=REASON)
    )
    assert unticked.status_code == 422 and "box is not ticked" in unticked.text
    assert REASON in unticked.text and subject["id"] in unticked.text, "nothing typed is lost"
    unknown = page.post("/subject-access", data=form(csrf, "S-NOBODY"))
    assert unknown.status_code == 404 and "S-NOBODY" in unknown.text
    forged = page.post("/subject-access", data=form("forged", subject["id"]))
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert site.ledger_size() == before


def test_without_a_checkpoint_the_dpo_is_told_what_to_run(
    detected_force: Path, tmp_path: Path
) -> None:
    fresh = build_site(detected_force, tmp_path)
    try:
        answer = fresh.api("dora").post("/api/subject-access", json={"subject_id": "S1"})
        assert answer.status_code == 409
        assert "custodes ledger checkpoint" in answer.json()["detail"]
    finally:
        fresh.close()
