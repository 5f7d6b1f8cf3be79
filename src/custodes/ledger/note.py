"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and witness cosignatures
(c2sp.org/tlog-cosignature, ``cosignature/v1``).

A note is a text ending in a newline, a blank line, and one or more signature lines
``— <key name> base64(key ID || signature)``. Checkpoints are notes; a witness adds its
cosignature as one more signature line. Keys travel as text:

* a *verifier key* (vkey) ``<name>+<key ID, 8 hex>+base64(<type byte> || public key)``;
* a *signer key* in the format of Go's ``golang.org/x/mod/sumdb/note``:
  ``PRIVATE+KEY+<name>+<key ID>+base64(0x01 || 32-byte Ed25519 seed)``.

The key ID is the first four bytes of ``SHA-256(name || 0x0A || type || public key)``; the type
byte is 0x01 for note signatures and 0x04 for cosignatures, so one Ed25519 key serves both
roles under two IDs without a signature of one kind passing for the other.

Verification follows the specification: signatures from unknown keys are ignored, a signature
from a known key must verify (otherwise the whole note is rejected), and at least one must.
Parsing is strict, because these texts are signed byte for byte: every deviation raises a
:class:`LedgerFormatError` that names it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custodes.ledger._codec import (
    U64_LIMIT,
    b64decode,
    b64encode,
    has_control,
    quote,
    to_utf8,
)
from custodes.ledger.errors import LedgerFormatError, SignatureError

ED25519 = 0x01  # signature type of an Ed25519 note signature
COSIGNATURE_V1 = 0x04  # signature type of a timestamped Ed25519 witness cosignature
ALGORITHMS = {ED25519: "Ed25519", COSIGNATURE_V1: "cosignature/v1"}
SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, then a space
MAX_SIGNATURES = 100  # as Go's note.Open: bounds the work a hostile note can cause
MAX_NOTE_BYTES = 1 << 20
COSIGNATURE_HEADER = "cosignature/v1\n"
_ED25519_SIGNATURE_SIZE = 64
_COSIGNATURE_SIZE = 8 + _ED25519_SIGNATURE_SIZE


def check_key_name(name: str) -> None:
    """A key name is non-empty, with no Unicode space, no plus and no control character."""
    if not name:
        raise LedgerFormatError("the key name is empty")
    if "+" in name:
        raise LedgerFormatError(f"the key name {quote(name)} contains a plus sign")
    if any(ch.isspace() for ch in name):
        raise LedgerFormatError(f"the key name {quote(name)} contains a space")
    if has_control(name) or "\n" in name:
        raise LedgerFormatError(f"the key name {quote(name)} contains a control character")
    to_utf8(name, "the key name")


