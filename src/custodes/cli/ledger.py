"""``custodes ledger``: the log's keys, checkpoints, proofs, full audit and lawful erasure."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli._output import (
    HomeOption,
    JsonOption,
    QuietOption,
    emit_json,
    err,
    guard,
    out,
    progress_bars,
)
from custodes.errors import CustodesError
from custodes.ledger import (
    LedgerFormatError,
    ProofError,
    Receipt,
    SignatureError,
    Signer,
    Verifier,
    generate_signer,
    is_receipt_set,
    parse_signer_key,
    parse_vkey,
    verify_receipt,
    verify_receipt_set,
)
from custodes.store import ledger as store_ledger
from custodes.store import open_store
from custodes.store.audit import AuditReport, audit
from custodes.store.erase import erase_event
from custodes.store.leaves import LeafPool
from custodes.witness import format_add_checkpoint

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
        Path,
        typer.Argument(
            help="A receipt (JSON) for one event, or a document of receipts such as a case's "
            "evidence pack; - for stdin."
        ),
    ],
    vkey: Annotated[
        str,
        typer.Option("--vkey", help="The log's verifier key (C2SP vkey), or a file holding it."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON only.")
    ] = False,
) -> None:
    """Check a receipt, or every receipt of an evidence pack, offline with nothing but the
    log's verifier key.

    Exit status 0: the events are in the signed log; 1: a check failed (the line says which);
    2: the file is not a receipt or the key is malformed.
    """

    def load() -> tuple[object, Verifier]:
        text = sys.stdin.read() if str(receipt_file) == "-" else _read(receipt_file)
        key_text = _read(Path(vkey)).strip() if Path(vkey).is_file() else vkey.strip()
        verifier = parse_vkey(key_text)
        try:
            document = json.loads(text)
        except ValueError:
            raise LedgerFormatError("the receipt is not valid JSON") from None
        return (document if is_receipt_set(document) else Receipt.from_json(document)), verifier

    document, verifier = guard(load)
    try:
        if isinstance(document, Receipt):
            verified = [verify_receipt(document, [verifier])]
        else:
            verified = verify_receipt_set(document, [verifier])
    except (ProofError, SignatureError, LedgerFormatError) as failure:
        err.print(f"[bold red]does not verify:[/] {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        entries = [
            {
                "log": v.checkpoint.origin,
                "leafIdx": v.leaf_index,
                "treeSize": v.checkpoint.size,
                "event": v.event,
            }
            for v in verified
        ]
        emit_json(
            {"verified": True, **entries[0]}
            if isinstance(document, Receipt)
            else {"verified": True, "receipts": entries}
        )
    elif len(verified) == 1 and isinstance(document, Receipt):
        first = verified[0]
        out.print(
            f"verified: entry {first.leaf_index} of {first.checkpoint.origin} "
            f"(checkpoint of {first.checkpoint.size} entries)",
            highlight=False,
        )
    else:
        sizes = sorted({v.checkpoint.size for v in verified})
        out.print(
            f"verified: all {len(verified)} receipts, entries of {verified[0].checkpoint.origin} "
            f"(checkpoint of {', '.join(f'{s:,}' for s in sizes)} entries)",
            highlight=False,
        )


KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="CUSTODES_LOG_KEY",
        help="The log's private signing key file (from `ledger keygen`); or $CUSTODES_LOG_KEY.",
    ),
]


def _signer(key: Path | None) -> Signer:
    if key is None:
        raise CustodesError("no signing key: pass --key FILE or set CUSTODES_LOG_KEY")
    return parse_signer_key(_read(key).strip())


@app.command()
def checkpoint(home: HomeOption, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Sign a checkpoint of the log as it is now, keep it, and print it (a C2SP signed note)."""

    def run() -> str:
        signer = _signer(key)
        with open_store(home) as store:
            return store_ledger.issue_checkpoint(store, signer)

    note = guard(run)
    if as_json:
        lines = note.split("\n")
        emit_json({"origin": lines[0], "size": int(lines[1]), "root": lines[2], "note": note})
    else:
        sys.stdout.write(note)


@app.command()
def prove(
    home: HomeOption,
    event: Annotated[
        str | None, typer.Option("--event", help="An access event's event_id.")
    ] = None,
    leaf: Annotated[
        int | None, typer.Option("--leaf", help="A leaf index (for the system's own events).")
    ] = None,
) -> None:
    """Print a receipt (JSON): the inclusion proof of one event under the newest checkpoint,
    with the opening (salt and canonical encoding) that recomputes its leaf."""

    def run() -> Receipt:
        if (event is None) == (leaf is None):
            raise CustodesError("give exactly one of --event or --leaf")
        with open_store(home) as store:
            if event is not None:
                return store_ledger.receipt_for_event(store, event)
            assert leaf is not None
            return store_ledger.receipt_for_system_event(store, leaf)

    emit_json(guard(run).to_json())


