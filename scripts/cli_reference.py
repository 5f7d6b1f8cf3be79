"""Write docs/cli.md from the command definitions, so the reference cannot drift from the code.

Run ``python scripts/cli_reference.py`` after changing a command; a test fails while the file is
out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from custodes.cli import app

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def render() -> str:
    group = typer.main.get_command(app)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the code by `python scripts/cli_reference.py`; do not edit by hand.",
        "Every command prints a one-line error and exits with status 2 on a user's mistake.",
        "",
    ]
    _render_group(group, "custodes", lines)
    return "\n".join(lines)


def _render_group(group: Any, prefix: str, lines: list[str]) -> None:
    commands = group.commands
    for name in sorted(commands):
        command = commands[name]
        if hasattr(command, "commands"):  # a group of subcommands
            _render_group(command, f"{prefix} {name}", lines)
            continue
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        usage = " ".join(["[OPTIONS]", *(p.name.upper() for p in arguments)])
        lines += [f"## {prefix} {name}", "", f"`{prefix} {name} {usage}`", ""]
        lines += [(command.help or "").strip().split("\n\n")[0].strip(), ""]
        for param in command.params:
            if param.param_type_name == "argument":
                entry = f"- `{param.name.upper()}` (argument)"
            else:
                entry = f"- `{' / '.join(param.opts)}`"
                if not param.is_flag and param.default is not None and not param.required:
                    entry += f" (default: `{param.default}`)"
                if param.required:
                    entry += " (required)"
            help_text = getattr(param, "help", None) or ""
            lines.append(f"{entry}: {help_text}".rstrip(": "))
        lines.append("")


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
