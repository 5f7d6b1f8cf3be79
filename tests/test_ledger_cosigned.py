"""Witness cosignatures kept by the store: what a real witness cosigned comes back through
`custodes ledger cosigned`, is checked against the witness's key and the checkpoints the store
issued, and shows in `custodes status` and on the ledger page; a forged or mismatched one is
refused and nothing is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from custodes.cases.db import open_cases
from custodes.cases.users import add_user
from custodes.cli import app
from custodes.ledger import generate_signer
from custodes.store import ingest, open_store
from custodes.store.ledger import record_actions
from custodes.web.app import create_app
from tests.conftest import EVENTS, UNITS, WORKFORCE, BundleFactory
from tests.web_fixtures import TestClient

runner = CliRunner()
PASSWORD = "correct horse battery staple"


def cli(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


class Deployment:
    """A store with a log key, and a witness (its own state directory) that trusts the log."""

    def __init__(self, root: Path, bundle: Path, log: str = "police.example/log") -> None:
        self.home = root / "home"
        ingest(bundle, self.home)
        self.key = root / "log.key"
        self.log_vkey = cli(
            "ledger", "keygen", "--name", log, "--out", str(self.key)
        ).stdout.strip()
        self.state = root / "witness"
        self.witness_vkey = cli(
            "witness", "init", "--state", str(self.state), "--name", "pcc.example/witness"
        ).stdout.strip()
        assert cli("witness", "trust", "--state", str(self.state), self.log_vkey).exit_code == 0
        self.witness_size = 0

    def checkpoint(self) -> None:
        signed = cli("ledger", "checkpoint", "--home", str(self.home), "--key", str(self.key))
        assert signed.exit_code == 0, signed.output

    def witness(self) -> str:
        """Send the newest checkpoint to the witness; its cosignature line."""
        request = cli(
            "ledger",
            "witness-request",
            "--home",
            str(self.home),
            "--old-size",
            str(self.witness_size),
        )
        assert request.exit_code == 0, request.output
        answer = cli(
            "witness", "add-checkpoint", "--state", str(self.state), "-", stdin=request.stdout
        )
        assert answer.exit_code == 0, answer.output
        self.witness_size = int(request.stdout.split("\n\n", 1)[1].split("\n")[1])
        return answer.stdout

    def cosigned(self, lines: str, *vkeys: str) -> Result:
        options = [a for vkey in (vkeys or (self.witness_vkey,)) for a in ("--witness-vkey", vkey)]
        return cli("ledger", "cosigned", "--home", str(self.home), *options, "-", stdin=lines)

    def kept(self) -> list[tuple[int, str]]:
        with open_store(self.home) as store:
            return [(c.seq, c.witness) for c in store.catalog.cosignatures()]


@pytest.fixture
def deployment(tmp_path: Path, make_bundle: BundleFactory) -> Deployment:
    bundle = make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS)
    return Deployment(tmp_path, bundle)


def test_a_witness_cosignature_goes_from_the_witness_into_the_store(
    deployment: Deployment,
) -> None:
    deployment.checkpoint()
    line = deployment.witness()
    kept = deployment.cosigned(line)
    assert kept.exit_code == 0, kept.output
    assert "kept: pcc.example/witness cosigned checkpoint 1" in kept.stdout
    assert deployment.kept() == [(1, "pcc.example/witness")]

    # The log grows, the witness cosigns the next checkpoint after checking the proof.
    record_actions(deployment.home, [("case_step", {"case": "PSD-1"})])
    deployment.checkpoint()
    again = deployment.cosigned(deployment.witness())
    assert again.exit_code == 0 and "checkpoint 2" in again.stdout
    status = json.loads(cli("status", "--home", str(deployment.home), "--json").stdout)
    (witness,) = status["ledger"]["witnesses"]
    assert (witness["witness"], witness["checkpoint"]) == ("pcc.example/witness", 2)
    assert witness["checkpoint_size"] == status["ledger"]["last_checkpoint_size"]
    assert witness["key_id"] == deployment.witness_vkey.split("+")[1]

    # The same line again keeps nothing new.
    repeated = deployment.cosigned(line, deployment.witness_vkey)
    assert repeated.exit_code == 0 and "already kept" in repeated.stdout
    assert deployment.kept() == [(2, "pcc.example/witness"), (1, "pcc.example/witness")]


def flip(line: str, at: int = -6) -> str:
    """The line with one character of its signature changed (still valid base64)."""
    body = line.rstrip("\n")
    return body[:at] + ("A" if body[at] != "A" else "B") + body[at + 1 :] + "\n"


def test_a_forged_cosignature_is_refused_and_nothing_is_kept(deployment: Deployment) -> None:
    deployment.checkpoint()
    line = deployment.witness()
    forged = deployment.cosigned(line + flip(line))
    assert forged.exit_code == 2
    assert "line 2" in forged.output and "does not verify" in forged.output
    assert deployment.kept() == [], "all or nothing: the good line 1 was not kept either"


def test_a_cosignature_of_another_logs_checkpoint_is_refused(
    deployment: Deployment, tmp_path: Path, make_bundle: BundleFactory
) -> None:
    deployment.checkpoint()
    bundle = make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS)
    other = Deployment(tmp_path / "other", bundle, log="other.example/log")
    other.checkpoint()
    assert cli("witness", "trust", "--state", str(deployment.state), other.log_vkey).exit_code == 0
    other.state = deployment.state  # the same witness cosigns the other log's checkpoint
    line = other.witness()
    mismatched = deployment.cosigned(line)
    assert mismatched.exit_code == 2
    assert "does not verify for any of the 1 checkpoints this store issued" in mismatched.output
    assert deployment.kept() == []


def test_the_witness_key_must_be_the_one_that_signed(deployment: Deployment) -> None:
    deployment.checkpoint()
    line = deployment.witness()
    impostor = generate_signer("pcc.example/witness").as_cosigner().verifier().vkey
    wrong_key = deployment.cosigned(line, impostor)
    assert wrong_key.exit_code == 2 and "not among the witness keys given" in wrong_key.output
    log_key = deployment.cosigned(line, deployment.log_vkey)
    assert log_key.exit_code == 2 and "not a witness's cosigning key" in log_key.output
    assert deployment.kept() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no cosignature line"),
        ("old 0\n", "line 1 is not a cosignature line"),
        ("— pcc.example/witness !!!\n", "line 1 is not a well-formed cosignature line"),
    ],
)
def test_what_is_not_a_cosignature_is_refused_in_one_line(
    deployment: Deployment, text: str, message: str
) -> None:
    deployment.checkpoint()
    refused = deployment.cosigned(text)
    assert refused.exit_code == 2
    assert message in refused.output and len(refused.output.strip().splitlines()) == 1


def test_before_any_checkpoint_there_is_nothing_to_cosign(deployment: Deployment) -> None:
    refused = deployment.cosigned("— pcc.example/witness AAAA\n")
    assert refused.exit_code == 2 and "issued no checkpoint" in refused.output


def test_the_ledger_page_shows_the_witness_and_what_it_cosigned(deployment: Deployment) -> None:
    deployment.checkpoint()
    assert deployment.cosigned(deployment.witness()).exit_code == 0
    db = open_cases(deployment.home)
    add_user(db, "olly", "overseer", PASSWORD)
    db.close()
    application = create_app(deployment.home)
    with TestClient(application) as client:
        signed_in = client.post("/api/login", json={"name": "olly", "password": PASSWORD})
        assert signed_in.status_code == 200
        status = client.get("/api/ledger").json()
        page = client.get("/ledger").text
    assert status["cosigned"] is True
    (witness,) = status["witnesses"]
    assert (witness["witness"], witness["checkpoint"]) == ("pcc.example/witness", 1)
    (cosignature,) = [s for s in status["latest"]["signatures"] if s["kind"] != "log"]
    assert cosignature["name"] == "pcc.example/witness" and cosignature["checked"] is True
    assert cosignature["cosigned_at"] == witness["cosigned_at"]
    assert "pcc.example/witness" in page and "against the witness&#39;s key" in page
    assert "No witness cosignature has been kept yet" not in page
