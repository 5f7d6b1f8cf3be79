"""Write docs/cli.md from the command definitions, so the reference cannot drift from the code.

Run ``python scripts/cli_reference.py`` after changing a command; a test fails while the file is
out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from custodes.cli import app

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def render() -> str:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    lines = [
        "# Command-line reference",
        "",
        "Generated from the code by `python scripts/cli_reference.py`; do not edit by hand.",
        "Every command prints a one-line error and exits with status 2 on a user's mistake.",
        "",
    ]
    for name in sorted(commands):
        command = commands[name]
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        usage = " ".join(["[OPTIONS]", *(p.name.upper() for p in arguments)])
        lines += [f"## custodes {name}", "", f"`custodes {name} {usage}`", ""]
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
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