def compute_key_id(name: str, algorithm: int, public_key: bytes) -> int:
    """``SHA-256(name || 0x0A || algorithm || public key)[:4]``, as a big-endian integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_text(text: str) -> None:
    """A note text: UTF-8, ends in a newline, no control characters but newline."""
    to_utf8(text, "the note text")
    if not text.endswith("\n"):
        raise LedgerFormatError("the note text does not end with a newline")
    if has_control(text):
        raise LedgerFormatError("the note text contains a control character")


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Signature:
    """One signature line: the signer's key name and key ID, and the signature proper (the
    bytes after the key ID: 64 for Ed25519, 72 for a cosignature)."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.key_id < 1 << 32:
            raise LedgerFormatError(f"a key ID is 32 bits, not {self.key_id}")
        if not self.signature:
            raise LedgerFormatError(f"the signature by {quote(self.name)} is empty")

    @property
    def line(self) -> str:
        """The signature line, without its newline."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(blob)}"

    @property
    def timestamp(self) -> int:
        """The time (Unix seconds) a cosignature states; a :class:`LedgerFormatError` if this
        is not a cosignature-sized signature."""
        if len(self.signature) != _COSIGNATURE_SIZE:
            raise LedgerFormatError(
                f"the signature by {self.name} is {len(self.signature)} bytes, "
                f"not the {_COSIGNATURE_SIZE} of a cosignature"
            )
        return int.from_bytes(self.signature[:8], "big")


@dataclass(frozen=True)
class Note:
    """A note text and its signatures, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def format(self) -> str:
        """The signed note as text."""
        _check_text(self.text)
        if not self.signatures:
            raise LedgerFormatError("a signed note needs at least one signature")
        for signature in self.signatures:
            check_key_name(signature.name)
        return self.text + "\n" + "".join(s.line + "\n" for s in self.signatures)

    def with_signatures(self, *signatures: Signature) -> Note:
        """This note with more signatures (a cosignature, say), replacing any of the same key."""
        keys = {(s.name, s.key_id) for s in signatures}
        kept = tuple(s for s in self.signatures if (s.name, s.key_id) not in keys)
        return Note(self.text, kept + signatures)


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note, checking its format strictly (signatures are not checked: see
    :func:`open_note`)."""
    raw = to_utf8(data, "the note")
    if len(raw) > MAX_NOTE_BYTES:
        raise LedgerFormatError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    message = raw.decode()
    if has_control(message):
        raise LedgerFormatError("the note contains a control character other than newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise LedgerFormatError("the note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise LedgerFormatError("the note has no signature lines")
    if not block.endswith("\n"):
        raise LedgerFormatError("the note's last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise LedgerFormatError(f"the note has more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature_line(line, n) for n, line in enumerate(lines, 1)))


def _parse_signature_line(line: str, number: int) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise LedgerFormatError(f"signature line {number} does not start with an em dash and space")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise LedgerFormatError(f"signature line {number} has no space before the signature")
    check_key_name(name)
    blob = b64decode(encoded, f"the signature on line {number}")
    if len(blob) < 5:
        raise LedgerFormatError(f"the signature on line {number} is truncated")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one type: Ed25519 note signatures (0x01) or
    cosignature/v1 witness cosignatures (0x04)."""

    name: str
    algorithm: int
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.algorithm not in ALGORITHMS:
            raise LedgerFormatError(f"signature type 0x{self.algorithm:02x} is not supported")
        if len(self.public_key) != 32:
            raise LedgerFormatError(
                f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}"
            )

    @property
    def key_id(self) -> int:
        return compute_key_id(self.name, self.algorithm, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key as text: ``name+keyid+base64(type || public key)``."""
        encoded = b64encode(bytes([self.algorithm]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) signs ``text`` with this key."""
        if self.algorithm == COSIGNATURE_V1:
            if len(signature) != _COSIGNATURE_SIZE:
                return False
            message = _cosigned_message(text, int.from_bytes(signature[:8], "big"))
            signature = signature[8:]
        else:
            message = text.encode()
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(vkey: str) -> Verifier:
    """Parse a verifier key ``name+keyid+base64(type || public key)`` (types 0x01 and 0x04)."""
    to_utf8(vkey, "the verifier key")
    name, _, rest = vkey.partition("+")
    key_id_hex, plus, encoded = rest.partition("+")
    if not plus:
        raise LedgerFormatError("the verifier key is not of the form name+keyid+key")
    check_key_name(name)
    key_id = _parse_key_id(key_id_hex)
    blob = b64decode(encoded, "the verifier key's public key")
    if not blob:
        raise LedgerFormatError("the verifier key's public key is empty")
    algorithm, public_key = blob[0], blob[1:]
    if algorithm not in ALGORITHMS:
        raise LedgerFormatError(f"the verifier key's type 0x{algorithm:02x} is not supported")
    if len(public_key) != 32:
        raise LedgerFormatError(f"the verifier key's public key is {len(public_key)} bytes, not 32")
    verifier = Verifier(name, algorithm, public_key)
    if verifier.key_id != key_id:
        raise LedgerFormatError(f"the verifier key's ID {key_id_hex} does not match its key")
    return verifier


def _parse_key_id(text: str) -> int:
    if len(text) != 8 or any(ch not in "0123456789abcdef" for ch in text):
        raise LedgerFormatError(f"the key ID {quote(text)} is not 8 lowercase hex digits")
    return int(text, 16)


class Signer:
    """An Ed25519 private key with a name, signing notes (type 0x01) or, as a witness,
    cosigning checkpoints (type 0x04).

    The key text (:attr:`skey`) is the same for both roles, as in the transparency-dev tools: the
    role is chosen when the key is loaded, and it decides the key ID and what :meth:`sign` makes.
    """

    def __init__(self, name: str, private_key: Ed25519PrivateKey, algorithm: int = ED25519) -> None:
        check_key_name(name)
        if algorithm not in ALGORITHMS:
            raise LedgerFormatError(f"signature type 0x{algorithm:02x} is not supported")
        self.name = name
        self.algorithm = algorithm
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def __repr__(self) -> str:
        return f"Signer({self.name!r}, key ID {self.key_id:08x}, {ALGORITHMS[self.algorithm]})"

    @property
    def key_id(self) -> int:
        return compute_key_id(self.name, self.algorithm, self.public_key)

    @property
    def skey(self) -> str:
        """The private key as text (keep it secret): ``PRIVATE+KEY+name+keyid+base64(0x01 ||
        seed)``, the key ID being that of the Ed25519 (0x01) role."""
        seed = self._private_key.private_bytes_raw()
        key_id = compute_key_id(self.name, ED25519, self.public_key)
        return f"PRIVATE+KEY+{self.name}+{key_id:08x}+{b64encode(bytes([ED25519]) + seed)}"

    def verifier(self) -> Verifier:
        """The matching public key, in this signer's role."""
        return Verifier(self.name, self.algorithm, self.public_key)

    def as_cosigner(self) -> Signer:
        """The same key in the witness role (cosignature/v1)."""
        return Signer(self.name, self._private_key, COSIGNATURE_V1)

    def sign(self, text: str, *, timestamp: int | None = None) -> Signature:
        """Sign a note text. A cosigner signs ``cosignature/v1``, ``time <timestamp>`` and the
        text (a checkpoint), at ``timestamp`` (Unix seconds; default now)."""
        _check_text(text)
        if self.algorithm == ED25519:
            if timestamp is not None:
                raise ValueError("an Ed25519 note signature carries no timestamp")
            return Signature(self.name, self.key_id, self._private_key.sign(text.encode()))
        when = int(time.time()) if timestamp is None else timestamp
        if not 0 <= when < U64_LIMIT:
            raise ValueError(f"a cosignature timestamp must be in 0..2^64-1, not {when}")
        signed = self._private_key.sign(_cosigned_message(text, when))
        return Signature(self.name, self.key_id, when.to_bytes(8, "big") + signed)


def generate_signer(name: str, algorithm: int = ED25519) -> Signer:
    """A new random Ed25519 key named ``name``."""
    return Signer(name, Ed25519PrivateKey.generate(), algorithm)


def parse_signer_key(skey: str, algorithm: int = ED25519) -> Signer:
    """Load a private key ``PRIVATE+KEY+name+keyid+base64(0x01 || seed)``, in the role
    ``algorithm`` (0x01 to sign notes, 0x04 to cosign as a witness)."""
    to_utf8(skey, "the signer key")
    head1, _, rest = skey.partition("+")
    head2, _, rest = rest.partition("+")
    if (head1, head2) != ("PRIVATE", "KEY"):
        raise LedgerFormatError("the signer key does not start with PRIVATE+KEY+")
    name, _, rest = rest.partition("+")
    key_id_hex, plus, encoded = rest.partition("+")
    if not plus:
        raise LedgerFormatError("the signer key is not of the form PRIVATE+KEY+name+keyid+key")
    check_key_name(name)
    key_id = _parse_key_id(key_id_hex)
    blob = b64decode(encoded, "the signer key's private key")
    if not blob:
        raise LedgerFormatError("the signer key's private key is empty")
    if blob[0] != ED25519:
        raise LedgerFormatError(f"the signer key's type 0x{blob[0]:02x} is not Ed25519 (0x01)")
    if len(blob) != 33:
        raise LedgerFormatError(f"the signer key's seed is {len(blob) - 1} bytes, not 32")
    private_key = Ed25519PrivateKey.from_private_bytes(blob[1:])
    signer = Signer(name, private_key, algorithm)
    if compute_key_id(name, ED25519, signer.public_key) != key_id:
        raise LedgerFormatError(f"the signer key's ID {key_id_hex} does not match its key")
    return signer


@dataclass(frozen=True)
class VerifiedNote:
    """A note whose signatures by known keys all verified: ``verified`` lists them (one per
    key), ``ignored`` the signatures by keys not given."""

    text: str
    verified: tuple[Signature, ...]
    ignored: tuple[Signature, ...]


def open_note(data: str | bytes | Note, verifiers: Iterable[Verifier]) -> VerifiedNote:
    """Parse a signed note and check it against the known ``verifiers``.

    Signatures by unknown keys (name and key ID not both matching) are ignored. Every signature
    by a known key must verify, else :class:`SignatureError`; so must at least one.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if known.setdefault(key, verifier) != verifier:
            raise SignatureError(f"two different verifier keys are named {key[0]}+{key[1]:08x}")
    verified: dict[tuple[str, int], Signature] = {}
    ignored: list[Signature] = []
    for signature in note.signatures:
        key = (signature.name, signature.key_id)
        match = known.get(key)
        if match is None:
            ignored.append(signature)
            continue
        if not match.verify(note.text, signature.signature):
            raise SignatureError(f"the signature by {key[0]}+{key[1]:08x} does not verify")
        verified.setdefault(key, signature)
    if not verified:
        names = ", ".join(sorted(f"{n}+{i:08x}" for n, i in known)) or "none given"
        raise SignatureError(f"the note has no signature by a known key (known: {names})")
    return VerifiedNote(note.text, tuple(verified.values()), tuple(ignored))
