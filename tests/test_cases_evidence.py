"""A case's evidence pack: the case and, for every cited event and recorded step, a receipt
that anyone holding the log's public key checks offline; and a PDF people read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cases import workflow
from custodes.cases.db import CaseDb
from custodes.cases.errors import Forbidden, Invalid
from custodes.cases.evidence import build_evidence_pack
from custodes.cases.models import User
from custodes.cli import app
from custodes.ledger import generate_signer, verify_receipt_set
from custodes.store import issue_checkpoint, open_store
from tests.test_cases_workflow import events, workforce

LOG = generate_signer("police.example/custodes")
runner = CliRunner()


def _closed_case(db: CaseDb, users: dict[str, User], *, close: bool = True) -> workflow.Step:
    ann, rita = users["ann"], users["rita"]
    (officer,) = workforce(db.home, "officer")
    s = workflow.open_case(db, ann, "Looked up an ex-partner", reviewer="rita")
    s = workflow.add_person(db, ann, s.case, s.version, officer)
    s = workflow.add_allegation(db, ann, s.case, s.version, "unauthorised_access", systems=["PNC"])
    s = workflow.cite_events(db, ann, s.case, s.version, events(db.home, 4))
    s = workflow.change_status(db, ann, s.case, s.version, "assessment", "a case to answer")
    s = workflow.change_status(db, ann, s.case, s.version, "outcome", "admitted")
    s = workflow.record_outcome(db, ann, s.case, s.version, officer, "written_warning")
    if not close:
        return s
    s = workflow.change_status(db, ann, s.case, s.version, "review", "for sign-off")
    return workflow.close_case(db, rita, s.case, s.version, "Proportionate.")


def _checkpoint(home: Path) -> None:
    with open_store(home) as store:
        issue_checkpoint(store, LOG)


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_every_cited_event_and_step_verifies_offline(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    step = _closed_case(case_db, case_users)
    _checkpoint(case_db.home)
    pack = build_evidence_pack(case_db, case_users["ann"], step.case)
    document = json.loads(pack.to_json())
    verified = verify_receipt_set(document, [LOG.verifier()])
    kinds = [v.event["type"] for v in verified]
    assert kinds.count("access_event") == 4
    assert (
        kinds.count("case_step") >= 7
    )  # opened, person, allegation, events, statuses, outcome, close
    assert document["pending"] == []
    assert document["case"]["status"] == "closed" and document["case"]["signed_off_by"] == "rita"
    assert [o["code"] for o in document["case"]["people"][0]["outcomes"]] == ["written_warning"]


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_an_edited_pack_no_longer_verifies(
    case_db: CaseDb, case_users: dict[str, User], tmp_path: Path
) -> None:
    step = _closed_case(case_db, case_users)
    _checkpoint(case_db.home)
    document = json.loads(build_evidence_pack(case_db, case_users["ann"], step.case).to_json())
    document["receipts"][0]["content"]["purpose"] = "a lawful purpose, honestly"
    pack = tmp_path / "pack.json"
    pack.write_text(json.dumps(document))
    result = runner.invoke(
        app, ["ledger", "verify-proof", str(pack), "--vkey", LOG.verifier().vkey]
    )
    assert result.exit_code == 1 and "not what the receipt proves" in result.output


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_steps_after_the_newest_checkpoint_are_listed_as_pending(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    with pytest.raises(Invalid, match="no checkpoint has been issued"):
        step = workflow.open_case(case_db, case_users["ann"], "Early", reviewer="rita")
        build_evidence_pack(case_db, case_users["ann"], step.case)
    step = _closed_case(case_db, case_users, close=False)
    _checkpoint(case_db.home)
    later = workflow.add_note(case_db, case_users["ann"], step.case, step.version, "after")
    document = build_evidence_pack(case_db, case_users["ann"], step.case).document
    assert [p["leaf"] for p in document["pending"]] == [later.leaf]


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_only_the_people_on_the_case_may_build_its_pack(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    step = _closed_case(case_db, case_users)
    _checkpoint(case_db.home)
    with pytest.raises(Forbidden):
        build_evidence_pack(case_db, case_users["bob"], step.case)


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_the_pdf_carries_the_case_and_the_bundles_hash(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    step = _closed_case(case_db, case_users)
    _checkpoint(case_db.home)
    pack = build_evidence_pack(case_db, case_users["ann"], step.case)
    html = pack.to_html()
    assert f"Evidence pack: {step.case}" in html and pack.sha256 in html
    assert "Written warning" in html and "verify-proof" in html
    assert pack.to_pdf().startswith(b"%PDF-")


@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
def test_the_command_writes_the_pack_and_records_the_read(
    case_db: CaseDb, case_users: dict[str, User], tmp_path: Path
) -> None:
    step = _closed_case(case_db, case_users)
    _checkpoint(case_db.home)
    with open_store(case_db.home) as store:
        before = store.catalog.ledger_size()
    base = ["cases", "evidence", "--home", str(case_db.home), "--db", case_db.url]
    out = tmp_path / "pack.json"
    done = runner.invoke(app, [*base, "--case", step.case, "--as", "ann", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["case"]["reference"] == step.case
    with open_store(case_db.home) as store:
        (read,) = store.catalog.system_events(before)
    assert read.kind == "investigator_read" and json.loads(read.encoding or b"")["user"] == "ann"
    pdf = tmp_path / "pack.pdf"
    done = runner.invoke(
        app, [*base, "--case", step.case, "--as", "ann", "--format", "pdf", "--out", str(pdf)]
    )
    assert done.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    refused = runner.invoke(app, [*base, "--case", step.case, "--as", "bob", "--out", str(out)])
    assert refused.exit_code == 2 and "bob" in refused.output


def test_an_investigator_downloads_a_pack_that_verifies_and_others_get_403(
    detected_force: Path, tmp_path: Path
) -> None:
    from custodes.ledger import parse_vkey
    from tests.web_fixtures import build_site, two_cases

    site = build_site(detected_force, tmp_path)
    try:
        ids = two_cases(site)
        with open_store(site.home) as store:
            vkey = (
                store.db.execute("SELECT 1").fetchone()
                and store.catalog.db.execute("SELECT vkey FROM ledger WHERE id = 1").fetchone()[0]
            )
        answer = site.api("ann").get(f"/api/cases/{ids.own['case_id']}/evidence")
        assert answer.status_code == 200, answer.text
        verified = verify_receipt_set(answer.json(), [parse_vkey(vkey)])
        assert any(v.event["type"] == "access_event" for v in verified)
        pdf = site.api("ann").get(f"/cases/{ids.own['case_id']}/evidence?format=pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        other = site.api("ann").get(f"/api/cases/{ids.other['case_id']}/evidence")
        assert other.status_code == 403
    finally:
        site.close()