@app.command()
def consistency(
    home: HomeOption,
    size1: Annotated[int, typer.Option("--from", help="The smaller tree size.")],
    size2: Annotated[int, typer.Option("--to", help="The larger tree size.")],
) -> None:
    """Print an RFC 9162 consistency proof (JSON) between two sizes of the log."""

    def run() -> dict[str, object]:
        with open_store(home) as store:
            return store_ledger.consistency(store, size1, size2).to_json()

    emit_json(guard(run))


@app.command()
def verify(home: HomeOption, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Recompute every leaf from the stored events, every tree node, and check every checkpoint
    issued. Exit status 0: all holds; 1: something is wrong (the first bad leaf is named)."""

    def run() -> AuditReport:
        with (
            open_store(home) as store,
            LeafPool() as pool,
            progress_bars(not (quiet or as_json)) as bars,
        ):
            task = bars.add_task("verifying the ledger", total=None)
            return audit(
                store, pool, lambda done, total: bars.update(task, completed=done, total=total)
            )

    report = guard(run)
    if as_json:
        emit_json(report.to_dict())
    elif report.ok:
        if not quiet:
            out.print(
                f"[bold green]verified[/]: {report.size:,} leaves ({report.events:,} access "
                f"events, {report.system_events:,} system events, {report.erased:,} lawfully "
                f"erased), {report.nodes:,} tree nodes, {report.checkpoints:,} checkpoints",
                highlight=False,
                soft_wrap=True,
            )
    else:
        first = report.first_bad
        err.print(f"[bold red]tampering detected[/]: {first}", highlight=False, soft_wrap=True)
        for finding in report.findings[1:10]:
            err.print(f"  also: {finding}", highlight=False, soft_wrap=True)
        extra = len(report.findings) - 10 + report.more_findings
        if extra > 0:
            err.print(f"  and {extra} more", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def erase(
    home: HomeOption,
    event: Annotated[str, typer.Option("--event", help="The event_id of the access event.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who erases it (default: the login name).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Lawfully erase an event's content; a tombstone (who, why, when) goes into the ledger."""
    report = guard(lambda: erase_event(home, event, reason, by or getpass.getuser()))
    if as_json:
        emit_json(report.__dict__)
    else:
        out.print(
            f"erased {report.event_id} (leaf {report.erased_leaf}); tombstone is leaf "
            f"{report.tombstone_leaf}",
            highlight=False,
        )


@app.command("witness-request")
def witness_request(
    home: HomeOption,
    old_size: Annotated[
        int, typer.Option("--old-size", help="The size the witness holds for this log (0: none).")
    ],
) -> None:
    """Print a C2SP add-checkpoint request for the newest checkpoint: the witness's old size,
    the consistency proof from it, and the checkpoint (pipe it to `custodes witness
    add-checkpoint`)."""

    def run() -> str:
        with open_store(home) as store:
            issued = store_ledger.latest_checkpoint(store)
            proof: tuple[bytes, ...] = ()
            if 0 < old_size < issued.size:
                proof = store_ledger.consistency(store, old_size, issued.size).proof
            return format_add_checkpoint(old_size, list(proof), issued.note)

    sys.stdout.write(guard(run))


@app.command()
def cosigned(
    home: HomeOption,
    cosignature_file: Annotated[
        Path,
        typer.Argument(
            help="The cosignature line(s) `custodes witness add-checkpoint` printed; - for stdin."
        ),
    ],
    witness_vkeys: Annotated[
        list[str],
        typer.Option(
            "--witness-vkey",
            help="The witness's verifier key (C2SP vkey, type 0x04), or a file holding it; "
            "repeat for several witnesses.",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Keep witnesses' cosignatures of this log's checkpoints, once each checks out against
    the witness's key and a checkpoint this store issued.

    A line that does not verify, or signs no checkpoint this store issued, is refused (exit
    status 2) and nothing is kept. Kept cosignatures show in `custodes status` and on the web
    application's ledger page.
    """
    from custodes.store.cosignatures import Kept, keep_cosignatures

    def run() -> list[Kept]:
        text = sys.stdin.read() if str(cosignature_file) == "-" else _read(cosignature_file)
        keys = [_read(Path(k)).strip() if Path(k).is_file() else k for k in witness_vkeys]
        with open_store(home) as store:
            return keep_cosignatures(store, text, keys)

    kept = guard(run)
    if as_json:
        emit_json(
            [
                {
                    "checkpoint": k.cosignature.seq,
                    "checkpoint_size": k.cosignature.checkpoint_size,
                    "witness": k.cosignature.witness,
                    "key_id": k.cosignature.key_id,
                    "cosigned_at": k.cosignature.cosigned_at,
                    "new": k.new,
                }
                for k in kept
            ]
        )
        return
    for k in kept:
        c = k.cosignature
        out.print(
            f"{'kept' if k.new else 'already kept'}: {c.witness} cosigned checkpoint {c.seq} "
            f"(size {c.checkpoint_size:,}) at {c.cosigned_at}",
            highlight=False,
            soft_wrap=True,
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CustodesError(f"{path}: cannot be read ({error})") from None
