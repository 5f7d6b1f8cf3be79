"""Detection end to end on a synthetic force: link, explain, detect, export, evaluate.

The force plants every misuse scenario; the ground truth is read only by ``evaluate``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cli import app
from custodes.detect import RULES, detect_home, export_alerts, load_alerts
from custodes.detect.alerts import EXPORT_COLUMNS
from custodes.evaluate import evaluate_alerts
from custodes.store import ingest
from custodes.synth import generate

runner = CliRunner()


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("force")
    bundle, home = root / "bundle", root / "home"
    generate(bundle, workforce=300, days=7, seed=4242)
    ingest(bundle, home)
    detect_home(home)
    return home, bundle / "truth"


def test_alerts_find_the_planted_misuse(force: tuple[Path, Path]) -> None:
    home, truth = force
    scores = evaluate_alerts(home, truth)
    assert scores["recall"] >= 0.9, scores["recall_by_scenario"]
    assert scores["precision"] >= 0.7, scores["by_rule"]


def test_every_alert_says_why_in_a_sentence_and_names_its_events(
    force: tuple[Path, Path],
) -> None:
    home, _ = force
    alerts = load_alerts(home).to_pylist()
    assert alerts
    rules = {r.name: r for r in RULES}
    for alert in alerts:
        rule = rules[alert["rule"]]
        assert alert["summary"] and "{" not in alert["summary"]
        assert alert["person_id"] in alert["summary"]
        assert len(alert["event_ids"].split(" ")) == alert["events"]
        assert (alert["subject_id"] is not None) == rule.per_subject
        assert json.loads(alert["evidence"])["looks_for"] == rule.looks_for
    scores = [a["score"] for a in alerts]
    assert scores == sorted(scores, reverse=True)


def test_the_export_has_the_contract_columns(force: tuple[Path, Path]) -> None:
    home, _ = force
    rows = list(csv.DictReader(io.StringIO(export_alerts(home, "csv"))))
    assert rows and tuple(rows[0]) == EXPORT_COLUMNS
    assert all(r["first_ts"].endswith("Z") and r["last_ts"] >= r["first_ts"] for r in rows)
    as_json = json.loads(export_alerts(home, "json"))
    assert [r["alert_id"] for r in as_json] == [r["alert_id"] for r in rows]
    assert len({r["alert_id"] for r in rows}) == len(rows)


def test_detect_is_repeatable(force: tuple[Path, Path]) -> None:
    home, _ = force
    before = export_alerts(home, "csv")
    detect_home(home)
    assert export_alerts(home, "csv") == before


def test_the_command_line(force: tuple[Path, Path], tmp_path: Path) -> None:
    home, truth = force
    shown = runner.invoke(app, ["detect", "--home", str(home), "--top", "3"])
    assert shown.exit_code == 0, shown.output
    assert "Top 3 alerts" in shown.stdout
    target = tmp_path / "alerts.json"
    exported = runner.invoke(
        app, ["alerts", "export", "--home", str(home), "--format", "json", "--out", str(target)]
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(target.read_text())
    scored = runner.invoke(app, ["evaluate", "--home", str(home), "--truth", str(truth)])
    assert scored.exit_code == 0, scored.output
    assert "recall" in scored.stdout and "legitimate events explained" in scored.stdout


def test_export_before_detect_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["alerts", "export", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "no alerts yet" in result.output


def test_a_suppression_silences_matching_alerts_until_it_expires(
    force: tuple[Path, Path], tmp_path: Path
) -> None:
    """Allow-listed: recorded in the ledger (who, why, until when); expired: no longer applies."""
    import shutil
    from datetime import date

    from custodes.detect.suppressions import add_suppression, list_suppressions
    from custodes.store import LeafPool, audit, open_store

    home = Path(shutil.copytree(force[0], tmp_path / "home"))
    target = next(a for a in load_alerts(home).to_pylist() if a["subject_id"] is not None)
    added = add_suppression(
        home,
        rule=target["rule"],
        person_id=target["person_id"],
        subject_id=target["subject_id"],
        reason="known carer of the subject, declared 2026-01-02",
        author="psd.inspector",
        expires=date(2026, 1, 31),
        today=date(2026, 1, 20),
    )
    with open_store(home) as store:
        opening = store.catalog.system_events(added.ledger_leaf, added.ledger_leaf + 1)[0]
        assert opening.kind == "suppression"
        assert b"known carer" in (opening.encoding or b"")
        with LeafPool() as pool:
            assert audit(store, pool).ok
    assert [s.suppression_id for s in list_suppressions(home)] == [added.suppression_id]

    silenced = detect_home(home, today=date(2026, 1, 25))
    raised = {a["alert_id"] for a in load_alerts(home).to_pylist()}
    assert target["alert_id"] not in raised
    assert silenced.suppressed == 1
    assert target["alert_id"] not in export_alerts(home, "csv")
    everything = load_alerts(home, include_suppressed=True).to_pylist()
    assert [a["suppressed_by"] for a in everything if a["alert_id"] == target["alert_id"]] == [
        added.suppression_id
    ]

    expired = detect_home(home, today=date(2026, 2, 1))
    assert expired.suppressed == 0
    assert target["alert_id"] in {a["alert_id"] for a in load_alerts(home).to_pylist()}


def test_a_suppression_must_be_accountable(force: tuple[Path, Path]) -> None:
    from datetime import date

    from custodes.detect.suppressions import add_suppression
    from custodes.errors import CustodesError

    home, _ = force
    with pytest.raises(CustodesError, match="never everyone"):
        add_suppression(home, rule="*", reason="x", author="y", expires=date(2099, 1, 1))
    with pytest.raises(CustodesError, match="unknown rule"):
        add_suppression(
            home, rule="nope", reason="x", author="y", expires=date(2099, 1, 1), person_id="P1"
        )
    with pytest.raises(CustodesError, match="already past"):
        add_suppression(
            home, rule="*", reason="x", author="y", expires=date(2000, 1, 1), person_id="P1"
        )


def test_suppressions_on_the_command_line(force: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    home = Path(shutil.copytree(force[0], tmp_path / "home"))
    base = ["suppress", "add", "--home", str(home), "--rule", "neighbour_lookup"]
    base += ["--person", "P1", "--reason", "lives next door to the station", "--author", "dpo"]
    bad = runner.invoke(app, [*base, "--expires", "soon"])
    assert bad.exit_code == 2
    assert "not a date" in bad.output
    good = runner.invoke(app, [*base, "--expires", "2099-12-31"])
    assert good.exit_code == 0, good.output
    assert "until 2099-12-31" in good.stdout
    listed = runner.invoke(app, ["suppress", "list", "--home", str(home), "--json"])
    assert [s["reason"] for s in json.loads(listed.stdout)] == ["lives next door to the station"]
