"""What every command shares: the consoles, one-line errors, progress bars, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from custodes.errors import CustodesError

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

HomeOption = Annotated[
    Path, typer.Option("--home", help="The store directory (created by the first ingest).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]


def guard(action: Callable[[], T]) -> T:
    """Run ``action``; a user's mistake becomes one line on stderr and exit status 2. The
    machine running short (DuckDB out of memory, or of disk for what it spills) is not a
    mistake but is no bug either: one line saying so, and exit status 1."""
    try:
        return action()
    except (CustodesError, ValueError) as error:
        for line in str(error).splitlines() or ["error"]:
            err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (duckdb.OutOfMemoryException, duckdb.IOException) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        err.print(
            f"[bold red]error:[/] the engine ran short of memory or disk: {first}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def refuse(message: str) -> NoReturn:
    """A mistake found by the command itself (a bad combination of options): one line on
    stderr, exit status 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )
    with progress:
        yield progress


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
