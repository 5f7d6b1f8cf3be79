"""Strict decoders shared by the parsers: canonical base64 and decimal integers.

Every ledger format is text that will be hashed or signed, so each value must have exactly one
spelling: base64 must be canonical (``b64encode(decode(s)) == s``, no missing padding, no stray
bits) and numbers must be plain decimal without leading zeros. A second spelling of the same
value would let two different texts stand for one artefact.
"""

from __future__ import annotations

import base64
import binascii
import re

from custodes.ledger.errors import LedgerFormatError

U64_LIMIT = 1 << 64
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4), with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Decode canonical standard base64; ``what`` names the value in the error message."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise LedgerFormatError(f"{what} is not valid base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise LedgerFormatError(f"{what} is not canonical base64") from None
    return data


def decimal_u64(text: str, what: str) -> int:
    """A decimal number in 0 .. 2^64-1 with no sign, spaces or leading zeros."""
    if not _DECIMAL.fullmatch(text):
        if text[:1] == "0" and text.isdigit() and text.isascii():
            raise LedgerFormatError(f"{what} has leading zeros")
        raise LedgerFormatError(f"{what} is not a decimal number")
    if len(text) > 20 or int(text) >= U64_LIMIT:
        raise LedgerFormatError(f"{what} is larger than 2^64-1")
    return int(text)


def to_utf8(data: str | bytes, what: str) -> bytes:
    """The UTF-8 bytes of ``data``, refusing invalid UTF-8 (or a str with lone surrogates)."""
    try:
        if isinstance(data, str):
            return data.encode("utf-8")
        data.decode("utf-8")
    except UnicodeError:
        raise LedgerFormatError(f"{what} is not valid UTF-8") from None
    return bytes(data)


def has_control(text: str) -> bool:
    """Whether ``text`` holds an ASCII control character (below U+0020) other than newline."""
    return _CONTROL.search(text) is not None


def quote(text: str, limit: int = 40) -> str:
    """``text`` quoted for a one-line message, cut at ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
