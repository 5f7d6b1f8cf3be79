"""The witness cosigns a log's checkpoints only while the log stays append-only: growth with a
valid consistency proof is cosigned; rollback, forks, truncation, bad proofs, unknown logs and
foreign keys are refused with a typed error, and a refusal never changes the witness's state."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import custodes.witness
from custodes.errors import CustodesError
from custodes.ledger import (
    COSIGNATURE_V1,
    Checkpoint,
    MerkleTree,
    Note,
    Signer,
    generate_signer,
    leaf_hash,
    open_checkpoint,
    parse_note,
)
from custodes.witness import (
    SIZE_CONTENT_TYPE,
    BadRequest,
    BadSignature,
    Conflict,
    InconsistentCheckpoint,
    UnknownLog,
    Witness,
    WitnessError,
    format_add_checkpoint,
)

ORIGIN = "police.example/custodes"
LOG_KEY = generate_signer(ORIGIN)
NOW = 1_767_225_600


class Log:
    """A log over a real Merkle tree on disk that signs its own checkpoints."""

    def __init__(self, path: Path, signer: Signer = LOG_KEY) -> None:
        self.tree = MerkleTree(path)
        self.signer = signer

    def grow(self, count: int, tag: str = "event") -> Log:
        start = self.tree.size
        self.tree.append([leaf_hash(f"{tag} {start + i}".encode()) for i in range(count)])
        return self

    def checkpoint(self, size: int | None = None) -> str:
        size = self.tree.size if size is None else size
        return Checkpoint(ORIGIN, size, self.tree.root(size)).sign(self.signer).format()

    def proof(self, old: int, size: int | None = None) -> list[bytes]:
        return self.tree.consistency_proof(old, size) if old else []


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    made = Log(tmp_path / "tree")
    yield made
    made.tree.close()


@pytest.fixture
def other_log(tmp_path: Path) -> Iterator[Log]:
    made = Log(tmp_path / "other-tree")
    yield made
    made.tree.close()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    made = Witness.init(tmp_path / "witness", "pcc.example/w1")
    made.trust_log(LOG_KEY.verifier().vkey)
    return made


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of a state directory but the lock, with its content."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "lock"
    }


def cosign(witness: Witness, log: Log, old: int, size: int | None = None) -> str:
    """Submit the log's checkpoint at ``size`` from ``old`` and return the cosigned note."""
    note = log.checkpoint(size)
    return note + witness.add_checkpoint(note, old, log.proof(old, size), timestamp=NOW)


def refuses(
    witness: Witness, error: type[WitnessError], note: str, old: int, proof: list[bytes]
) -> WitnessError:
    """Check that the witness refuses, with a one-line message and no change to its state."""
    before = snapshot(witness.path)
    with pytest.raises(error) as caught:
        witness.add_checkpoint(note, old, proof, timestamp=NOW)
    assert "\n" not in str(caught.value) and str(caught.value)
    assert isinstance(caught.value, CustodesError)
    assert snapshot(witness.path) == before
    reply = witness.handle(format_add_checkpoint(old, proof, note), timestamp=NOW)
    assert reply.status == error.status
    assert snapshot(witness.path) == before
    return caught.value


# -- acceptance ------------------------------------------------------------------------------


def test_the_first_checkpoint_is_accepted_from_old_zero(witness: Witness, log: Log) -> None:
    assert witness.state(ORIGIN) is None
    cosigned = cosign(witness, log.grow(5), 0)
    checkpoint, opened = open_checkpoint(cosigned, [witness.verifier])
    assert (checkpoint.size, checkpoint.root_hash) == (5, log.tree.root())
    (signature,) = opened.verified
    assert signature.timestamp == NOW
    assert witness.state(ORIGIN) == checkpoint
    assert witness.cosigned(ORIGIN) == cosigned


def test_growth_with_a_valid_proof_is_cosigned(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(3), 0)
    for grow in (1, 4, 9, 16, 1):
        old = log.tree.size
        cosigned = cosign(witness, log.grow(grow), old)
        checkpoint, opened = open_checkpoint(cosigned, [witness.verifier, LOG_KEY.verifier()])
        assert len(opened.verified) == 2
        assert witness.state(ORIGIN) == checkpoint
    assert witness.state(ORIGIN) == Checkpoint(ORIGIN, 34, log.tree.root())


def test_the_cosignature_is_a_cosignature_v1_by_the_witness_key(witness: Witness, log: Log) -> None:
    line = witness.add_checkpoint(log.grow(2).checkpoint(), 0, [], timestamp=NOW)
    assert line.startswith(f"— {witness.name} ") and line.endswith("\n")
    assert witness.verifier.algorithm == COSIGNATURE_V1
    (signature,) = parse_note(log.checkpoint() + line).signatures[1:]
    assert signature.key_id == witness.verifier.key_id
    assert witness.verifier.verify(log.checkpoint().split("\n\n")[0] + "\n", signature.signature)


