"""The ledger and witness commands, end to end through the command line."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from custodes.cli import app
from custodes.ledger import Checkpoint, MerkleTree, leaf_hash, parse_signer_key, parse_vkey
from custodes.witness import format_add_checkpoint

runner = CliRunner()


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "log.key"
    result = runner.invoke(
        app, ["ledger", "keygen", "--name", "police.example/custodes", "--out", str(key_file)]
    )
    assert result.exit_code == 0, result.output
    vkey = result.stdout.strip()
    assert vkey.startswith("police.example/custodes+")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    signer = parse_signer_key(key_file.read_text().strip())
    assert signer.verifier().vkey == parse_vkey(vkey).vkey
    assert signer.skey not in result.output  # the secret is never printed


def test_keygen_never_overwrites_a_key(tmp_path: Path) -> None:
    key_file = tmp_path / "log.key"
    key_file.write_text("keep me\n")
    result = runner.invoke(
        app, ["ledger", "keygen", "--name", "x.example/log", "--out", str(key_file)]
    )
    assert result.exit_code == 2
    assert "never overwritten" in result.output
    assert key_file.read_text() == "keep me\n"


def _submit(state: Path, old: int, proof: list[bytes], note: str) -> Result:
    """Send an add-checkpoint request, as a file, to the witness at ``state``."""
    request = state.parent / f"request-{old}-{len(proof)}-{abs(hash(note))}.txt"
    request.write_text(format_add_checkpoint(old, proof, note))
    return runner.invoke(app, ["witness", "add-checkpoint", "--state", str(state), str(request)])


def test_a_witness_cosigns_growth_and_refuses_a_rewritten_history(tmp_path: Path) -> None:
    key_file = tmp_path / "log.key"
    log_vkey = runner.invoke(
        app, ["ledger", "keygen", "--name", "police.example/custodes", "--out", str(key_file)]
    ).stdout.strip()
    signer = parse_signer_key(key_file.read_text().strip())
    state = tmp_path / "witness"
    witness_vkey = runner.invoke(
        app, ["witness", "init", "--state", str(state), "--name", "pcc.example/witness"]
    ).stdout.strip()
    assert witness_vkey.startswith("pcc.example/witness+")
    assert runner.invoke(app, ["witness", "trust", "--state", str(state), log_vkey]).exit_code == 0

    with MerkleTree(tmp_path / "tree") as tree:
        tree.append([leaf_hash(f"event {i}".encode()) for i in range(5)])
        first = Checkpoint(signer.name, 5, tree.root()).sign(signer).format()
        accepted = _submit(state, 0, [], first)
        assert accepted.exit_code == 0, accepted.output
        assert accepted.stdout.startswith("— pcc.example/witness ")

        tree.append([leaf_hash(f"event {i}".encode()) for i in range(5, 9)])
        second = Checkpoint(signer.name, 9, tree.root()).sign(signer).format()
        grown = _submit(state, 5, tree.consistency_proof(5, 9), second)
        assert grown.exit_code == 0, grown.output

    # The log is rewritten: same size, another history. The witness refuses and keeps its state.
    with MerkleTree(tmp_path / "forged") as forged:
        forged.append([leaf_hash(f"other {i}".encode()) for i in range(9)])
        fork = Checkpoint(signer.name, 9, forged.root()).sign(signer).format()
    refused = _submit(state, 9, [], fork)
    assert refused.exit_code == 2
    assert "refused (422)" in refused.output
    shown = runner.invoke(app, ["witness", "show", "--state", str(state), "--json"])
    assert '"size": 9' in shown.stdout

    stale = _submit(state, 5, [], second)  # the witness has moved on to size 9
    assert stale.exit_code == 2
    assert "refused (409)" in stale.output
