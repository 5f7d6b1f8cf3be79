"""``custodes explain``: why each access happened, from the force's own data."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from custodes.cli._output import HomeOption, JsonOption, emit_json, guard, out

app = typer.Typer()


@app.command()
def explain(
    home: HomeOption,
    event: Annotated[
        str | None,
        typer.Option("--event", help="Explain this one event (the path, or why none holds)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Explain access events: one (--event), or all of them, counted by explanation."""
    from custodes.explain import TEMPLATES, explain_store
    from custodes.explain.one import explain_event
    from custodes.store import open_store

    def run() -> dict[str, Any]:
        with open_store(home) as store:
            if event is not None:
                return explain_event(store, event).to_dict()
            return explain_store(store).to_dict()

    data = guard(run)
    if as_json:
        emit_json(data)
        return
    if event is not None:
        _print_one(data)
        return
    table = RichTable(title=f"Explanations of {data['events']:,} access events")
    table.add_column("explanation")
    table.add_column("events", justify="right")
    table.add_column("path")
    routes = {t.name: t.route for t in TEMPLATES}
    for name, count in data["by_template"].items():
        table.add_row(name, f"{count:,}", routes.get(name, "nothing connects the person to it"))
    out.print(table)
    out.print(f"explained: {data['coverage']:.2%} of events", highlight=False)


def _print_one(data: dict[str, Any]) -> None:
    e = data["event"]
    out.print(
        f"{e['event_id']}: {e['person_id']} {e['action']} {e['subject_id'] or e['query']} "
        f"on {e['system']} at {e['ts']}",
        highlight=False,
    )
    out.print(f"[bold]{data['explanation']}[/]: {data['sentence']}", highlight=False)
    if data["route"]:
        out.print(f"path: {data['route']}", highlight=False)
    if data["also"]:
        out.print(f"also holds: {', '.join(data['also'])}", highlight=False)
    for line in data["checked"]:
        out.print(f"  - {line}", highlight=False)