def test_the_same_checkpoint_again_is_cosigned_again(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(4), 0)
    cosign(witness, log, 4)
    assert witness.state(ORIGIN) == Checkpoint(ORIGIN, 4, log.tree.root())


def test_an_empty_log_can_be_witnessed_then_grow(witness: Witness, log: Log) -> None:
    cosign(witness, log, 0)
    assert witness.state(ORIGIN) == Checkpoint(ORIGIN, 0, log.tree.root())
    cosign(witness, log.grow(3), 0)
    assert witness.state(ORIGIN) == Checkpoint(ORIGIN, 3, log.tree.root())


def test_handle_answers_200_with_the_cosignature(witness: Witness, log: Log) -> None:
    note = log.grow(6).checkpoint()
    reply = witness.handle(format_add_checkpoint(0, [], note).encode(), timestamp=NOW)
    assert reply.status == 200
    open_checkpoint(note + reply.body, [witness.verifier])


# -- refusals --------------------------------------------------------------------------------


def test_rollback_is_refused(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(8), 0)
    smaller = log.checkpoint(5)
    error = refuses(witness, BadRequest, smaller, 8, [])
    assert "roll back" in str(error)
    conflict = refuses(witness, Conflict, smaller, 5, log.proof(5, 5))
    assert isinstance(conflict, Conflict) and conflict.current_size == 8


def test_a_fork_at_the_same_size_is_refused(witness: Witness, log: Log, other_log: Log) -> None:
    cosign(witness, log.grow(8), 0)
    fork = other_log.grow(8, tag="forged").checkpoint()
    error = refuses(witness, InconsistentCheckpoint, fork, 8, [])
    assert "roots differ" in str(error)


def test_a_fork_that_grows_is_refused(witness: Witness, log: Log, other_log: Log) -> None:
    cosign(witness, log.grow(8), 0)
    other_log.grow(8, tag="forged").grow(5)
    refuses(witness, InconsistentCheckpoint, other_log.checkpoint(), 8, other_log.proof(8))


def test_truncate_and_resign_is_refused(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(8), 0)
    log.tree.truncate(5)
    log.grow(5, tag="rewritten")
    assert log.tree.root(8) != witness.state(ORIGIN).root_hash  # type: ignore[union-attr]
    refuses(witness, InconsistentCheckpoint, log.checkpoint(), 8, log.proof(8))


def test_a_wrong_old_size_is_a_conflict_with_the_current_size(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(8), 0)
    log.grow(4)
    for old in (0, 3, 9):
        conflict = refuses(witness, Conflict, log.checkpoint(), old, log.proof(old))
        assert isinstance(conflict, Conflict) and conflict.current_size == 8
    reply = witness.handle(format_add_checkpoint(0, [], log.checkpoint()))
    assert (reply.status, reply.content_type, reply.body) == (409, SIZE_CONTENT_TYPE, "8\n")


def test_a_fresh_witness_answers_conflict_zero(witness: Witness, log: Log) -> None:
    conflict = refuses(witness, Conflict, log.grow(8).checkpoint(), 4, log.proof(4))
    assert isinstance(conflict, Conflict) and conflict.current_size == 0


def test_an_unknown_log_is_refused(tmp_path: Path) -> None:
    witness = Witness.init(tmp_path / "w", "pcc.example/w1")
    stranger = generate_signer("stranger.example/log")
    note = Checkpoint("stranger.example/log", 0, leaf_hash(b"")).sign(stranger).format()
    refuses(witness, UnknownLog, note, 0, [])


def test_a_checkpoint_signed_by_another_key_is_refused(witness: Witness, tmp_path: Path) -> None:
    impostor = Log(tmp_path / "impostor", generate_signer(ORIGIN))
    try:
        refuses(witness, BadSignature, impostor.grow(3).checkpoint(), 0, [])
    finally:
        impostor.tree.close()


def test_a_checkpoint_altered_after_signing_is_refused(witness: Witness, log: Log) -> None:
    note = parse_note(log.grow(3).checkpoint())
    altered = Note(note.text.replace("\n3\n", "\n2\n"), note.signatures).format()
    refuses(witness, BadSignature, altered, 0, [])


def test_a_witness_cosignature_alone_is_not_the_log_signature(witness: Witness, log: Log) -> None:
    note = parse_note(cosign(witness, log.grow(3), 0))
    only_cosigned = Note(note.text, note.signatures[1:]).format()
    refuses(witness, BadSignature, only_cosigned, 3, [])


