"""``custodes link``, ``detect``, ``alerts``, ``suppress`` and ``evaluate``: from linkage to
alerts, and how good they are."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from custodes.cli._output import HomeOption, JsonOption, emit_json, guard, out

app = typer.Typer()


@app.command()
def evaluate(
    home: HomeOption,
    truth: Annotated[Path, typer.Option("--truth", help="A synthetic force's truth/ directory.")],
    as_json: JsonOption = False,
) -> None:
    """Score explanations and alerts against a synthetic force's ground truth (which nothing
    else reads): explanation coverage, misuse explained away, recall, precision, volume."""
    from custodes.evaluate import evaluate_alerts, evaluate_explanations

    def run() -> dict[str, Any]:
        data = evaluate_explanations(home, truth)
        data["alerts"] = evaluate_alerts(home, truth)
        return data

    data = guard(run)
    if as_json:
        emit_json(data)
        return
    table = RichTable(title="Explanations against the ground truth")
    for name in ("events", "kind", "count", "explained", "share"):
        table.add_column(name, justify="left" if name in ("events", "kind") else "right")
    for cls in ("legitimate", "misuse"):
        for kind, row in data[cls]["by_kind"].items():
            share = row["explained"] / row["events"] if row["events"] else 0.0
            table.add_row(cls, kind, f"{row['events']:,}", f"{row['explained']:,}", f"{share:.1%}")
    out.print(table)
    legit, misuse = data["legitimate"], data["misuse"]
    out.print(
        f"legitimate events explained: {legit['share_explained']:.2%} (goal ≥ 99%); "
        f"misuse events explained away: {misuse['share_explained']:.2%} (goal ≤ 1%)",
        highlight=False,
    )
    alerts = data["alerts"]
    scenarios = RichTable(title="Misuse found (instances with an alert holding their events)")
    for name in ("scenario", "instances", "found", "recall"):
        scenarios.add_column(name, justify="left" if name == "scenario" else "right")
    for name, row in alerts["recall_by_scenario"].items():
        scenarios.add_row(name, str(row["instances"]), str(row["found"]), f"{row['recall']:.0%}")
    out.print(scenarios)
    out.print(
        f"recall {alerts['recall']:.1%} (goal ≥ 95%, ≥ 90% per scenario); precision "
        f"{alerts['precision'] or 0:.1%} of {alerts['alerts']} alerts (goal ≥ 80%); "
        f"{alerts['alerts_per_1000_workforce_per_day']} alerts per 1,000 workforce per day "
        "(goal ≤ 1)",
        highlight=False,
    )


@app.command()
def link(
    home: HomeOption,
    as_json: JsonOption = False,
) -> None:
    """Link employees and their declared relations to police records (Splink); derive
    neighbours and colleagues. Results go to HOME/derived/link/."""
    from custodes.link import link_home

    result = guard(lambda: link_home(home))
    summary = result.summary()
    if as_json:
        emit_json(summary)
    else:
        for key, value in summary.items():
            out.print(f"{key}: {value}", highlight=False)


@app.command()
def detect(
    home: HomeOption,
    relink: Annotated[
        bool, typer.Option("--relink", help="Run record linkage again (new HR or subjects).")
    ] = False,
    top: Annotated[int, typer.Option(help="Show this many alerts, highest score first.")] = 10,
    full: Annotated[
        bool,
        typer.Option("--full", help="Explain every event again (default: only what is new)."),
    ] = False,
    engine: Annotated[
        str, typer.Option(help="duckdb (embedded) or spark (the same logic on PySpark).")
    ] = "duckdb",
    spark_master: Annotated[
        str, typer.Option(help="The Spark master URL, e.g. spark://host:7077.")
    ] = "local[2]",
    as_json: JsonOption = False,
) -> None:
    """Link, explain and detect: alerts with evidence, in HOME/derived/detect/."""
    from custodes.detect import detect_home, load_alerts

    report = guard(
        lambda: detect_home(
            home, relink=relink, engine=engine, spark_master=spark_master, full=full
        )
    )
    if as_json:
        emit_json(report.to_dict())
        return
    out.print(
        f"{report.events:,} events, {report.explained:,} explained "
        f"({report.explained / max(1, report.events):.2%}); {report.alerts:,} alerts"
        + (f" ({report.suppressed:,} more suppressed)" if report.suppressed else ""),
        highlight=False,
    )
    work = {
        "full": f"explained all {report.explained_now:,} events",
        "incremental": f"explained {report.explained_now:,} events of the person-days new "
        "events touch",
        "current": "no new events to explain",
    }[report.explain_mode]
    out.print(
        f"this run: {'linked again, ' if report.relinked else ''}{work}; "
        + ", ".join(f"{phase} {s:.1f} s" for phase, s in report.seconds.items()),
        highlight=False,
    )
    table = RichTable(title=f"Top {top} alerts")
    for name in ("score", "rule", "summary"):
        table.add_column(name)
    for row in load_alerts(home).slice(0, top).to_pylist():
        table.add_row(f"{row['score']:.2f}", row["rule"], row["summary"])
    out.print(table)


alerts_app = typer.Typer(help="The alerts of the last `custodes detect`.", no_args_is_help=True)


class AlertFormat(StrEnum):
    csv = "csv"
    json = "json"


@alerts_app.command("export")
def export(
    home: HomeOption,
    fmt: Annotated[AlertFormat, typer.Option("--format", help="csv or json.")] = AlertFormat.csv,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Export alerts in the contract's columns (alert_id, person_id, subject_id, rule, score,
    first_ts, last_ts, event_ids, summary)."""
    from custodes.detect import export_alerts

    text = guard(lambda: export_alerts(home, fmt.value))
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")


