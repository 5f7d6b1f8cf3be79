"""``custodes cases import``: historical case records from a file."""

from __future__ import annotations

import typer

app = typer.Typer()
