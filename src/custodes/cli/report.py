"""``custodes report …``: transparency statistics (FOI answers, across forces)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli._output import QuietOption, err, guard

app = typer.Typer(no_args_is_help=True, help="Transparency statistics: FOI-ready, overlap-aware.")


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"
    pdf = "pdf"


HomesOption = Annotated[
    list[Path],
    typer.Option(
        "--home",
        metavar="HOME",
        help="A store directory; repeat to report over several (e.g. one per force).",
    ),
]
FromOption = Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD.")]
ToOption = Annotated[
    str, typer.Option("--to", help="Last day of the period (included), YYYY-MM-DD.")
]
ForceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--force",
        metavar="FORCE",
        help="Only this force; repeat for several (default: every force).",
    ),
]
FormatOption = Annotated[ReportFormat, typer.Option("--format", help="json, csv, html or pdf.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write here (needed for pdf) instead of stdout.")
]
AsOfOption = Annotated[
    list[str] | None,
    typer.Option(
        "--as-of",
        metavar="SIZE",
        help="Take the data at this ledger size: latest (default), checkpoint (the newest "
        "signed one) or a number, to regenerate a report; once, or once per --home.",
    ),
]
DbOption = Annotated[
    list[str] | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Case database URL (default: HOME/cases.sqlite); once per --home.",
    ),
]


def _generate(
    view: str,
    homes: list[Path],
    date_from: str,
    date_to: str,
    forces: list[str] | None,
    fmt: ReportFormat,
    out_file: Path | None,
    as_of: list[str] | None,
    dbs: list[str] | None,
    quiet: bool,
) -> None:
    from custodes.errors import CustodesError
    from custodes.report import Period, Source, build_report, record_generation, render

    def per_home(values: list[str] | None) -> list[str]:
        if not values:
            return ["latest"] * len(homes)
        if len(values) == 1:
            return [values[0]] * len(homes)
        if len(values) != len(homes):
            raise CustodesError(f"give --as-of once, or once per --home ({len(homes)})")
        return list(values)

    def run() -> tuple[bytes, list[int]]:
        if fmt is ReportFormat.pdf and out_file is None:
            raise CustodesError("--format pdf writes a binary file: give --out FILE.pdf")
        if not homes:
            raise CustodesError("give at least one --home")
        if dbs and len(dbs) != len(homes):
            raise CustodesError(f"give --db once per --home ({len(homes)})")
        urls: list[str | None] = list(dbs) if dbs else [None] * len(homes)
        sources = [
            Source(home, url, spec or "latest")
            for home, url, spec in zip(homes, urls, per_home(as_of), strict=True)
        ]
        report = build_report(sources, Period.parse(date_from, date_to), forces or None)
        content = render(report, view, fmt.value)
        leaves = record_generation(report, sources, view, fmt.value, content)
        if out_file is not None:
            try:
                out_file.write_bytes(content)
            except OSError as error:
                raise CustodesError(f"--out {out_file}: {error.strerror}") from None
        return content, leaves

    content, leaves = guard(run)
    if out_file is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    if not quiet:
        where = f"written to {out_file}" if out_file else "written to standard output"
        err.print(
            f"report {where}; recorded in the ledger (leaf {', '.join(map(str, leaves))})",
            highlight=False,
        )


@app.command()
def foi(
    home: HomesOption,
    date_from: FromOption,
    date_to: ToOption,
    force: ForceOption = None,
    fmt: FormatOption = ReportFormat.json,
    out_file: OutOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The FOI answer for a period: the five questions (officer/staff), distinct incidents and
    persons, the naive sum and why not to use it, breakdowns, not-provided counts, every line
    coded, the counting rules and the data it was built from."""
    _generate("foi", home, date_from, date_to, force, fmt, out_file, as_of, db, quiet)


@app.command()
def forces(
    home: HomesOption,
    date_from: FromOption,
    date_to: ToOption,
    force: ForceOption = None,
    fmt: FormatOption = ReportFormat.json,
    out_file: OutOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """The same questions across forces, as one table: a row per force, totals (the sum of the
    rows) and shares (e.g. incidents with no formal action)."""
    _generate("forces", home, date_from, date_to, force, fmt, out_file, as_of, db, quiet)
