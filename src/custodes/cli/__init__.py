"""The ``custodes`` command: a thin face over the library.

Each command parses its options, calls one library function and presents the result: a Rich
table for people, ``--json`` for scripts, ``--quiet`` for neither. Mistakes a user can make
surface as one line on standard error and exit status 2, never as a traceback.
"""

from __future__ import annotations

import typer

from custodes.cli import (
    cases,
    cases_import,
    detect,
    explain,
    ledger,
    report,
    store,
    subject,
    web,
    witness,
)

app = typer.Typer(
    name="custodes",
    help="Custodes: accountable access to personal data in police systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.registered_commands += store.app.registered_commands
app.registered_commands += explain.app.registered_commands
app.registered_commands += detect.app.registered_commands
app.add_typer(detect.alerts_app, name="alerts")
app.add_typer(detect.suppress_app, name="suppress")
app.add_typer(ledger.app, name="ledger")
app.add_typer(witness.app, name="witness")
app.registered_commands += web.app.registered_commands
app.add_typer(web.users_app, name="users")
cases.app.registered_commands += cases_import.app.registered_commands
app.add_typer(cases.app, name="cases")
app.add_typer(report.app, name="report")
app.add_typer(subject.app, name="subject")


def main() -> None:
    app()
