"""``custodes ledger``: keys for the log. (Checkpoints and proofs come with the store's ledger.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli._output import emit_json, err, guard, out
from custodes.errors import CustodesError
from custodes.ledger import (
    ProofError,
    Receipt,
    SignatureError,
    Verifier,
    generate_signer,
    parse_vkey,
    verify_receipt,
)

app = typer.Typer(
    help="The tamper-evident log: keys, checkpoints and proofs.", no_args_is_help=True
)


@app.command()
def keygen(
    name: Annotated[
        str, typer.Option(help="The log's name (origin), e.g. police.example/custodes.")
    ],
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the private key (created with mode 0600).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON only.")
    ] = False,
) -> None:
    """Make an Ed25519 signing key for the log; print its verifier key (C2SP vkey)."""

    def run() -> str:
        if out_file.exists():
            raise CustodesError(f"{out_file}: already exists; a signing key is never overwritten")
        signer = generate_signer(name)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.skey + "\n")
        return signer.verifier().vkey

    vkey = guard(run)
    if as_json:
        emit_json({"name": name, "vkey": vkey, "key_file": str(out_file)})
    else:
        out.print(vkey, highlight=False, soft_wrap=True)


@app.command("verify-proof")
def verify_proof(
    receipt_file: Annotated[
        Path, typer.Argument(help="A receipt (JSON) for one event; - for stdin.")
    ],
    vkey: Annotated[
        str,
        typer.Option("--vkey", help="The log's verifier key (C2SP vkey), or a file holding it."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON only.")
    ] = False,
) -> None:
    """Check a receipt offline with nothing but the log's verifier key.

    Exit status 0: the event is in the signed log; 1: a check failed (the line says which);
    2: the file is not a receipt or the key is malformed.
    """

    def load() -> tuple[Receipt, Verifier]:
        text = sys.stdin.read() if str(receipt_file) == "-" else _read(receipt_file)
        key_text = _read(Path(vkey)).strip() if Path(vkey).is_file() else vkey.strip()
        return Receipt.from_json(text), parse_vkey(key_text)

    receipt, verifier = guard(load)
    try:
        verified = verify_receipt(receipt, [verifier])
    except (ProofError, SignatureError) as failure:
        err.print(f"[bold red]does not verify:[/] {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json(
            {
                "verified": True,
                "log": verified.checkpoint.origin,
                "leafIdx": verified.leaf_index,
                "treeSize": verified.checkpoint.size,
                "event": verified.event,
            }
        )
    else:
        out.print(
            f"verified: entry {verified.leaf_index} of {verified.checkpoint.origin} "
            f"(checkpoint of {verified.checkpoint.size} entries)",
            highlight=False,
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CustodesError(f"{path}: cannot be read ({error})") from None
