"""``custodes witness``: the independent party's side, over files (C2SP tlog-witness)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from custodes.cli._output import emit_json, err, guard, out
from custodes.witness import Witness

app = typer.Typer(
    help="A witness: cosigns a log's checkpoints only if they extend what it saw before.",
    no_args_is_help=True,
)
StateOption = Annotated[Path, typer.Option("--state", help="The witness's own state directory.")]


@app.command()
def init(
    state: StateOption,
    name: Annotated[str, typer.Option(help="The witness's name, e.g. pcc.example/witness.")],
) -> None:
    """Create a witness (its key and state); print its verifier key for logs to publish."""
    witness = guard(lambda: Witness.init(state, name))
    out.print(witness.verifier.vkey, highlight=False, soft_wrap=True)


@app.command()
def trust(
    state: StateOption,
    vkey: Annotated[str, typer.Argument(help="The log's verifier key (C2SP vkey).")],
) -> None:
    """Trust a log: its checkpoints, signed by this key, may be cosigned."""
    verifier = guard(lambda: Witness.open(state).trust_log(vkey))
    out.print(f"trusting {verifier.name}", highlight=False)


@app.command("add-checkpoint")
def add_checkpoint(
    state: StateOption,
    request: Annotated[
        Path,
        typer.Argument(
            help="A C2SP add-checkpoint body (old size, proof, checkpoint); - for stdin."
        ),
    ],
) -> None:
    """Check a checkpoint against the last one cosigned for its log; cosign it if it extends it.

    Prints the cosignature line. A refusal (unknown log, bad signature, rollback, fork, bad
    proof, stale old size) is one line on stderr and exit status 2; nothing is stored.
    """
    body = sys.stdin.buffer.read() if str(request) == "-" else guard(request.read_bytes)
    reply = guard(lambda: Witness.open(state).handle(body))
    if reply.status != 200:
        reason = " ".join(reply.body.split())
        err.print(
            f"[bold red]refused ({reply.status}):[/] {reason}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2)
    sys.stdout.write(reply.body if reply.body.endswith("\n") else reply.body + "\n")


@app.command()
def show(
    state: StateOption,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON only.")
    ] = False,
) -> None:
    """The logs this witness trusts and the last checkpoint it cosigned for each."""

    def run() -> list[dict[str, object]]:
        witness = Witness.open(state)
        rows: list[dict[str, object]] = []
        for origin in witness.logs():
            held = witness.state(origin)
            rows.append(
                {
                    "log": origin,
                    "size": held.size if held else None,
                    "root": base64.b64encode(held.root_hash).decode() if held else None,
                }
            )
        return rows

    rows = guard(run)
    if as_json:
        emit_json(rows)
        return
    table = RichTable(title=f"Witness at {state}")
    for name in ("log", "size", "root"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            str(row["log"]), "" if row["size"] is None else str(row["size"]), str(row["root"] or "")
        )
    out.print(table)
