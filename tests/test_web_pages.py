"""What the pages say: the ledger's checkpoint and cosignatures, the dashboard's figures, and
an employee's and a subject's history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cases.access import pseudonym, pseudonym_key
from custodes.cli import app as cli
from custodes.ledger import generate_signer, parse_note
from custodes.store.store import open_store
from custodes.web.chart import bar_chart
from tests.web_fixtures import CaseIds, Site, build_site, two_cases

pytestmark = pytest.mark.xdist_group("web_pages")
runner = CliRunner()


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("web-pages"))
    try:
        yield built
    finally:
        built.close()


def test_the_ledger_page_shows_the_last_checkpoint_and_who_signed_it(
    site: Site, tmp_path: Path
) -> None:
    client = site.api("olly")
    before = client.get("/api/ledger").json()
    assert before["latest"] is None and before["checkpoints"] == 0
    assert "No checkpoint has been issued" in site.browser("olly")[0].get("/ledger").text

    key = tmp_path / "log.key"
    made = runner.invoke(
        cli, ["ledger", "keygen", "--name", "force.example/log", "--out", str(key)]
    )
    assert made.exit_code == 0, made.output
    signed = runner.invoke(
        cli, ["ledger", "checkpoint", "--home", str(site.home), "--key", str(key)]
    )
    assert signed.exit_code == 0, signed.output
    status = client.get("/api/ledger").json()
    latest = status["latest"]
    assert latest["size"] == status["size"] - status["unsigned_leaves"]
    assert [s["kind"] for s in latest["signatures"]] == ["log"]
    assert status["origin"] == "force.example/log" and status["cosigned"] is False
    page = site.browser("olly")[0].get("/ledger").text
    assert latest["root"] in page and "no witness cosignature" in page

    # A checkpoint that came back from a witness carries its cosignature line as well.
    witness = generate_signer("witness.example/w1").as_cosigner()
    with open_store(site.home) as store:
        issued = store.catalog.checkpoints()[-1]
        note = parse_note(issued.note)
        cosigned = note.with_signatures(witness.sign(note.text, timestamp=1_767_225_600))
        origin, vkey = store.catalog.log_identity() or ("", "")
        store.catalog.add_checkpoint(issued.size, issued.root, cosigned.format(), origin, vkey)
    witnessed = client.get("/api/ledger").json()
    assert witnessed["cosigned"] is True
    (cosignature,) = [s for s in witnessed["latest"]["signatures"] if s["kind"] != "log"]
    assert cosignature["name"] == "witness.example/w1"
    assert cosignature["cosigned_at"] == "2026-01-01T00:00:00+00:00"


def test_the_dashboard_counts_the_queue_and_this_years_outcomes(site: Site) -> None:
    client = site.api("adam")
    figures = client.get("/api/dashboard").json()
    new = len(site.api("rita").get("/api/alerts?state=new&per_page=500").json()["items"])
    assert figures["queue"] == new
    assert sum(b["alerts"] for b in figures["ageing"]) == new
    assert sum(figures["queue_by_family"].values()) == new
    page = site.browser("adam")[0].get("/").text
    assert f"{new}" in page and "Ageing of the queue" in page


@pytest.fixture(scope="module")
def ids(site: Site) -> CaseIds:
    return two_cases(site)


def test_an_employees_history_names_them_but_not_the_subjects_they_looked_at(
    site: Site, ids: CaseIds
) -> None:
    person = ids.own["person_id"]
    history = site.api("ann").get(f"/api/people/{person}").json()
    assert history["employee"]["person_id"] == person and history["employee"]["in_workforce"]
    assert history["accesses_total"] >= len(history["accesses"]) > 0
    assert [c["id"] for c in history["cases"]] == [int(ids.own["case_id"])]
    key = pseudonym_key(site.home)
    subjects = {a["subject"] for a in history["accesses"] if a["subject"]}
    assert subjects and all(s.startswith("SUBJ-") for s in subjects)
    assert pseudonym("subject", ids.own["subject_id"], key) in subjects
    named = site.api("rex").get(f"/api/people/{person}").json()
    assert ids.own["subject_id"] in {a["subject"] for a in named["accesses"]}
    assert named["cases"] == [] and named["other_cases"] == 1, "rex sees no case he is not on"


def test_a_subjects_history_says_who_looked_and_whether_it_was_explained(
    site: Site, ids: CaseIds
) -> None:
    subject = ids.own["subject_id"]
    answer = site.api("dora").get(f"/api/subjects/{subject}").json()
    assert answer["subject"]["subject_id"] == subject and answer["subject"]["surname"]
    assert sum(a["accesses"] for a in answer["accessors"]) == answer["accesses_total"]
    assert answer["unexplained_total"] >= 1
    assert ids.own["person_id"] in {a["person"] for a in answer["accessors"]}
    page = site.browser("dora")[0].get(f"/subjects/{subject}").text
    assert "Who accessed the record" in page and ids.own["person_id"] in page


def test_the_chart_is_svg_text_with_every_label_escaped() -> None:
    svg = bar_chart([("<script>alert(1)</script>", 3), ("Caution", 1)], "Outcomes & more")
    assert svg.startswith("<svg") and "<script>" not in svg
    assert "&lt;script&gt;" in svg and "Outcomes &amp; more" in svg
    assert "style=" not in svg, "the Content Security Policy forbids inline styles"
    assert bar_chart([], "none", empty="Nothing yet.") == '<p class="empty">Nothing yet.</p>'
