"""Malformed notes, keys, proofs and checkpoints on the command line: one line, a non-zero
exit, never a traceback. Hypothesis mutates valid inputs (truncation, wrong base64, a wrong key
name, extra lines, random bytes) and every command that reads them must refuse cleanly."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from custodes.cli import app
from custodes.ledger import (
    Checkpoint,
    InclusionProof,
    Receipt,
    generate_signer,
    leaf_hash,
    merkle_root,
)
from custodes.witness import Witness, format_add_checkpoint

runner = CliRunner()
LOG = generate_signer("police.example/custodes")
SALT = bytes(range(32))
ENCODING = b'{"event_id":"E1","type":"access_event"}'


def _valid_receipt() -> str:
    from custodes.ledger import event_leaf

    leaf = event_leaf(SALT, ENCODING)
    other = leaf_hash(b"other")
    root = merkle_root([leaf, other])
    note = Checkpoint(LOG.name, 2, root).sign(LOG).format()
    proof = InclusionProof(0, 2, leaf, (other,), root)
    return json.dumps(Receipt(proof, note, SALT, ENCODING).to_json())


VALID_RECEIPT = _valid_receipt()
VALID_NOTE = json.loads(VALID_RECEIPT)["checkpoint"]


def _mutations(valid: str) -> st.SearchStrategy[str]:
    """Truncations, a changed character, an inserted line, or arbitrary text."""
    n = len(valid)
    return st.one_of(
        st.integers(0, n - 1).map(lambda cut: valid[:cut]),
        st.tuples(st.integers(0, n - 1), st.characters()).map(
            lambda change: valid[: change[0]] + change[1] + valid[change[0] + 1 :]
        ),
        st.tuples(st.integers(0, n), st.text(max_size=20)).map(
            lambda extra: valid[: extra[0]] + "\n" + extra[1] + "\n" + valid[extra[0] :]
        ),
        st.text(max_size=200),
    )


def _same_json(text: str, valid: str) -> bool:
    try:
        return bool(json.loads(text) == json.loads(valid))
    except ValueError:
        return False


def _refused_cleanly(result: Result) -> None:
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@settings(max_examples=60)
@given(_mutations(VALID_RECEIPT))
def test_verify_proof_refuses_any_mangled_receipt(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        receipt = Path(tmp) / "receipt.json"
        receipt.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = runner.invoke(
            app, ["ledger", "verify-proof", str(receipt), "--vkey", LOG.verifier().vkey]
        )
    if _same_json(text, VALID_RECEIPT):  # e.g. only whitespace added between tokens
        assert result.exit_code == 0
    else:
        _refused_cleanly(result)


@settings(max_examples=40)
@given(_mutations(LOG.verifier().vkey))
def test_verify_proof_refuses_any_mangled_vkey(vkey: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        receipt = Path(tmp) / "receipt.json"
        receipt.write_text(VALID_RECEIPT)
        result = runner.invoke(app, ["ledger", "verify-proof", str(receipt), "--vkey", vkey])
    if vkey.strip() == LOG.verifier().vkey:
        assert result.exit_code == 0
    else:
        _refused_cleanly(result)


@settings(max_examples=40)
@given(_mutations(LOG.skey))
def test_checkpoint_refuses_any_mangled_signing_key(skey: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "log.key"
        key.write_text(skey, encoding="utf-8", errors="surrogatepass")
        result = runner.invoke(
            app, ["ledger", "checkpoint", "--home", str(Path(tmp) / "home"), "--key", str(key)]
        )
    _refused_cleanly(result)  # no store here either: refused, one line, whatever the key


@pytest.fixture(scope="module")
def witness_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("w") / "state"
    Witness.init(state, "pcc.example/w").trust_log(LOG.verifier().vkey)
    return state


@settings(max_examples=60)
@given(request=_mutations(format_add_checkpoint(0, [], VALID_NOTE)))
def test_the_witness_refuses_any_mangled_request(witness_state: Path, request: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "request.txt"
        body.write_text(request, encoding="utf-8", errors="surrogatepass")
        result = runner.invoke(
            app, ["witness", "add-checkpoint", "--state", str(witness_state), str(body)]
        )
    if result.exit_code != 0:
        _refused_cleanly(result)
