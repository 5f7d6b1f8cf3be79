"""``custodes serve`` and ``custodes users``: the web application and who may sign in."""

from __future__ import annotations

import typer

app = typer.Typer()
users_app = typer.Typer(no_args_is_help=True, help="Who may sign in to the web application.")
