"""Auditing the auditors: every page or API answer that shows personal data records exactly
one ``investigator_read`` in the ledger, naming who looked, at what, for which case; pages
without personal data record none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custodes.cases.audit import decode_ids
from custodes.web.rules import RULES
from tests.web_fixtures import CaseIds, Site, build_site, two_cases

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("web_reads")

READ = "investigator_read"
GET_ROUTES = [  # what ann, an investigator, may open (the DPO's pages are tested on their own)
    path
    for (method, path), rule in RULES.items()
    if method == "GET" and path != "/login" and rule.allows("investigator")
]


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("web-reads"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def ids(site: Site) -> CaseIds:
    return two_cases(site)


def reads_during(site: Site, action: Any) -> tuple[Any, list[dict[str, Any]]]:
    before = site.ledger_size()
    answer = action()
    actions = site.actions_since(before)
    return answer, [fields for kind, fields in actions if kind == READ]


@pytest.mark.parametrize("path", GET_ROUTES)
def test_each_view_records_exactly_one_read_if_it_shows_personal_data(
    site: Site, ids: CaseIds, path: str
) -> None:
    client = site.api("ann")
    url = path.format(**ids.own)
    answer, reads = reads_during(site, lambda: client.get(url))
    assert answer.status_code == 200, answer.text
    if not RULES[("GET", path)].personal:
        assert reads == [], f"{path} shows no personal data but recorded a read"
        return
    assert len(reads) == 1, f"{path} recorded {len(reads)} reads"
    (read,) = reads
    assert (read["user"], read["role"]) == ("ann", "investigator")
    assert read["view"]
    if "{case_id}" in path:
        assert read["case"].startswith("PSD-")
        assert ids.own["person_id"] in decode_ids(read["people"])
    if "{person_id}" in path:
        assert decode_ids(read["people"]) == [ids.own["person_id"]]
    if "{subject_id}" in path:
        assert decode_ids(read["subjects"]) == [ids.own["subject_id"]]
    if "{alert_id}" in path:
        assert ids.own["alert_id"] in decode_ids(read["items"])


def test_a_refused_or_failed_view_records_no_read(site: Site, ids: CaseIds) -> None:
    bob = site.api("bob")
    for url in (f"/cases/{ids.own['case_id']}", "/api/alerts/A-no-such-alert", "/api/people/%20"):
        answer, reads = reads_during(site, lambda u=url: bob.get(u))
        assert answer.status_code in (403, 404, 422), (url, answer.status_code)
        assert reads == []


def test_the_read_names_only_what_the_viewer_saw_by_name(site: Site) -> None:
    """An investigator sees the queue in pseudonyms, so their read lists no one; a reviewer
    sees identifiers, and their read lists every employee shown."""
    _, (pseudonymous,) = reads_during(site, lambda: site.api("ann").get("/api/alerts?state=new"))
    named_answer, (named,) = reads_during(
        site, lambda: site.api("rita").get("/api/alerts?state=new")
    )
    assert decode_ids(pseudonymous["people"]) == []
    shown = {item["person"] for item in named_answer.json()["items"]}
    assert shown and set(decode_ids(named["people"])) == shown
    assert decode_ids(pseudonymous["items"]) == decode_ids(named["items"])


def test_a_triage_from_the_queue_records_the_steps_and_one_read(site: Site) -> None:
    client, csrf = site.browser("ann")
    queue = site.api("ann").get("/api/alerts?state=new").json()["items"]
    chosen = queue[-1]
    before = site.ledger_size()
    answer = client.post(
        "/alerts/triage",
        data={
            "csrf_token": csrf,
            "action": "dismiss",
            "alert_ids": chosen["alert_id"],
            f"v_{chosen['alert_id']}": str(chosen["version"]),
            "reason": "a training exercise",
        },
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200 and "1 alert dismissed." in answer.text
    kinds = [kind for kind, _ in site.actions_since(before)]
    assert kinds == ["alert_step", READ]
