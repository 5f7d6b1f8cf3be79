"""``custodes cases …``: the case database from the command line (sync alerts from detection,
list cases). Historical imports are in :mod:`custodes.cli.cases_import`."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from custodes.cli._output import HomeOption, JsonOption, emit_json, guard, out

if TYPE_CHECKING:
    from custodes.cases.db import CaseDb

app = typer.Typer(no_args_is_help=True, help="Case work: alerts under triage, cases, outcomes.")

CaseDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The case database URL (postgresql+psycopg://…); default: HOME/cases.sqlite.",
    ),
]


@app.command("sync")
def sync(home: HomeOption, db: CaseDbOption = None, as_json: JsonOption = False) -> None:
    """Copy detection's alerts into the case database: new ones join the queue, ones still new
    are refreshed, triaged ones are left as they were decided. One ledger event records it (and
    who ran it: the login name)."""
    from custodes.cases.sync import SyncReport, sync_alerts

    def run() -> SyncReport:
        cases = _open(home, db)
        try:
            return sync_alerts(cases, by=getpass.getuser())
        finally:
            cases.close()

    report = guard(run)
    if as_json:
        emit_json(report.to_dict())
        return
    out.print(
        f"{report.alerts:,} alerts from detection: {report.inserted:,} new to the queue, "
        f"{report.refreshed:,} refreshed, {report.unchanged:,} unchanged, {report.kept:,} "
        f"already triaged (kept); {report.no_longer_raised:,} in the queue no longer raised; "
        f"ledger leaf {report.leaf}",
        highlight=False,
    )


@app.command("list")
def list_cases(
    home: HomeOption,
    db: CaseDbOption = None,
    status: Annotated[
        str | None, typer.Option(help="Only cases in this status (open, …, closed).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every case's reference, status, owner, reviewer and ages, for whoever runs the service:
    no titles, no people, nothing about whom a case concerns."""
    from custodes.cases.casefile import CaseRow, case_overview

    def run() -> list[CaseRow]:
        cases = _open(home, db)
        try:
            return case_overview(cases, status=status)
        finally:
            cases.close()

    rows = guard(run)
    now = datetime.now(UTC)
    if as_json:
        emit_json([_row(r, now) for r in rows])
        return
    table = RichTable(title=f"{len(rows):,} case{'' if len(rows) == 1 else 's'}")
    for name in ("reference", "status", "owner", "reviewer", "opened", "last step", "age"):
        table.add_column(
            name,
            justify="right" if name == "age" else "left",
            no_wrap=name in ("reference", "opened", "age"),
        )
    for r in rows:
        table.add_row(
            r.reference if not r.force else f"{r.force}/{r.reference}",
            r.status,
            r.owner or "-",
            r.reviewer or "-",
            f"{r.opened_at:%Y-%m-%d}",
            f"{r.last_step_at:%Y-%m-%d %H:%M}" if r.last_step_at else "-",
            f"{_days(r.opened_at, r.closed_at or now)} d",
        )
    out.print(table)


class PackFormat(StrEnum):
    json = "json"
    pdf = "pdf"


@app.command("evidence")
def evidence(
    home: HomeOption,
    case: Annotated[str, typer.Option("--case", help="The case reference (or number).")],
    user: Annotated[
        str, typer.Option("--as", help="The user building the pack: must be on the case.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the pack.")],
    fmt: Annotated[
        PackFormat, typer.Option("--format", help="json (verifiable bundle) or pdf.")
    ] = PackFormat.json,
    db: CaseDbOption = None,
) -> None:
    """A case's evidence pack for a misconduct hearing: the case, its timeline, and a receipt
    (inclusion proof against a signed checkpoint) for every cited event and recorded step;
    `custodes ledger verify-proof PACK.json --vkey KEY` checks it offline. Building it is
    recorded in the ledger as a read of the case."""
    from custodes.cases.audit import record_read
    from custodes.cases.evidence import EvidencePack, build_evidence_pack
    from custodes.cases.users import get_user

    def run() -> EvidencePack:
        cases = _open(home, db)
        try:
            actor = get_user(cases, user)
            pack = build_evidence_pack(cases, actor, int(case) if case.isdigit() else case)
            record_read(
                cases,
                actor,
                f"evidence pack ({fmt.value})",
                case=pack.reference,
                people=pack.people,
                subjects=pack.subjects,
                items=pack.event_ids,
            )
            return pack
        finally:
            cases.close()

    pack = guard(run)
    if fmt is PackFormat.pdf:
        out_file.write_bytes(pack.to_pdf())
    else:
        out_file.write_text(pack.to_json())
    receipts, pending = len(pack.document["receipts"]), len(pack.document["pending"])
    out.print(
        f"{pack.reference}: {receipts} receipts{f', {pending} pending a checkpoint' if pending else ''}"
        f" written to {out_file}",
        highlight=False,
    )


def _open(home: Path, url: str | None) -> CaseDb:
    from custodes.cases.db import open_cases

    return open_cases(home, url)


def _days(start: datetime, end: datetime) -> int:
    return max(0, (end - start).days)


def _row(r: Any, now: datetime) -> dict[str, Any]:
    return {
        "reference": r.reference,
        "force": r.force,
        "origin": r.origin,
        "status": r.status,
        "owner": r.owner,
        "reviewer": r.reviewer,
        "opened_at": r.opened_at.isoformat(),
        "last_step_at": r.last_step_at.isoformat() if r.last_step_at else None,
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "age_days": _days(r.opened_at, r.closed_at or now),
        "days_since_last_step": _days(r.last_step_at, now) if r.last_step_at else None,
    }
