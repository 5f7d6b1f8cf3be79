"""The role policy, the pseudonym key, and the ledger record of every read of personal data."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cases import access, alerts, workflow
from custodes.cases.audit import decode_ids, record_read
from custodes.cases.db import CaseDb
from custodes.cases.errors import Invalid
from custodes.cases.models import User
from custodes.cases.taxonomy import USER_ROLES
from custodes.cli import app
from custodes.errors import CustodesError
from tests.test_cases_workflow import ledger_verifies, system_events


def test_every_role_has_a_policy_and_only_reviewers_and_the_dpo_see_names() -> None:
    assert set(access.ROLE_PERMISSIONS) == set(USER_ROLES)
    assert {"reviewer", "dpo"} == access.SEES_NAMES_IN_QUEUE
    assert {r for r, p in access.ROLE_PERMISSIONS.items() if access.SIGN_OFF in p} == {"reviewer"}
    assert {r for r, p in access.ROLE_PERMISSIONS.items() if access.TRIAGE in p} == {
        "investigator",
        "reviewer",
    }
    for permissions in access.ROLE_PERMISSIONS.values():
        assert permissions <= set(access.DOING)


def test_the_pseudonym_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(access.pseudonym_key(tmp_path)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    secret = tmp_path / access.SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [access.SECRET_FILE]

    os.chmod(secret, 0o644)
    with pytest.raises(CustodesError, match="readable by others: run `chmod 600"):
        access.pseudonym_key(tmp_path)
    os.chmod(secret, 0o600)
    secret.write_bytes(b"short")
    with pytest.raises(CustodesError, match="not a pseudonym key"):
        access.pseudonym_key(tmp_path)


def test_pseudonyms_are_stable_keyed_and_kind_specific() -> None:
    one, other = b"k" * 32, b"x" * 32
    employee = access.pseudonym("employee", "P000123", one)
    assert employee == access.pseudonym("employee", "P000123", one)
    assert employee.startswith("EMP-") and len(employee) == 16
    assert access.pseudonym("subject", "P000123", one).startswith("SUBJ-")
    assert access.pseudonym("subject", "P000123", one)[5:] != employee[4:]
    assert access.pseudonym("employee", "P000123", other) != employee
    with pytest.raises(ValueError, match="unknown pseudonym kind"):
        access.pseudonym("officer", "P000123", one)


def test_each_read_is_one_ledger_leaf_naming_who_saw_what(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    alerts.sync_alerts(case_db)
    ann, rita = case_users["ann"], case_users["rita"]
    page = alerts.list_alerts(case_db, rita, per_page=10)
    step = alerts.escalate(case_db, ann, [page.items[0].alert_id], "A case")
    case = workflow.get_case(case_db, ann, step.case)

    queue_leaf = record_read(
        case_db,
        rita,
        "alert queue, page 1",
        people=page.person_ids,
        subjects=page.subject_ids,
        items=[v.alert_id for v in page.items],
    )
    case_leaf = record_read(
        case_db.home,
        ann,
        "case page",
        case=case.reference,
        people=[*case.person_ids, *case.person_ids],
    )
    recorded = {leaf: (kind, fields) for leaf, kind, fields in system_events(case_db.home)}
    kind, fields = recorded[queue_leaf]
    assert kind == "investigator_read"
    assert (fields["user"], fields["role"], fields["view"], fields["case"]) == (
        "rita",
        "reviewer",
        "alert queue, page 1",
        None,
    )
    assert decode_ids(fields["people"]) == sorted(set(page.person_ids))
    assert decode_ids(fields["items"]) == sorted(v.alert_id for v in page.items)
    kind, fields = recorded[case_leaf]
    assert (fields["user"], fields["case"]) == ("ann", case.reference)
    assert json.loads(fields["people"]) == sorted(set(case.person_ids))
    assert json.loads(fields["subjects"]) == []
    assert case_leaf == queue_leaf + 1
    with pytest.raises(Invalid, match="what was shown"):
        record_read(case_db, ann, " ")
    assert ledger_verifies(case_db.home)


def test_the_command_line_syncs_and_lists_without_personal_data(
    case_db: CaseDb, case_users: dict[str, User]
) -> None:
    runner = CliRunner()
    home, url = str(case_db.home), case_db.url
    synced = runner.invoke(app, ["cases", "sync", "--home", home, "--db", url, "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout)["inserted"] == 18
    shown = runner.invoke(app, ["cases", "sync", "--home", home, "--db", url])
    assert "18 alerts from detection: 0 new to the queue" in shown.stdout

    rita = alerts.list_alerts(case_db, case_users["rita"]).items[0]
    step = alerts.escalate(case_db, case_users["ann"], [rita.alert_id], "Secret title")
    listed = runner.invoke(app, ["cases", "list", "--home", home, "--db", url, "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["reference"], row["status"], row["owner"], row["age_days"]) == (
        step.case,
        "open",
        "ann",
        0,
    )
    table = runner.invoke(app, ["cases", "list", "--home", home, "--db", url])
    assert step.case in table.stdout
    for output in (listed.stdout, table.stdout):
        assert "Secret title" not in output and rita.person not in output

    bad = runner.invoke(app, ["cases", "list", "--home", home, "--db", url, "--status", "shut"])
    assert bad.exit_code == 2 and "unknown status 'shut'" in bad.stderr
    nowhere = runner.invoke(app, ["cases", "sync", "--home", home, "--db", "mysql://x"])
    assert nowhere.exit_code == 2 and "Traceback" not in nowhere.output
