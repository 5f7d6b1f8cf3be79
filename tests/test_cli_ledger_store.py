"""The store's ledger through the command line: checkpoint, prove, consistency, verify, erase,
and a witness fed by the log."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodes.cli import app
from tests.conftest import EVENTS, WORKFORCE, BundleFactory

runner = CliRunner()
LOG = "police.example/custodes"


@pytest.fixture
def log_key(tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "keys" / "log.key"
    result = runner.invoke(app, ["ledger", "keygen", "--name", LOG, "--out", str(key)])
    assert result.exit_code == 0, result.output
    return key, result.stdout.strip()


@pytest.fixture
def store(make_bundle: BundleFactory, home: Path) -> Path:
    bundle = make_bundle(workforce=WORKFORCE, access_events=EVENTS)
    assert runner.invoke(app, ["ingest", str(bundle), "--home", str(home), "-q"]).exit_code == 0
    return home


def _checkpoint(home: Path, key: Path) -> str:
    result = runner.invoke(app, ["ledger", "checkpoint", "--home", str(home), "--key", str(key)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_checkpoint_signs_the_log_and_needs_a_key(
    store: Path, log_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTODES_LOG_KEY", raising=False)
    refused = runner.invoke(app, ["ledger", "checkpoint", "--home", str(store)])
    assert refused.exit_code == 2
    assert "no signing key" in refused.output
    key, _ = log_key
    monkeypatch.setenv("CUSTODES_LOG_KEY", str(key))
    result = runner.invoke(app, ["ledger", "checkpoint", "--home", str(store), "--json"])
    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)
    assert (signed["origin"], signed["size"]) == (LOG, 3 + 2)  # 3 events, 2 batches
    assert signed["note"].startswith(f"{LOG}\n5\n")


def test_prove_prints_a_receipt_that_verify_proof_accepts(
    store: Path, log_key: tuple[Path, str], tmp_path: Path
) -> None:
    key, vkey = log_key
    _checkpoint(store, key)
    result = runner.invoke(app, ["ledger", "prove", "--home", str(store), "--event", "E3"])
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    assert set(receipt) == {
        "leafIdx",
        "treeSize",
        "leafHash",
        "proof",
        "root",
        "checkpoint",
        "opening",
    }
    assert json.loads(receipt["opening"]["encoding"])["event_id"] == "E3"
    path = tmp_path / "receipt.json"
    path.write_text(result.stdout)
    checked = runner.invoke(app, ["ledger", "verify-proof", str(path), "--vkey", vkey])
    assert checked.exit_code == 0, checked.output
    assert f"entry {receipt['leafIdx']} of {LOG}" in checked.stdout


def test_prove_needs_exactly_one_target(store: Path) -> None:
    for args in ([], ["--event", "E1", "--leaf", "0"]):
        result = runner.invoke(app, ["ledger", "prove", "--home", str(store), *args])
        assert result.exit_code == 2
        assert "exactly one of --event or --leaf" in result.output


def test_consistency_prints_the_transparency_dev_shape(
    store: Path, make_bundle: BundleFactory
) -> None:
    result = runner.invoke(
        app, ["ledger", "consistency", "--home", str(store), "--from", "2", "--to", "5"]
    )
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"size1", "size2", "root1", "root2", "proof"}
    beyond = runner.invoke(
        app, ["ledger", "consistency", "--home", str(store), "--from", "2", "--to", "99"]
    )
    assert beyond.exit_code == 2
    assert "committed size" in beyond.output


def test_verify_passes_a_clean_store_and_names_the_first_bad_leaf(
    store: Path, log_key: tuple[Path, str]
) -> None:
    _checkpoint(store, log_key[0])
    clean = runner.invoke(app, ["ledger", "verify", "--home", str(store)])
    assert clean.exit_code == 0, clean.output
    assert "verified: 5 leaves (3 access events, 2 system events" in clean.stdout

    # An insider edits one event's purpose in the Parquet file.
    (part,) = (store / "store" / "access_events" / "month=2026-02").rglob("*.parquet")
    table = pq.read_table(part, partitioning=None)
    purposes = table.column("purpose").to_pylist()
    purposes[0] = "nothing to see"
    table = table.set_column(table.schema.get_field_index("purpose"), "purpose", [purposes])
    pq.write_table(table, part)

    tampered = runner.invoke(app, ["ledger", "verify", "--home", str(store), "--json"])
    assert tampered.exit_code == 1
    report = json.loads(tampered.stdout)
    assert report["ok"] is False
    assert report["first_bad_leaf"] == 3  # E3: the third event, after the workforce batch
    assert "does not match its leaf" in report["first_problem"]
    plain = runner.invoke(app, ["ledger", "verify", "--home", str(store)])
    assert plain.exit_code == 1
    assert "tampering detected: leaf 3" in plain.output


def test_erase_records_a_tombstone(store: Path) -> None:
    result = runner.invoke(
        app,
        [
            "ledger",
            "erase",
            "--home",
            str(store),
            "--event",
            "E2",
            "--reason",
            "court order",
            "--by",
            "dpo",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tombstone is leaf 5" in result.stdout
    verified = runner.invoke(app, ["ledger", "verify", "--home", str(store)])
    assert verified.exit_code == 0, verified.output
    assert "1 lawfully erased" in verified.stdout
    missing = runner.invoke(
        app, ["ledger", "erase", "--home", str(store), "--event", "E9", "--reason", "x"]
    )
    assert missing.exit_code == 2
    assert "no access event 'E9'" in missing.output


def test_a_witness_cosigns_the_logs_checkpoints_through_the_cli(
    store: Path, log_key: tuple[Path, str], tmp_path: Path, make_bundle: BundleFactory
) -> None:
    key, vkey = log_key
    state = tmp_path / "witness"
    assert (
        runner.invoke(
            app, ["witness", "init", "--state", str(state), "--name", "pcc.example/w"]
        ).exit_code
        == 0
    )
    assert runner.invoke(app, ["witness", "trust", "--state", str(state), vkey]).exit_code == 0

    def submit(old_size: int) -> tuple[int, str]:
        request = runner.invoke(
            app, ["ledger", "witness-request", "--home", str(store), "--old-size", str(old_size)]
        )
        assert request.exit_code == 0, request.output
        path = tmp_path / f"request-{old_size}.txt"
        path.write_text(request.stdout)
        reply = runner.invoke(app, ["witness", "add-checkpoint", "--state", str(state), str(path)])
        return reply.exit_code, reply.output

    _checkpoint(store, key)
    assert submit(0)[0] == 0
    more = "event_id,ts,person_id,action,system\nE7,2026-03-01T10:00:00Z,P1,consult,PNC\n"
    runner.invoke(app, ["ingest", str(make_bundle(access_events=more)), "--home", str(store)])
    _checkpoint(store, key)
    status, output = submit(5)
    assert status == 0, output
    assert output.startswith("— pcc.example/w ")
    stale, reason = submit(5)  # the witness now holds 7: an old size is a conflict
    assert stale == 2
    assert "409" in reason


def test_status_shows_the_ledger(store: Path, log_key: tuple[Path, str]) -> None:
    _checkpoint(store, log_key[0])
    result = runner.invoke(app, ["status", "--home", str(store), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ledger"] | {"last_checkpoint_at": None} == {
        "size": 5,
        "log": LOG,
        "checkpoints": 1,
        "last_checkpoint_size": 5,
        "last_checkpoint_at": None,
        "erasures": 0,
        "witnesses": [],
    }
    plain = runner.invoke(app, ["status", "--home", str(store)])
    assert "ledger: 5 leaves; the last checkpoint" in plain.stdout
