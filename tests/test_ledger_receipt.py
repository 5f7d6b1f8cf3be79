"""Receipts: one event, its opening, an inclusion proof and a signed checkpoint, checked offline
with nothing but the log's verifier key."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from custodes.cli import app
from custodes.ledger import (
    Checkpoint,
    InclusionProof,
    LedgerFormatError,
    MerkleTree,
    ProofError,
    Receipt,
    SignatureError,
    commitment,
    event_leaf,
    generate_signer,
    leaf_hash,
    verify_receipt,
)

LOG = generate_signer("police.example/custodes")
EVENTS = [
    json.dumps({"event_id": f"E{i}", "person_id": "P1", "subject_id": f"S{i}"}, sort_keys=True)
    for i in range(9)
]


def _receipt(tmp_path: Path, index: int = 6) -> Receipt:
    salts = [os.urandom(32) for _ in EVENTS]
    with MerkleTree(tmp_path / "tree") as tree:
        tree.append([event_leaf(s, e.encode()) for s, e in zip(salts, EVENTS, strict=True)])
        signed = Checkpoint(LOG.name, tree.size, tree.root()).sign(LOG).format()
        proof = InclusionProof(
            index, tree.size, tree.leaf_hash(index), tuple(tree.inclusion_proof(index)), tree.root()
        )
    return Receipt(proof, signed, salts[index], EVENTS[index].encode())


def test_a_receipt_verifies_with_the_log_key_and_opens_the_event(tmp_path: Path) -> None:
    receipt = Receipt.from_json(json.dumps(_receipt(tmp_path).to_json()))
    verified = verify_receipt(receipt, [LOG.verifier()])
    assert verified.event["event_id"] == "E6"
    assert (verified.leaf_index, verified.checkpoint.size) == (6, 9)


def test_the_leaf_commits_to_a_salted_encoding() -> None:
    salt = bytes(32)
    assert event_leaf(salt, b"{}") == leaf_hash(commitment(salt, b"{}"))
    assert commitment(salt, b"{}") != commitment(bytes([1]) + bytes(31), b"{}")


@pytest.mark.parametrize(
    ("tamper", "error", "message"),
    [
        (
            lambda r: Receipt(r.inclusion, r.checkpoint, r.salt, r.encoding.replace(b"E6", b"E7")),
            ProofError,
            "opening",
        ),
        (
            lambda r: Receipt(r.inclusion, r.checkpoint, os.urandom(32), r.encoding),
            ProofError,
            "opening",
        ),
        (
            lambda r: Receipt(
                type(r.inclusion)(
                    5,
                    r.inclusion.tree_size,
                    r.inclusion.leaf_hash,
                    r.inclusion.proof,
                    r.inclusion.root,
                ),
                r.checkpoint,
                r.salt,
                r.encoding,
            ),
            ProofError,
            None,
        ),
        (
            lambda r: Receipt(
                r.inclusion, r.checkpoint.replace("\n9\n", "\n10\n"), r.salt, r.encoding
            ),
            SignatureError,
            None,
        ),
    ],
    ids=["changed-event", "other-salt", "wrong-index", "edited-checkpoint"],
)
def test_a_tampered_receipt_fails(tmp_path: Path, tamper, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        verify_receipt(tamper(_receipt(tmp_path)), [LOG.verifier()])


def test_a_receipt_signed_by_another_log_fails(tmp_path: Path) -> None:
    other = generate_signer("police.example/custodes")
    with pytest.raises(SignatureError):
        verify_receipt(_receipt(tmp_path), [other.verifier()])


@given(
    st.one_of(st.text(), st.binary(), st.dictionaries(st.text(max_size=12), st.text(max_size=12)))
)
def test_reading_anything_gives_a_receipt_or_a_format_error(value: object) -> None:
    with contextlib.suppress(LedgerFormatError):
        Receipt.from_json(value)


def test_verify_proof_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    receipt = _receipt(tmp_path)
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(receipt.to_json()))
    vkey = LOG.verifier().vkey
    result = runner.invoke(app, ["ledger", "verify-proof", str(good), "--vkey", vkey])
    assert result.exit_code == 0, result.output
    assert "verified: entry 6 of police.example/custodes" in result.output

    forged = tmp_path / "forged.json"
    data = receipt.to_json()
    data["opening"]["encoding"] = data["opening"]["encoding"].replace("E6", "E1")
    forged.write_text(json.dumps(data))
    failed = runner.invoke(app, ["ledger", "verify-proof", str(forged), "--vkey", vkey])
    assert failed.exit_code == 1
    assert "does not verify" in failed.output

    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"leafIdx": 1}')
    broken = runner.invoke(app, ["ledger", "verify-proof", str(garbage), "--vkey", vkey])
    assert broken.exit_code == 2
    assert "missing" in broken.output


def _receipt_set(tmp_path: Path) -> dict[str, object]:
    items = []
    for index in (2, 6):
        receipt = _receipt(tmp_path / str(index), index)
        items.append(
            {
                "label": f"event E{index}",
                "content": json.loads(receipt.encoding),
                "receipt": receipt.to_json(),
            }
        )
    return {"format": "custodes/evidence/v1", "case": {"reference": "PSD-1"}, "receipts": items}


def test_an_evidence_pack_verifies_every_receipt_and_what_it_shows(tmp_path: Path) -> None:
    from custodes.ledger import is_receipt_set, verify_receipt_set

    document = json.loads(json.dumps(_receipt_set(tmp_path)))
    assert is_receipt_set(document) and not is_receipt_set(_receipt(tmp_path / "one").to_json())
    verified = verify_receipt_set(document, [LOG.verifier()])
    assert [v.event["event_id"] for v in verified] == ["E2", "E6"]


def test_editing_what_an_evidence_pack_shows_is_caught(tmp_path: Path) -> None:
    from custodes.ledger import verify_receipt_set

    document = _receipt_set(tmp_path)
    items = document["receipts"]
    assert isinstance(items, list)
    items[1]["content"]["subject_id"] = "S-someone-else"
    with pytest.raises(ProofError, match="event E6: the content shown is not what"):
        verify_receipt_set(document, [LOG.verifier()])
    with pytest.raises(LedgerFormatError, match="empty"):
        verify_receipt_set({"receipts": []}, [LOG.verifier()])
    with pytest.raises(LedgerFormatError, match="item 1 needs exactly"):
        verify_receipt_set({"receipts": [{"label": "x"}]}, [LOG.verifier()])
    with pytest.raises(SignatureError):
        verify_receipt_set(
            _receipt_set(tmp_path / "again"), [generate_signer("x.example/o").verifier()]
        )


def test_verify_proof_checks_a_whole_pack_from_the_command_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack.json"
    pack.write_text(json.dumps(_receipt_set(tmp_path)))
    runner = CliRunner()
    good = runner.invoke(app, ["ledger", "verify-proof", str(pack), "--vkey", LOG.verifier().vkey])
    assert good.exit_code == 0 and "verified: all 2 receipts" in good.output
    document = _receipt_set(tmp_path / "b")
    document["receipts"][0]["content"]["purpose"] = "edited"  # type: ignore[index]
    pack.write_text(json.dumps(document))
    bad = runner.invoke(app, ["ledger", "verify-proof", str(pack), "--vkey", LOG.verifier().vkey])
    assert bad.exit_code == 1 and "content shown is not what the receipt proves" in bad.output
