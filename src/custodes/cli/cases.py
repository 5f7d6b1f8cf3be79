"""``custodes cases …``: the case database from the command line (sync alerts from detection,
list cases). Historical imports are in :mod:`custodes.cli.cases_import`."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Case work: alerts under triage, cases, outcomes.")
