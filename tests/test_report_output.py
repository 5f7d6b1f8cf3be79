"""Reports as people get them: the same report byte for byte when regenerated from its as-of
ledger size, worked cases counted once closed, every format carrying the counting rules and
the provenance, charts that render, and the commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from custodes.cases import workflow
from custodes.cases.db import open_cases
from custodes.cases.importer import import_cases
from custodes.cases.models import User
from custodes.cli import app
from custodes.ledger import generate_signer
from custodes.report import Period, ReportError, Source, build_report, render
from custodes.report import charts as report_charts
from custodes.report.render import chart_specs
from custodes.store.ledger import issue_checkpoint
from custodes.store.store import open_store

HEADER = (
    "case_id,force,incident_date,person_ref,role,breach_type,outcome,outcome_date,systems,notes\n"
)
FIRST = HEADER + (
    "C1,,2014-02-03,P1,officer,unauthorised_access,conviction_dpa_s170,2015-01-01,PNC,\n"
    "C1,,2014-02-03,P1,officer,unauthorised_access,dismissal_without_notice,,PNC,\n"
    "C2,,2014-06-30,P2,staff,inappropriate_disclosure,no_further_action,,RMS;PND,\n"
    "C3,,2014-11-11,P3,staff,other,not_provided,,,\n"
)
LATER = HEADER + "C4,,2014-03-03,P4,officer,unauthorised_access,written_warning,,PNC,\n"
YEAR = Period.parse("2014-01-01", "2014-12-31")


def imported_home(tmp_path: Path, text: str = FIRST, name: str = "home") -> Path:
    home = tmp_path / name
    path = tmp_path / f"{name}-{len(text)}.csv"
    path.write_text(text, encoding="utf-8")
    import_cases(path, home)
    return home


def outputs(home: Path, as_of: str = "latest") -> dict[str, bytes]:
    report = build_report([Source(home, as_of=as_of)], YEAR)
    return {fmt: render(report, "foi", fmt) for fmt in ("json", "csv", "html")}


def test_a_report_regenerated_at_its_as_of_size_is_byte_for_byte_the_same(
    tmp_path: Path,
) -> None:
    home = imported_home(tmp_path)
    first = outputs(home)
    as_of = json.loads(first["json"])["provenance"][0]["as_of"]
    assert outputs(home) == first, "nothing new: the same report"
    import_cases(write(tmp_path / "later.csv", LATER), home)
    assert outputs(home)["json"] != first["json"], "the new case counts from now on"
    assert outputs(home, as_of=str(as_of)) == first, "and not in the report taken before"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_report_states_the_data_it_was_built_from(tmp_path: Path) -> None:
    home = imported_home(tmp_path)
    store = open_store(home)
    try:
        issue_checkpoint(store, generate_signer("custodes.test/force"))
        size = store.catalog.ledger_size()
        with store.read_tree() as tree:
            root = tree.root(size).hex()
    finally:
        store.close()
    data = json.loads(render(build_report([Source(home)], YEAR), "foi", "json"))
    (origin,) = data["provenance"]
    assert (origin["as_of"], origin["ledger_root"]) == (size, root)
    assert origin["checkpoint"]["size"] == size and origin["log"] == "custodes.test/force"
    (imported,) = origin["imports"]
    assert imported["file"].endswith(".csv") and len(imported["sha256"]) == 64
    assert data["forces"] == ["home"], "a case without a force is labelled by its HOME"
    checkpoint = build_report([Source(home, as_of="checkpoint")], YEAR)
    assert checkpoint.provenance[0].as_of == size


def test_a_worked_case_counts_once_closed_and_stays_out_of_earlier_reports(
    tmp_path: Path,
) -> None:
    home = imported_home(tmp_path)
    db = open_cases(home)
    with db.session() as session:
        session.add_all(
            [
                User(name="ann", role="investigator", password_hash="-"),
                User(name="rita", role="reviewer", password_hash="-"),
            ]
        )
    with db.session() as session:
        ann, rita = (
            session.scalars(select(User).where(User.name == n)).one() for n in ("ann", "rita")
        )
    step = workflow.open_case(db, ann, "Looked up a neighbour", reviewer="rita")
    case = step.case_id
    step = workflow.add_allegation(
        db,
        ann,
        case,
        step.version,
        "unauthorised_access",
        systems="PNC",
        incident_date="2014-08-01",
    )
    step = workflow.add_person(db, ann, case, step.version, "E9", role="officer")
    for status in ("assessment", "outcome"):
        step = workflow.change_status(db, ann, case, step.version, status, "assessed")
    step = workflow.record_outcome(db, ann, case, step.version, "E9", "final_written_warning")
    step = workflow.change_status(db, ann, case, step.version, "review", "for sign-off")
    while_open = build_report([Source(home)], YEAR)
    assert while_open.total.in_progress == 1
    assert while_open.to_dict()["internally_disciplined"] == {"officer": 0, "staff": 0}
    workflow.close_case(db, rita, case, step.version, "final written warning given")
    db.close()
    closed = build_report([Source(home)], YEAR)
    assert closed.total.in_progress == 0
    assert closed.to_dict()["internally_disciplined"] == {"officer": 1, "staff": 0}
    assert closed.provenance[0].worked_cases == 1
    again = build_report([Source(home, as_of=str(while_open.provenance[0].as_of))], YEAR)
    assert render(again, "foi", "json") == render(while_open, "foi", "json")


def test_every_format_carries_the_rules_the_provenance_and_every_line(tmp_path: Path) -> None:
    report = build_report([Source(imported_home(tmp_path))], YEAR)
    data = report.to_dict()
    rows = list(csv.reader(io.StringIO(render(report, "foi", "csv").decode())))
    codes = [row[0] for row in rows[1:]]
    assert rows[0] == ["line", "description", "unit", "officer", "staff", "total"]
    assert [c for c in codes if c.startswith("R")] == [f"R{i}" for i in range(1, 13)]
    assert "P1" in codes and "P1.1" in codes
    assert [line["code"] for line in data["lines"]] == [c for c in codes if c[0] in "ABCDEFGH"]
    assert {
        "B1",
        "B5",
        "B6",
        "C4",
        "E.unauthorised_access",
        "F.PNC",
        "G.caution",
        "H.2014-06",
    } <= set(codes)
    by_code = {row[0]: row for row in rows}
    assert by_code["B1"][3:] == ["1", "0", "1"]
    assert by_code["C4"][3:] == ["", "", "0.3333"]
    html = render(report, "foi", "html").decode()
    for rule in data["counting_rules"]:
        assert rule.split(":")[0] in html
    assert data["provenance"][0]["ledger_root"] in html
    assert "--as-of" in html and "must not be added up" in html
    forces_csv = render(report, "forces", "csv").decode()
    assert forces_csv.splitlines()[0].startswith("line,force,convicted_officer,convicted_staff")
    assert "\nR12," in forces_csv and "\nT,all forces," in forces_csv


def test_the_charts_render_to_images_with_their_titles(tmp_path: Path) -> None:
    report = build_report([Source(imported_home(tmp_path))], YEAR)
    specs = chart_specs(report, "foi") + chart_specs(report, "forces")
    titles = [title for title, _ in specs]
    assert report_charts.MONTH_TITLE in titles and report_charts.OUTCOME_TITLE in titles
    assert report_charts.FORCES_TITLE in titles
    for title, spec in specs:
        assert spec["title"] == title
        image = Image.open(io.BytesIO(report_charts.png(spec))).convert("RGB")
        assert image.width > 300 and image.height > 60, title
        colours = image.getcolors(maxcolors=1 << 16) or []
        assert len(colours) > 10, f"{title}: more than a blank canvas"
        bars = {report_charts.RESULT_COLOURS[0], report_charts.ROLE_COLOURS[0]}
        drawn = {"#{:02x}{:02x}{:02x}".format(*rgb) for _, rgb in colours}
        assert bars & drawn, f"{title}: no bar drawn"
        assert title in report_charts.svg(spec)


def page_text(box: object) -> str:
    """The text of a laid-out WeasyPrint page box."""
    text = getattr(box, "text", "")
    for child in getattr(box, "children", []) or []:
        text += " " + page_text(child)
    return text


def test_the_pdf_has_pages_with_the_titles_the_answers_and_the_rules(tmp_path: Path) -> None:
    import weasyprint

    report = build_report([Source(imported_home(tmp_path))], YEAR)
    html = render(report, "foi", "html").decode()
    document = weasyprint.HTML(string=html).render()
    assert len(document.pages) >= 2
    text = " ".join(page_text(page._page_box) for page in document.pages)
    words = " ".join(text.split())
    for expected in (
        "Misuse of police data: incidents and outcomes",
        "The five questions",
        "Convicted of an offence",
        report_charts.MONTH_TITLE,
        report_charts.OUTCOME_TITLE,
        "Counting rules",
        "Data and provenance",
    ):
        assert expected in words, expected
    pdf = render(report, "foi", "pdf")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000


def test_across_forces_the_totals_are_the_sum_of_the_rows(tmp_path: Path) -> None:
    kent = imported_home(tmp_path, FIRST.replace(",,2014", ",Kent,2014"), "kent")
    two = FIRST.replace(",,2014", ",Avon,2014") + LATER.removeprefix(HEADER).replace(
        ",,", ",Dorset,", 1
    )
    national = imported_home(tmp_path, two, "national")
    report = build_report([Source(kent), Source(national)], YEAR)
    assert report.forces == ("Avon", "Dorset", "Kent")
    table = json.loads(render(report, "forces", "json"))
    rows = table["rows"]
    assert [r["force"] for r in rows] == ["Avon", "Dorset", "Kent"]
    for key in (
        "distinct_incidents",
        "distinct_persons",
        "naive_sum",
        "no_disciplinary_action_incidents",
    ):
        assert table["totals"][key] == sum(r[key] for r in rows)
    assert table["totals"]["convicted"] == {"officer": 2, "staff": 0}
    assert table["totals"]["share_no_formal_action"] == round(2 / 7, 4)
    assert len(table["provenance"]) == 2
    only = build_report([Source(kent), Source(national)], YEAR, forces=["Kent"])
    assert only.forces == ("Kent",) and only.total == report.per_force["Kent"]


def test_reports_refuse_what_they_cannot_answer(tmp_path: Path) -> None:
    home = imported_home(tmp_path)
    copy = imported_home(tmp_path, FIRST, "home2")
    with pytest.raises(ReportError, match="counted twice"):
        build_report([Source(home), Source(home)], YEAR)
    with pytest.raises(ReportError, match="no cases of force 'Dorest'; forces with cases: home"):
        build_report([Source(home)], YEAR, forces=["Dorest"])
    with pytest.raises(ReportError, match="is not a size of the ledger"):
        build_report([Source(home, as_of="99")], YEAR)
    with pytest.raises(ReportError, match="not latest, checkpoint or a ledger size"):
        build_report([Source(home, as_of="yesterday")], YEAR)
    with pytest.raises(ReportError, match="no signed checkpoint yet"):
        build_report([Source(copy, as_of="checkpoint")], YEAR)
    with pytest.raises(ReportError, match="no Custodes store here"):
        build_report([Source(tmp_path / "nowhere")], YEAR)
    with pytest.raises(ReportError, match=r"ends .* before it starts"):
        Period.parse("2015-01-01", "2014-01-01")
    with pytest.raises(ReportError, match="--from '2015-13-01' is not a date"):
        Period.parse("2015-13-01", "2016-01-01")


def test_the_commands_write_reports_and_record_them_in_the_ledger(tmp_path: Path) -> None:
    home = imported_home(tmp_path)
    runner = CliRunner()
    base = ["report", "foi", "--home", str(home), "--from", "2014-01-01", "--to", "2014-12-31"]
    result = runner.invoke(app, [*base, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["convicted"] == {"officer": 1, "staff": 0}
    assert "recorded in the ledger (leaf 1)" in result.stderr
    again = runner.invoke(app, [*base, "--format", "json", "-q"])
    assert again.stdout == result.stdout and again.stderr == ""
    store = open_store(home)
    kinds = [e.kind for e in store.catalog.system_events()]
    store.close()
    assert kinds == ["cases_import", "report_generated", "report_generated"]
    refused = runner.invoke(app, [*base, "--format", "pdf"])
    assert refused.exit_code == 2 and "give --out FILE.pdf" in refused.stderr
    pdf = tmp_path / "foi.pdf"
    written = runner.invoke(app, [*base, "--format", "pdf", "--out", str(pdf)])
    assert written.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    table = runner.invoke(
        app,
        [
            "report",
            "forces",
            "--home",
            str(home),
            "--from",
            "2014-01-01",
            "--to",
            "2014-12-31",
            "--format",
            "csv",
        ],
    )
    assert table.exit_code == 0 and "\nT,all forces,1,0," in table.stdout
    bad = runner.invoke(app, [*base[:-1], "2013-12-31"])
    assert bad.exit_code == 2 and "before it starts" in bad.stderr
