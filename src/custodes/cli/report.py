"""``custodes report …``: transparency statistics (FOI answers, across forces)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Transparency statistics: FOI-ready, overlap-aware.")
