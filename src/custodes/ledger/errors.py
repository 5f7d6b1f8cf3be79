"""The ledger's exceptions, each a :class:`custodes.errors.CustodesError` with a one-line message.

A ledger artefact (a note, a checkpoint, a key, a proof) arrives from outside: from a file, from a
witness, from a person checking a receipt. Anything wrong with it is therefore a mistake or an
attack to report in one line, never a traceback.

    CustodesError
    └── LedgerError
        ├── LedgerFormatError   text that is not a well-formed note, checkpoint, key or proof
        ├── ProofError          a Merkle proof that does not verify
        ├── SignatureError      a note not signed as required (a bad or missing signature)
        └── TreeError           a Merkle tree store asked for something it cannot do
"""

from __future__ import annotations

from custodes.errors import CustodesError


class LedgerError(CustodesError):
    """Any problem with the ledger; catch this to catch them all."""


class LedgerFormatError(LedgerError):
    """Input that does not parse: the message names what is wrong (truncated, bad base64, …)."""


class ProofError(LedgerError):
    """An inclusion or consistency proof that does not verify; the message says which check failed."""


class SignatureError(LedgerError):
    """A signature by a known key that does not verify, or a note no known key has signed."""


class TreeError(LedgerError):
    """The tree store cannot do what was asked (a size it does not have, a damaged directory)."""