def test_a_tampered_proof_is_refused(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(6), 0)
    note = log.grow(7).checkpoint()
    proof = log.proof(6)
    assert len(proof) > 1
    for index in range(len(proof)):
        flipped = list(proof)
        flipped[index] = bytes([proof[index][0] ^ 1]) + proof[index][1:]
        refuses(witness, InconsistentCheckpoint, note, 6, flipped)
    refuses(witness, InconsistentCheckpoint, note, 6, proof[:-1])
    refuses(witness, InconsistentCheckpoint, note, 6, [*proof, proof[0]])
    refuses(witness, InconsistentCheckpoint, note, 6, [])
    with pytest.raises(InconsistentCheckpoint):
        witness.add_checkpoint(note, 6, [b"short", *proof[1:]])
    with pytest.raises(BadRequest):
        format_add_checkpoint(6, [b"short"], note)
    cosign(witness, log, 6)  # the honest proof still passes


def test_a_proof_from_the_empty_tree_must_be_empty(witness: Witness, log: Log) -> None:
    log.grow(4)
    refuses(witness, InconsistentCheckpoint, log.checkpoint(), 0, log.tree.consistency_proof(1))


def test_a_size_zero_checkpoint_needs_the_empty_root(witness: Witness) -> None:
    note = Checkpoint(ORIGIN, 0, leaf_hash(b"x")).sign(LOG_KEY).format()
    refuses(witness, InconsistentCheckpoint, note, 0, [])


def test_a_malformed_checkpoint_is_a_bad_request(witness: Witness) -> None:
    refuses(witness, BadRequest, "not a note\n", 0, [])
    unsigned_body = "police.example/custodes\n1\nnot base64\n"
    with pytest.raises(BadRequest):
        witness.add_checkpoint(unsigned_body + "\n— x AAAAAAAA\n", 0, [])


# -- the state directory ---------------------------------------------------------------------


def test_reopening_keeps_the_key_the_logs_and_the_state(
    witness: Witness, log: Log, tmp_path: Path
) -> None:
    cosign(witness, log.grow(8), 0)
    reopened = Witness.open(tmp_path / "witness")
    assert reopened.verifier == witness.verifier
    assert reopened.logs() == [ORIGIN]
    assert reopened.state(ORIGIN) == witness.state(ORIGIN)
    with pytest.raises(Conflict):
        reopened.add_checkpoint(log.grow(2).checkpoint(), 0, [])
    cosign(reopened, log, 8)
    assert Witness.open(tmp_path / "witness").state(ORIGIN) == Checkpoint(
        ORIGIN, 10, log.tree.root()
    )


def test_the_key_file_is_private_and_never_shown(witness: Witness, tmp_path: Path) -> None:
    key = tmp_path / "witness" / "witness.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # PRIVATE+KEY+<name>+<key ID>+<base64>: the base64 itself may hold "+"
    secret = key.read_text().strip().split("+", 4)[4]
    assert secret not in repr(witness)
    key.chmod(0o644)
    with pytest.raises(WitnessError, match="chmod 600") as caught:
        Witness.open(tmp_path / "witness")
    assert secret not in str(caught.value)


def test_the_state_files_are_laid_out_as_documented(witness: Witness, log: Log) -> None:
    cosign(witness, log.grow(2), 0)
    assert sorted(snapshot(witness.path)) == [
        "FORMAT",
        "logs/police.example%2Fcustodes.checkpoint",
        "logs/police.example%2Fcustodes.vkey",
        "witness.key",
    ]
    vkey_file = witness.path / "logs" / "police.example%2Fcustodes.vkey"
    assert vkey_file.read_text() == LOG_KEY.verifier().vkey + "\n"


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(WitnessError, match="not an empty directory"):
        Witness.init(tmp_path / "full", "w")
    with pytest.raises(WitnessError, match="not a witness state directory"):
        Witness.open(tmp_path / "full")


def test_trust_log_is_idempotent_and_takes_only_note_keys(witness: Witness) -> None:
    before = snapshot(witness.path)
    witness.trust_log(LOG_KEY.verifier())
    assert snapshot(witness.path) == before
    with pytest.raises(WitnessError, match="not a log's note key"):
        witness.trust_log(generate_signer("w2", COSIGNATURE_V1).verifier())
    rotated = generate_signer(ORIGIN)
    witness.trust_log(rotated.verifier().vkey)
    assert witness.log_keys(ORIGIN) == [LOG_KEY.verifier(), rotated.verifier()]


def test_a_rotated_log_key_is_accepted(witness: Witness, tmp_path: Path) -> None:
    rotated = generate_signer(ORIGIN)
    witness.trust_log(rotated.verifier())
    new_log = Log(tmp_path / "rotated", rotated)
    try:
        cosign(witness, new_log.grow(3), 0)
    finally:
        new_log.tree.close()


def test_every_public_name_is_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "ledger.md").read_text()
    section = doc[doc.index("## The witness") :]
    assert [name for name in custodes.witness.__all__ if f"`{name}" not in section] == []
