"""``custodes ledger``: keys for the log. (Checkpoints and proofs come with the store's ledger.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli._output import emit_json, guard, out
from custodes.errors import CustodesError
from custodes.ledger import generate_signer

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
