"""``custodes cases import``: historical case records from a file; ``custodes cases imports``
and ``custodes cases quarantine`` list the runs and the rows that were not imported."""

from __future__ import annotations

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

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="The case database URL (default: SQLite at HOME/cases.sqlite)."),
]


@app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(help="A case file, .csv or .parquet (docs/cases-import.md).")
    ],
    home: HomeOption,
    db: DbOption = None,
    force: Annotated[
        str, typer.Option("--force", help="The force of rows whose force column is empty.")
    ] = "",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Import historical cases (one row per person-outcome) as closed cases; bad rows go to
    quarantine, rows already imported are skipped, and the import is recorded in the ledger."""
    from custodes.cases.importer import import_cases

    def run() -> Any:
        with progress_bars(not (quiet or as_json)) as progress:
            tasks: dict[str, Any] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(f"{stage} {file.name}", total=total)
                progress.update(tasks[stage], completed=done, total=total)

            return import_cases(file, home, db_url=db, default_force=force, progress=tick)

    report = guard(run)
    data = report.to_dict()
    if as_json:
        emit_json(data)
    elif not quiet:
        table = RichTable(title=f"Import of {file.name}: rows read = ingested + quarantined")
        for name in ("read", "ingested", "imported", "duplicates", "quarantined", "balanced"):
            table.add_column(name, justify="right")
        table.add_row(
            *(
                f"{data[k]:,}"
                for k in ("read", "ingested", "imported", "duplicates", "quarantined")
            ),
            "yes" if report.balanced else "[bold red]NO[/]",
        )
        out.print(table)
        out.print(
            f"{data['cases_created']:,} new cases; import {data['import_id']} recorded as ledger "
            f"leaf {data['ledger_leaf']}",
            highlight=False,
        )
        if data["ignored_columns"]:
            out.print(f"columns ignored: {', '.join(data['ignored_columns'])}", highlight=False)
        if report.quarantined:
            out.print(
                f"{report.quarantined:,} rows quarantined: see "
                f"`custodes cases quarantine --home {home}`",
                highlight=False,
            )
    if not report.balanced:
        err.print("[bold red]error:[/] reconciliation does not balance; please report this bug")
        raise typer.Exit(1)


@app.command("imports")
def imports(home: HomeOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List case-file imports: file, digest, what became of the rows, ledger leaf."""
    from custodes.cases.db import open_cases
    from custodes.cases.importer import list_imports

    def run() -> list[dict[str, Any]]:
        case_db = open_cases(home, db)
        try:
            return list_imports(case_db)
        finally:
            case_db.close()

    rows = guard(run)
    if as_json:
        emit_json(rows)
        return
    table = RichTable(title="Case-file imports")
    names = ("import_id", "file", "read", "imported", "duplicates", "quarantined", "ledger_leaf")
    for name in names:
        table.add_column(name, justify="left" if name == "file" else "right")
    table.add_column("imported_at")
    for row in rows:
        table.add_row(*(str(row[n]) for n in names), row["imported_at"])
    out.print(table)


@app.command("quarantine")
def quarantine(
    home: HomeOption,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List rows of case files that were not imported: file, line, column and every problem,
    newest import first."""
    from custodes.cases.db import open_cases
    from custodes.cases.importer import list_quarantine

    def run() -> list[dict[str, Any]]:
        case_db = open_cases(home, db)
        try:
            return list_quarantine(case_db, limit)
        finally:
            case_db.close()

    rows = guard(run)
    if as_json:
        emit_json(rows)
        return
    table = RichTable(title="Quarantined case-file rows")
    for name in ("file", "line", "column", "reason"):
        table.add_column(name)
    for row in rows:
        table.add_row(row["file"], str(row["line"]), row["column"], row["reason"])
    out.print(table)
