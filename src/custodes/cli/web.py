"""``custodes serve`` and ``custodes users``: the web application and who may sign in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from custodes.cli._output import HomeOption, JsonOption, emit_json, err, guard, out
from custodes.errors import CustodesError

app = typer.Typer()
users_app = typer.Typer(no_args_is_help=True, help="Who may sign in to the web application.")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The case database URL (postgresql+psycopg://…); default: HOME/cases.sqlite.",
    ),
]


def _read_password() -> str:
    """The password from standard input: typed without echo at a terminal, else the first line
    of a pipe. Never an option, so it never lands in shell history or a process listing."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise CustodesError("the two passwords differ: run the command again")
        return first
    line = sys.stdin.readline()
    if not line:
        raise CustodesError("no password on standard input: pipe one line, e.g. from a file")
    return line.rstrip("\r\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The name the user signs in with.")],
    home: HomeOption,
    role: Annotated[
        str, typer.Option(help="investigator, reviewer, dpo, overseer or admin.")
    ] = "investigator",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user; the password (12 characters or more) is read from standard input."""
    from custodes.cases.db import open_cases
    from custodes.cases.users import add_user

    def run() -> tuple[str, str]:
        password = _read_password()
        cases = open_cases(home, db)
        try:
            user = add_user(cases, name, role, password)
            return user.name, user.role
        finally:
            cases.close()

    added, added_role = guard(run)
    if as_json:
        emit_json({"name": added, "role": added_role})
    else:
        out.print(f"added {added} ({added_role})", highlight=False)


@users_app.command("list")
def users_list(home: HomeOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The users, their roles, and whether they are active or locked."""
    from custodes.cases.db import open_cases
    from custodes.cases.users import aware, list_users, now

    def run() -> list[dict[str, object]]:
        cases = open_cases(home, db)
        try:
            moment = now()
            return [
                {
                    "name": u.name,
                    "role": u.role,
                    "active": u.active,
                    "locked": u.locked_until is not None and aware(u.locked_until) > moment,
                    "created_at": aware(u.created_at).isoformat(timespec="seconds"),
                }
                for u in list_users(cases)
            ]
        finally:
            cases.close()

    rows = guard(run)
    if as_json:
        emit_json(rows)
        return
    table = RichTable(title=f"{len(rows)} users")
    for column in ("name", "role", "active", "locked", "created_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("name", "role", "active", "locked", "created_at")))
    out.print(table)


def _set_active(name: str, home: Path, db: str | None, active: bool) -> None:
    from custodes.cases.db import open_cases
    from custodes.cases.users import set_active

    def run() -> None:
        cases = open_cases(home, db)
        try:
            set_active(cases, name, active)
        finally:
            cases.close()

    guard(run)
    out.print(f"{name} is now {'active' if active else 'disabled'}", highlight=False)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")],
    home: HomeOption,
    db: DbOption = None,
) -> None:
    """Stop a user signing in; their open sessions end at once."""
    _set_active(name, home, db, False)


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="The user to enable.")],
    home: HomeOption,
    db: DbOption = None,
) -> None:
    """Let a disabled (or locked-out) user sign in again."""
    _set_active(name, home, db, True)


@app.command()
def serve(
    home: HomeOption,
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. Each runs the routes in its own threads; more than one "
            "uses more cores (sessions, case data and the ledger are shared).",
        ),
    ] = 1,
) -> None:
    """Run the web application for investigators (alerts, cases, people, the ledger); alerts
    are synced from the last `custodes detect` first."""
    import os

    import uvicorn

    from custodes.web.app import SERVED_DB, SERVED_HOME, create_app, sync_at_start, tune_for_serving

    application = guard(lambda: create_app(home, db))  # also checks HOME and the database
    err.print(guard(lambda: sync_at_start(home, db)), highlight=False)
    err.print(f"Custodes is serving on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    options: dict[str, Any] = {"host": host, "port": port, "proxy_headers": True}
    if workers == 1:
        tune_for_serving()
        uvicorn.run(application, log_level="warning", **options)
        return
    application.state.custodes.db.close()  # each worker opens its own
    os.environ[SERVED_HOME], os.environ[SERVED_DB] = str(home.resolve()), db or ""
    uvicorn.run(
        "custodes.web.app:app_from_environment",
        factory=True,
        workers=workers,
        log_level="warning",
        **options,
    )