suppress_app = typer.Typer(
    help="Allow-list entries (reason, author, expiry), each recorded in the ledger.",
    no_args_is_help=True,
)


@suppress_app.command("add")
def suppress_add(
    home: HomeOption,
    rule: Annotated[str, typer.Option(help="The rule to silence, or * for any.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the ledger).")],
    author: Annotated[str, typer.Option(help="Who decided it.")],
    expires: Annotated[str, typer.Option(help="Last day it applies, YYYY-MM-DD.")],
    person: Annotated[str | None, typer.Option("--person", help="Only this person.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Silence alerts of a rule for a person and/or subject until an expiry date."""
    from datetime import date

    from custodes.detect.suppressions import add_suppression
    from custodes.errors import CustodesError

    def run() -> dict[str, Any]:
        try:
            until = date.fromisoformat(expires)
        except ValueError:
            raise CustodesError(f"--expires {expires!r} is not a date (YYYY-MM-DD)") from None
        return add_suppression(
            home,
            rule=rule,
            reason=reason,
            author=author,
            expires=until,
            person_id=person,
            subject_id=subject,
        ).to_dict()

    data = guard(run)
    if as_json:
        emit_json(data)
    else:
        out.print(
            f"suppression {data['suppression_id']} added (ledger leaf {data['ledger_leaf']}), "
            f"until {data['expires']}",
            highlight=False,
        )


@suppress_app.command("list")
def suppress_list(home: HomeOption, as_json: JsonOption = False) -> None:
    """Every suppression ever added, expired ones included."""
    from custodes.detect.suppressions import list_suppressions

    rows = [s.to_dict() for s in guard(lambda: list_suppressions(home))]
    if as_json:
        emit_json(rows)
        return
    table = RichTable(title="Suppressions")
    for name in ("id", "rule", "person", "subject", "until", "author", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r["suppression_id"]),
            r["rule"],
            r["person_id"] or "any",
            r["subject_id"] or "any",
            r["expires"],
            r["author"],
            r["reason"],
        )
    out.print(table)
