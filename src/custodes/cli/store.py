"""Commands over the store: make a synthetic force, ingest a bundle, see what is stored."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

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

app = typer.Typer()


class BundleFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the bundle to.")],
    workforce: Annotated[int, typer.Option(help="Number of officers and staff.")] = 500,
    days: Annotated[int, typer.Option(help="Number of days of activity.")] = 14,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same force.")] = 1,
    start: Annotated[str, typer.Option(help="First day of activity, YYYY-MM-DD.")] = "2026-01-05",
    fmt: Annotated[BundleFormat, typer.Option("--format", help="Table file format.")] = (
        BundleFormat.csv
    ),
    misuse_scale: Annotated[
        float,
        typer.Option(help="Misuse rate multiplier: 1.0 is about 1% of the workforce a month."),
    ] = 1.0,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Generate a synthetic force: a valid bundle plus ground truth in OUT/truth/."""
    from custodes.synth import generate

    def run() -> Any:
        first_day = _parse_date(start, "--start")
        with progress_bars(not (quiet or as_json)) as progress:
            task = progress.add_task("generating force", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return generate(
                out_dir,
                workforce=workforce,
                days=days,
                seed=seed,
                start=first_day,
                fmt=fmt.value,
                on_progress=tick,
                misuse_scale=misuse_scale,
            )

    summary = guard(run)
    if as_json:
        emit_json(summary.to_dict())
    elif not quiet:
        table = RichTable(title=f"Synthetic force written to {out_dir}")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in summary.rows.items():
            table.add_row(name, f"{rows:,}")
        out.print(table)
        misuse = sum(summary.misuse_events.values())
        out.print(
            f"{summary.events:,} access events ({misuse:,} misuse, ground truth in "
            f"{out_dir / 'truth'}) in {summary.seconds:.1f} s"
        )


@app.command()
def ingest(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory of NAME.csv / NAME.parquet.")],
    home: HomeOption,
    batch_rows: Annotated[
        int, typer.Option(help="Records per atomic batch (a killed ingest resumes from one).")
    ] = 2_000_000,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Validate a bundle and add it to the store; bad rows go to quarantine, none are lost."""
    from custodes.store.ingest import ingest as run_ingest

    def run() -> Any:
        with progress_bars(not (quiet or as_json)) as progress:
            tasks: dict[str, Any] = {}

            def tick(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(f"ingesting {table}", total=total)
                progress.update(tasks[table], completed=done, total=total)

            return run_ingest(bundle, home, batch_rows=batch_rows, progress=tick)

    report = guard(run)
    if as_json:
        emit_json(report.to_dict())
    elif not quiet:
        _print_reconciliation(report.to_dict(), f"Ingest of {bundle}")
        _print_notes(report.to_dict()["total"], home)
    if not report.balanced:
        err.print("[bold red]error:[/] reconciliation does not balance; please report this bug")
        raise typer.Exit(1)


def _print_reconciliation(report: dict[str, Any], title: str) -> None:
    table = RichTable(title=f"{title}: rows read = stored + quarantined + duplicates")
    for name in ("table", "read", "stored", "quarantined", "duplicates", "balanced"):
        table.add_column(name, justify="left" if name == "table" else "right")
    for row in report["files"]:
        table.add_row(
            row["table"],
            f"{row['read']:,}",
            f"{row['stored']:,}",
            f"{row['quarantined']:,}",
            f"{row['duplicates']:,}",
            "yes" if row["balanced"] else "[bold red]NO[/]",
        )
    total = report["total"]
    table.add_row(
        "[bold]total[/]",
        f"{total['read']:,}",
        f"{total['stored']:,}",
        f"{total['quarantined']:,}",
        f"{total['duplicates']:,}",
        "yes" if total["balanced"] else "[bold red]NO[/]",
    )
    out.print(table)


def _print_notes(total: dict[str, Any], home: Path) -> None:
    if total["unknown_person"]:
        out.print(
            f"{_count(total['unknown_person'], 'event')} by a person_id not in the workforce: "
            "stored and marked (person_known = false)"
        )
    if total["new_versions"]:
        out.print(
            f"{_count(total['new_versions'], 'reference row')} changed: stored as new versions"
        )
    if total["quarantined"]:
        out.print(
            f"{_count(total['quarantined'], 'row')} quarantined: see `custodes quarantine --home {home}`"
        )


@app.command()
def status(home: HomeOption, as_json: JsonOption = False) -> None:
    """What the store holds (per table: rows, date range) and the last reconciliation."""
    from custodes.store.status import store_status
    from custodes.store.store import open_store

    def run() -> dict[str, Any]:
        store = open_store(home)
        try:
            return store_status(store)
        finally:
            store.close()

    data = guard(run)
    if as_json:
        emit_json(data)
        return
    table = RichTable(title=f"Custodes store at {home}")
    for name in ("table", "rows", "versions", "dated by", "from", "to"):
        table.add_column(name, justify="right" if name in ("rows", "versions") else "left")
    for row in data["tables"]:
        table.add_row(
            row["table"],
            f"{row['rows']:,}",
            f"{row['versions']:,}",
            row["date_column"] or "",
            row["first"] or "",
            row["last"] or "",
        )
    out.print(table)
    out.print(
        f"events by unknown person_id: {data['events_by_unknown_person']:,}; "
        f"rows in quarantine: {data['quarantined_rows']:,}"
    )
    ledger = data["ledger"]
    signed = (
        f"the last checkpoint ({ledger['last_checkpoint_at']}) covers "
        f"{ledger['last_checkpoint_size']:,}"
        if ledger["checkpoints"]
        else "no checkpoint yet (custodes ledger checkpoint)"
    )
    out.print(
        f"ledger: {ledger['size']:,} leaves; {signed}; {ledger['erasures']:,} lawful erasures",
        highlight=False,
    )
    for w in ledger["witnesses"]:
        out.print(
            f"witness {w['witness']} cosigned checkpoint {w['checkpoint']} "
            f"(size {w['checkpoint_size']:,}) at {w['cosigned_at']}",
            highlight=False,
        )
    last = data["last_ingest"]
    if last is None:
        out.print("no ingest has finished yet")
    else:
        out.print(
            f"last ingest: run {last['run_id']} of {last['source']}, {last['status']}, finished {last['finished']}"
        )
        if last["report"] and last["report"].get("files"):
            _print_reconciliation(
                {
                    "files": last["report"]["files"],
                    "total": last["report"].get("total") or _sum(last["report"]["files"]),
                },
                f"Run {last['run_id']}",
            )


def _sum(files: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("read", "stored", "quarantined", "duplicates")
    total: dict[str, Any] = {k: sum(f[k] for f in files) for k in keys}
    total["balanced"] = (
        total["read"] == total["stored"] + total["quarantined"] + total["duplicates"]
    )
    return total


@app.command()
def quarantine(
    home: HomeOption,
    limit: Annotated[int, typer.Option(help="Show at most this many rows.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List quarantined rows: file, line, column and the reason, newest batch first."""
    from custodes.store.store import open_store

    def run() -> list[tuple[Any, ...]]:
        store = open_store(home)
        try:
            return store.query(
                "SELECT table_name, file, line, column_name, reason, raw FROM quarantine "
                "ORDER BY _batch DESC, line LIMIT ?",
                [limit],
            )
        finally:
            store.close()

    rows = guard(run)
    if as_json:
        keys = ("table", "file", "line", "column", "reason", "raw")
        emit_json([dict(zip(keys, row, strict=True)) for row in rows])
        return
    table = RichTable(title="Quarantined rows")
    for name in ("file", "line", "column", "reason"):
        table.add_column(name)
    for _, file, line, column, reason, _ in rows:
        table.add_row(file, str(line), column or "", reason)
    out.print(table)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date YYYY-MM-DD") from None
