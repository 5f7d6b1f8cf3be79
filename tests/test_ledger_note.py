"""Signed notes, keys, checkpoints and cosignatures: the published examples verify, round trips
hold, and every parser, fed anything at all, either returns a value that formats back to its
input or raises a one-line LedgerFormatError."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    LedgerError,
    LedgerFormatError,
    Note,
    Signature,
    SignatureError,
    Verifier,
    generate_signer,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_vkey,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
EXAMPLE = VECTORS / "c2sp-signed-note" / "example.json"

# The example of Go's golang.org/x/mod/sumdb/note package documentation.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# The checkpoint body of the C2SP tlog-checkpoint specification.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

LOG = generate_signer("log.example/custodes")
WITNESS = generate_signer("witness.example/w1", COSIGNATURE_V1)
ROOT = bytes(range(32))


def example() -> dict[str, str]:
    if not EXAMPLE.is_file():
        pytest.skip(f"shared test vectors not found at {EXAMPLE}")
    data: dict[str, str] = json.loads(EXAMPLE.read_text())
    return data


# -- published examples ----------------------------------------------------------------------


def test_the_c2sp_example_verifies_with_its_vkey() -> None:
    data = example()
    verifier = parse_vkey(data["vkey"])
    assert (verifier.name, f"{verifier.key_id:08x}", verifier.algorithm) == (
        "example.com/foo",
        "530d903a",
        ED25519,
    )
    assert verifier.vkey == data["vkey"]
    opened = open_note(data["note"], [verifier])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s in opened.verified] == ["example.com/foo"]
    assert parse_note(data["note"]).format() == data["note"]


def test_the_c2sp_example_fails_when_altered() -> None:
    data = example()
    verifier = parse_vkey(data["vkey"])
    note = data["note"]
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(note.replace("example message", "example massage"), [verifier])
    encoded = note.rsplit(" ", 1)[1].strip()
    for position in (10, 40, len(encoded) - 5):  # inside the signature, past the key ID
        changed = encoded[:position] + ("A" if encoded[position] != "A" else "B")
        changed += encoded[position + 1 :]
        with pytest.raises(SignatureError, match="does not verify"):
            open_note(note.replace(encoded, changed), [verifier])
    # A changed key ID makes it a stranger's signature: ignored, so nothing known verifies.
    changed = ("B" if encoded[0] != "B" else "C") + encoded[1:]
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(note.replace(encoded, changed), [verifier])
    other = generate_signer("example.com/foo").verifier()
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(note, [other])


def test_the_go_note_example_is_reproduced_exactly() -> None:
    signer = parse_signer_key(GO_SKEY)
    assert signer.skey == GO_SKEY
    assert signer.verifier().vkey == GO_VKEY
    assert Note(GO_TEXT, (signer.sign(GO_TEXT),)).format() == GO_NOTE  # Ed25519 is deterministic
    assert open_note(GO_NOTE, [parse_vkey(GO_VKEY)]).text == GO_TEXT


def test_the_spec_checkpoint_parses() -> None:
    checkpoint = parse_checkpoint(SPEC_CHECKPOINT)
    assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == (
        "example.com/behind-the-sofa",
        20852163,
        (),
    )
    assert checkpoint.format() == SPEC_CHECKPOINT


# -- round trips -----------------------------------------------------------------------------

note_texts = st.lists(
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30), min_size=1, max_size=5
).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=60, deadline=None)
@given(note_texts)
def test_sign_format_parse_verify(text: str) -> None:
    other = generate_signer("someone.else/key")
    note = Note(text, (LOG.sign(text), other.sign(text)))
    formatted = note.format()
    assert parse_note(formatted) == note
    opened = open_note(formatted, [LOG.verifier()])
    assert opened.text == text
    assert [s.name for s in opened.verified] == [LOG.name]
    assert [s.name for s in opened.ignored] == [other.name]


@settings(max_examples=60, deadline=None)
@given(
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
    st.integers(0, 2**64 - 1),
    st.lists(st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1), max_size=3),
)
def test_checkpoint_format_parse(origin: str, size: int, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, ROOT, tuple(extensions))
    assert parse_checkpoint(checkpoint.format()) == checkpoint
    assert parse_checkpoint(checkpoint.format().encode()) == checkpoint


def test_keys_round_trip() -> None:
    for role in (ED25519, COSIGNATURE_V1):
        signer = generate_signer("custodes.example/log", role)
        again = parse_signer_key(signer.skey, role)
        assert (again.name, again.key_id, again.public_key) == (
            signer.name,
            signer.key_id,
            signer.public_key,
        )
        verifier = parse_vkey(signer.verifier().vkey)
        assert verifier == signer.verifier()
        assert verifier.algorithm == role
        assert signer.skey not in repr(signer)


def test_a_signed_and_cosigned_checkpoint_opens() -> None:
    checkpoint = Checkpoint(LOG.name, 12, ROOT)
    note = checkpoint.sign(LOG)
    cosigned = note.with_signatures(WITNESS.sign(note.text, timestamp=1_700_000_000))
    parsed, opened = open_checkpoint(cosigned.format(), [LOG.verifier(), WITNESS.verifier()])
    assert parsed == checkpoint
    assert [s.name for s in opened.verified] == [LOG.name, WITNESS.name]
    assert opened.verified[1].timestamp == 1_700_000_000
    # Cosigning again replaces the witness's earlier cosignature.
    again = cosigned.with_signatures(WITNESS.sign(note.text, timestamp=1_700_000_100))
    assert [s.timestamp for s in again.signatures if s.name == WITNESS.name] == [1_700_000_100]


def test_a_cosignature_signs_the_specified_message() -> None:
    body = SPEC_CHECKPOINT
    signature = WITNESS.sign(body, timestamp=1679315147)
    assert len(signature.signature) == 72
    assert signature.signature[:8] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + body.encode()
    Ed25519PublicKey.from_public_bytes(WITNESS.public_key).verify(signature.signature[8:], message)
    assert WITNESS.verifier().vkey.split("+")[2].startswith("B")  # type byte 0x04
    assert WITNESS.key_id != parse_signer_key(WITNESS.skey).key_id
    assert LOG.as_cosigner().key_id != LOG.key_id


def test_cosignatures_and_note_signatures_do_not_stand_in_for_each_other() -> None:
    text = Checkpoint(LOG.name, 1, ROOT).format()
    ed25519 = parse_signer_key(WITNESS.skey)  # the same key in the note-signing role
    assert ed25519.key_id != WITNESS.key_id
    cosigned = Note(text, (WITNESS.sign(text, timestamp=5),)).format()
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(cosigned, [ed25519.verifier()])
    # The same key ID and name, but a note signature where a cosignature belongs: rejected.
    forged = Note(text, (Signature(WITNESS.name, WITNESS.key_id, ed25519.sign(text).signature),))
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(forged.format(), [WITNESS.verifier()])
    # A changed timestamp breaks the cosignature.
    good = WITNESS.sign(text, timestamp=5)
    moved = Signature(good.name, good.key_id, (6).to_bytes(8, "big") + good.signature[8:])
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(Note(text, (moved,)).format(), [WITNESS.verifier()])


def test_signature_checks() -> None:
    text = "hello\n"
    bad = Signature(LOG.name, LOG.key_id, bytes(64))
    good = LOG.sign(text)
    with pytest.raises(SignatureError, match=f"signature by {LOG.name}\\+{LOG.key_id:08x}"):
        open_note(Note(text, (good, bad)).format(), [LOG.verifier()])
    assert len(open_note(Note(text, (good, good)).format(), [LOG.verifier()]).verified) == 1
    duplicate = Verifier(LOG.name, ED25519, LOG.public_key)
    open_note(Note(text, (good,)).format(), [LOG.verifier(), duplicate])  # the same key twice
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(Note(text, (good,)).format(), [])
    with pytest.raises(LedgerFormatError, match="not the 72 of a cosignature"):
        _ = good.timestamp
    with pytest.raises(ValueError, match="no timestamp"):
        LOG.sign(text, timestamp=1)
    with pytest.raises(ValueError, match=r"0\.\.2\^64-1"):
        WITNESS.sign(text, timestamp=2**64)
    with pytest.raises(LedgerFormatError, match="does not end with a newline"):
        LOG.sign("no newline")
    with pytest.raises(LedgerFormatError, match="at least one signature"):
        Note(text, ()).format()
    with pytest.raises(LedgerFormatError, match="is empty"):
        Signature(LOG.name, 1, b"")
    with pytest.raises(LedgerFormatError, match="32 bits"):
        Signature(LOG.name, 1 << 32, b"x")


# -- malformed input: each message names what is wrong ---------------------------------------

SIG = LOG.sign("hello\n").line


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("hello\n" + SIG + "\n", "no blank line before its signatures"),
        ("hello\n\n", "has no signature lines"),
        ("hello\n\n" + SIG, "does not end with a newline"),
        ("hello\n\n-- a AAAAAAA=\n", "does not start with an em dash"),
        ("hello\n\n— nosignature\n", "no space before the signature"),
        ("hello\n\n—  AAAAAAA=\n", "key name is empty"),
        ("hello\n\n— a+b AAAAAAA=\n", "contains a plus sign"),
        ("hello\n\n— a\u00a0b AAAAAAA=\n", "contains a space"),
        ("hello\n\n— a !!!!\n", "signature on line 1 is not valid base64"),
        ("hello\n\n— a AAAAAAF=\n", "signature on line 1 is not canonical base64"),
        ("hello\n\n— a AAAAAA==\n", "signature on line 1 is truncated"),
        ("hel\x01lo\n\n— a AAAAAAA=\n", "control character"),
        ("hello\r\n\n— a AAAAAAA=\n", "control character"),
        (b"h\xffllo\n\n\xe2\x80\x94 a AAAAAAA=\n", "not valid UTF-8"),
        ("hello\ud800\n\n— a AAAAAAA=\n", "not valid UTF-8"),
        ("hello\n\n" + ("— a AAAAAAA=\n" * 101), "more than 100 signatures"),
        ("x" * (1 << 20) + "\n\n— a AAAAAAA=\n", "larger than 1048576 bytes"),
        ("hello\n\n" + SIG + "\n" + "— b AAAAAAA=\n— c\n", "line 3 has no space"),
    ],
)
def test_malformed_notes(data: str | bytes, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        parse_note(data)


EXAMPLE_KEY = "AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


TYPE_2_KEY = _b64(bytes([2]) + bytes(32))
SHORT_KEY = _b64(bytes([1]) + bytes(31))


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("example.com/foo", "not of the form name\\+keyid\\+key"),
        ("example.com/foo+530d903a", "not of the form name\\+keyid\\+key"),
        (f"example.com/foo+530D903A+{EXAMPLE_KEY}", "not 8 lowercase hex digits"),
        (f"example.com/foo+530d903+{EXAMPLE_KEY}", "not 8 lowercase hex digits"),
        (f"example.com/foo+530d903b+{EXAMPLE_KEY}", "does not match its key"),
        (f"example.com/bar+530d903a+{EXAMPLE_KEY}", "does not match its key"),
        (f"+530d903a+{EXAMPLE_KEY}", "key name is empty"),
        (f"exa mple+530d903a+{EXAMPLE_KEY}", "contains a space"),
        ("example.com/foo+530d903a+!!!!", "not valid base64"),
        ("example.com/foo+530d903a+", "public key is empty"),
        (f"example.com/foo+530d903a+{TYPE_2_KEY}", "type 0x02 is not supported"),
        (f"example.com/foo+530d903a+{SHORT_KEY}", "is 31 bytes, not 32"),
        (f"example.com/foo+530d903a+{EXAMPLE_KEY}\n", "not canonical base64|not valid base64"),
    ],
)
def test_malformed_vkeys(vkey: str, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        parse_vkey(vkey)


@pytest.mark.parametrize(
    ("skey", "message"),
    [
        (GO_SKEY.replace("PRIVATE+KEY", "PRIVATE+KEYS"), "does not start with PRIVATE\\+KEY\\+"),
        ("PRIVATE+KEY+PeterNeumann", "not of the form"),
        (GO_SKEY.replace("c74f20a3", "c74f20a4"), "does not match its key"),
        (GO_SKEY.replace("PeterNeumann", "Peter+Neumann"), "not 8 lowercase hex digits"),
        ("PRIVATE+KEY+a+00000000+" + _b64(b"\x04" + bytes(32)), "is not Ed25519"),
        ("PRIVATE+KEY+a+00000000+" + _b64(b"\x01" + bytes(31)), "seed is 31 bytes"),
        ("PRIVATE+KEY+a+00000000+", "private key is empty"),
    ],
)
def test_malformed_signer_keys(skey: str, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        parse_signer_key(skey)


R = _b64(ROOT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"o\n1\n{R}", "does not end with a newline"),
        ("o\n1\n", "truncated"),
        ("", "does not end with a newline"),
        (f"\n1\n{R}\n", "origin line is empty"),
        (f"o\n01\n{R}\n", "tree size has leading zeros"),
        (f"o\n-1\n{R}\n", "tree size is not a decimal number"),
        (f"o\n 1\n{R}\n", "tree size is not a decimal number"),
        (f"o\n\n{R}\n", "tree size is not a decimal number"),
        (f"o\n١\n{R}\n", "tree size is not a decimal number"),
        (f"o\n18446744073709551616\n{R}\n", "tree size is larger than 2\\^64-1"),
        ("o\n1\nAAAA\n", "root hash is 3 bytes, not 32"),
        ("o\n1\n!!\n", "root hash is not valid base64"),
        (f"o\n1\n{R[:-2]}\n", "root hash is not valid base64"),
        (f"o\n1\n{R}\n\n", "extension line 1 is empty"),
        (f"o\n1\n{R}\next\n\nmore\n", "extension line 2 is empty"),
        (f"o\t\n1\n{R}\n", "origin line contains a control character"),
        (b"\xff\n1\n" + R.encode() + b"\n", "not valid UTF-8"),
    ],
)
def test_malformed_checkpoints(text: str | bytes, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        parse_checkpoint(text)


# -- fuzzing: anything at all, and mutations of valid inputs ---------------------------------

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
SPECIAL = "\n \t\r\x00+=—-é\u00a0\u2028"
anything = st.one_of(
    st.text(),
    st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]))),  # lone surrogates
    st.binary(),
    st.text(st.sampled_from(ALPHABET + SPECIAL)),
)


@st.composite
def mutated(draw: st.DrawFn, valid: list[str]) -> str:
    """A valid input broken in up to three ways: cut, spliced, a character flipped, a line
    dropped or doubled, a key name replaced."""
    text = draw(st.sampled_from(valid))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["cut", "insert", "delete", "flip", "line", "name"]))
        if kind == "cut":
            text = text[:position]
        elif kind == "insert":
            text = (
                text[:position]
                + draw(st.text(st.sampled_from(ALPHABET + SPECIAL)))
                + text[position:]
            )
        elif kind == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 5)) :]
        elif kind == "flip" and text:
            position = min(position, len(text) - 1)
            text = (
                text[:position] + draw(st.sampled_from(ALPHABET + SPECIAL)) + text[position + 1 :]
            )
        elif kind == "line":
            lines = text.split("\n")
            at = draw(st.integers(0, len(lines) - 1))
            lines[at : at + 1] = draw(st.sampled_from([[], [lines[at]] * 2, [""]]))
            text = "\n".join(lines)
        elif kind == "name":
            text = text.replace(draw(st.sampled_from(NAMES)), draw(st.text(max_size=8)), 1)
    return text


NAMES = [LOG.name, WITNESS.name, "example.com/foo", "PeterNeumann"]
CHECKPOINT_TEXT = Checkpoint(LOG.name, 7, ROOT, ("ext one",)).format()
VALID_NOTES = [
    GO_NOTE,
    Checkpoint(LOG.name, 7, ROOT)
    .sign(LOG)
    .with_signatures(WITNESS.sign(Checkpoint(LOG.name, 7, ROOT).format(), timestamp=99))
    .format(),
]
VALID_VKEYS = [GO_VKEY, LOG.verifier().vkey, WITNESS.verifier().vkey]
VALID_SKEYS = [GO_SKEY, LOG.skey]
VALID_CHECKPOINTS = [SPEC_CHECKPOINT, CHECKPOINT_TEXT]


def _fails_cleanly(parse: Callable[[str | bytes], object], data: str | bytes) -> object | None:
    try:
        return parse(data)
    except LedgerFormatError as error:
        assert str(error) and "\n" not in str(error)
        return None


def _timestamp_or_format_error(signature: Signature) -> None:
    try:
        assert signature.timestamp >= 0
    except LedgerFormatError as error:
        assert "\n" not in str(error)


def _text(data: str | bytes) -> str:
    return data.decode() if isinstance(data, bytes) else data


@settings(max_examples=400, deadline=None)
@given(st.one_of(anything, mutated(VALID_NOTES)))
def test_fuzz_notes(data: str | bytes) -> None:
    note = _fails_cleanly(parse_note, data)
    if isinstance(note, Note):
        assert note.format() == _text(data)
        for signature in note.signatures:
            _timestamp_or_format_error(signature)
    try:
        open_note(data, [LOG.verifier(), WITNESS.verifier(), parse_vkey(GO_VKEY)])
    except LedgerError as error:  # a format error or a signature error, never anything else
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.one_of(anything, mutated(VALID_VKEYS)))
def test_fuzz_vkeys(data: str | bytes) -> None:
    if isinstance(data, bytes):
        return
    verifier = _fails_cleanly(parse_vkey, data)  # type: ignore[arg-type]
    if isinstance(verifier, Verifier):
        assert verifier.vkey == data


@settings(max_examples=300, deadline=None)
@given(st.one_of(anything, mutated(VALID_SKEYS)))
def test_fuzz_signer_keys(data: str | bytes) -> None:
    if isinstance(data, bytes):
        return
    signer = _fails_cleanly(parse_signer_key, data)  # type: ignore[arg-type]
    if signer is not None:
        assert signer.skey == data  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(st.one_of(anything, mutated(VALID_CHECKPOINTS)))
def test_fuzz_checkpoints(data: str | bytes) -> None:
    checkpoint = _fails_cleanly(parse_checkpoint, data)
    if isinstance(checkpoint, Checkpoint):
        assert checkpoint.format() == _text(data)


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.sampled_from(ALPHABET + SPECIAL + "é"), max_size=30),
    st.lists(st.tuples(st.text(max_size=12), st.binary(max_size=80)), min_size=1, max_size=4),
)
def test_fuzz_note_shaped_input(text: str, signatures: list[tuple[str, bytes]]) -> None:
    """Notes built from random parts reach the deeper checks (names, base64, sizes)."""
    lines = "".join(f"— {name} {_b64(blob)}\n" for name, blob in signatures)
    data = text + "\n\n" + lines
    note = _fails_cleanly(parse_note, data)
    if isinstance(note, Note):
        assert note.format() == data
        for signature in note.signatures:
            _timestamp_or_format_error(signature)
    with contextlib.suppress(LedgerError):
        open_note(data, [WITNESS.verifier()])


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=100), st.integers(0, 2**64 - 1))
def test_fuzz_cosignatures(blob: bytes, timestamp: int) -> None:
    """Random bytes under the witness's name and key ID: never accepted, and only ever a
    signature error; a genuine cosignature at any time verifies."""
    text = Checkpoint(LOG.name, 3, ROOT).format()
    forged = Signature(WITNESS.name, WITNESS.key_id, blob)
    _timestamp_or_format_error(forged)
    with pytest.raises(SignatureError):
        open_note(Note(text, (forged,)).format(), [WITNESS.verifier()])
    genuine = WITNESS.sign(text, timestamp=timestamp)
    opened = open_note(Note(text, (genuine,)).format(), [WITNESS.verifier()])
    assert opened.verified[0].timestamp == timestamp
