"""Subject access: "who looked at my record, when and why", without the employee's identity
unless the DPO records why it is essential, computed at a checkpoint and recorded itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cli import app
from custodes.engine import duckdb_backend
from custodes.errors import CustodesError
from custodes.explain.run import explanations
from custodes.ledger import generate_signer
from custodes.store import ingest, issue_checkpoint, open_store
from custodes.subject import subject_access_report
from custodes.subject.render import to_html, to_json, to_pdf
from custodes.synth import generate

runner = CliRunner()
SIGNER = generate_signer("police.example/custodes")


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("subject")
    generate(root / "bundle", workforce=40, days=3, seed=5)
    ingest(root / "bundle", root / "home")
    with open_store(root / "home") as store:
        issue_checkpoint(store, SIGNER)
    return root / "home"


@pytest.fixture
def home(force: Path, tmp_path: Path) -> Path:
    """A copy of the force for tests that write (reports are recorded in the ledger)."""
    copy = tmp_path / "home"
    shutil.copytree(force, copy)
    return copy


def _busiest_subject(home: Path) -> str:
    with open_store(home) as store:
        rows = store.query(
            "SELECT subject_id FROM access_events WHERE subject_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    return str(rows[0][0])


def _employees(home: Path, subject: str) -> list[tuple[str, str]]:
    with open_store(home) as store:
        return [
            (str(p), f"{f} {s}")
            for p, f, s in store.query(
                "SELECT DISTINCT e.person_id, w.forenames, w.surname FROM access_events e "
                "JOIN workforce w USING (person_id) WHERE e.subject_id = ?",
                [subject],
            )
        ]


def test_every_access_is_listed_with_when_where_and_why(home: Path) -> None:
    subject = _busiest_subject(home)
    report = subject_access_report(home, subject, requested_by="dpo")
    with open_store(home) as store:
        stored = store.query(
            "SELECT ts, system, action FROM access_events WHERE subject_id = ? ORDER BY ts, event_id",
            [subject],
        )
    assert [(a.ts, a.system, a.action) for a in report.accesses] == stored
    assert all(a.unit and a.why for a in report.accesses)
    assert report.to_dict()["counts"]["accesses"] == len(stored)


def test_the_purpose_is_the_one_the_bulk_explanation_finds(home: Path) -> None:
    """Explaining a subject's accesses on their own (with each person's same-day context)
    gives what explaining every event gives."""
    subject = _busiest_subject(home)
    report = subject_access_report(home, subject, requested_by="dpo", record=False)
    with open_store(home) as store:
        bulk = explanations(duckdb_backend(store)).to_pyarrow().to_pylist()
        ids = [
            r[0]
            for r in store.query(
                "SELECT event_id FROM access_events WHERE subject_id = ? ORDER BY ts, event_id",
                [subject],
            )
        ]
    by_event = {row["event_id"]: row["explanation"] for row in bulk}
    assert [a.explanation for a in report.accesses] == [by_event[e] for e in ids]
    assert {a.explanation for a in report.accesses} - {"unexplained"}, "something is explained"


def test_no_employee_is_identified_without_a_recorded_reason(home: Path) -> None:
    subject = _busiest_subject(home)
    report = subject_access_report(home, subject, requested_by="dpo")
    shown = to_json(report) + to_html(report)
    for person_id, name in _employees(home, subject):
        assert person_id not in shown and name not in shown
    assert all(a.employee is None for a in report.accesses)


def test_with_a_reason_identities_are_included_and_the_reason_is_in_the_ledger(
    home: Path,
) -> None:
    subject = _busiest_subject(home)
    reason = "the subject alleges that a named officer harassed them"
    report = subject_access_report(home, subject, requested_by="dpo", identities_reason=reason)
    shown = to_json(report)
    assert all(person_id in shown for person_id, _ in _employees(home, subject))
    with open_store(home) as store:
        (event,) = store.catalog.system_events(
            report.ledger_leaf or 0, (report.ledger_leaf or 0) + 1
        )
    recorded = json.loads(event.encoding or b"")
    assert recorded["type"] == "subject_access_report"
    assert recorded["identities_reason"] == reason
    assert recorded["report_id"] == report.report_id and recorded["subject_id"] == subject


def test_each_report_is_one_ledger_event(home: Path) -> None:
    subject = _busiest_subject(home)
    with open_store(home) as store:
        before = store.catalog.ledger_size()
    first = subject_access_report(home, subject, requested_by="dpo")
    second = subject_access_report(home, subject, requested_by="dpo")
    assert (first.ledger_leaf, second.ledger_leaf) == (before, before + 1)


def test_a_report_regenerates_identically_from_its_checkpoint(home: Path, tmp_path: Path) -> None:
    subject = _busiest_subject(home)
    first = subject_access_report(home, subject, requested_by="dpo")
    # later, more accesses to the same subject arrive and a new checkpoint is issued
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "access_events.csv").write_text(
        "event_id,ts,person_id,action,system,subject_id\n"
        f"E-LATER-1,2026-03-01T10:00:00Z,P000001,consult,PNC,{subject}\n"
    )
    ingest(tmp_path / "more", home)
    with open_store(home) as store:
        issue_checkpoint(store, SIGNER)
    newest = subject_access_report(home, subject, requested_by="dpo")
    again = subject_access_report(home, subject, requested_by="someone else", as_of=first.as_of)
    assert len(newest.accesses) == len(first.accesses) + 1
    assert again.body() == first.body() and again.report_id == first.report_id
    assert newest.report_id != first.report_id


def test_without_a_checkpoint_or_a_known_subject_the_report_says_why(
    home: Path, tmp_path: Path
) -> None:
    with pytest.raises(CustodesError, match="no subject 'S-NOBODY'"):
        subject_access_report(home, "S-NOBODY", requested_by="dpo")
    with pytest.raises(CustodesError, match="who is generating"):
        subject_access_report(home, _busiest_subject(home), requested_by=" ")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "access_events.csv").write_text(
        "event_id,ts,person_id,action,system,subject_id\nE1,2026-01-05T08:00:00Z,P1,consult,PNC,S1\n"
    )
    ingest(tmp_path / "b", tmp_path / "fresh")
    with pytest.raises(CustodesError, match="run `custodes ledger checkpoint` first"):
        subject_access_report(tmp_path / "fresh", "S1", requested_by="dpo")


def test_the_pdf_is_a_document_a_person_can_read(home: Path) -> None:
    from weasyprint import HTML

    report = subject_access_report(home, _busiest_subject(home), requested_by="dpo")
    pdf = to_pdf(report)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000
    pages = HTML(string=to_html(report)).render().pages
    assert len(pages) >= 1
    assert "Access to your records" in to_html(report)


def test_the_command_writes_json_or_a_pdf_and_refuses_a_pdf_to_the_terminal(
    home: Path, tmp_path: Path
) -> None:
    subject = _busiest_subject(home)
    base = ["subject", "report", "--home", str(home), "--subject", subject]
    shown = runner.invoke(app, [*base, "--requested-by", "dpo"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["subject_id"] == subject
    pdf = tmp_path / "r.pdf"
    written = runner.invoke(
        app, [*base, "--requested-by", "dpo", "--format", "pdf", "--out", str(pdf)]
    )
    assert written.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    refused = runner.invoke(app, [*base, "--requested-by", "dpo", "--format", "pdf"])
    assert refused.exit_code == 2 and "a PDF needs --out" in refused.output
