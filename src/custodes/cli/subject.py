"""``custodes subject report``: who looked at a data subject's records, when and why."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli._output import HomeOption, err, guard, refuse

app = typer.Typer(no_args_is_help=True, help="Subject access: who looked at my record, when, why.")


class SubjectFormat(StrEnum):
    json = "json"
    pdf = "pdf"


@app.command("report")
def report(
    home: HomeOption,
    subject: Annotated[
        str, typer.Option("--subject", help="The subject_id whose accesses to list.")
    ],
    requested_by: Annotated[
        str,
        typer.Option("--requested-by", help="Who generates the report (recorded in the ledger)."),
    ],
    fmt: Annotated[
        SubjectFormat, typer.Option("--format", help="json, or pdf (needs --out).")
    ] = SubjectFormat.json,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
    identities_reason: Annotated[
        str | None,
        typer.Option(
            "--identities-reason",
            help="Include the employees' identities, for this reason (recorded in the ledger).",
        ),
    ] = None,
    as_of: Annotated[
        int | None,
        typer.Option(
            "--as-of", help="Regenerate as of this ledger size (default: the newest checkpoint)."
        ),
    ] = None,
) -> None:
    """Every access to one subject's records as of a signed checkpoint: when, which system,
    what action, which unit, and why (the force's own records), without the employee's identity
    unless a reason to include it is recorded. Generating the report is itself recorded."""
    from custodes.subject import subject_access_report
    from custodes.subject.render import to_json, to_pdf

    if fmt is SubjectFormat.pdf and out_file is None:
        refuse("a PDF needs --out FILE")
    result = guard(
        lambda: subject_access_report(
            home,
            subject,
            requested_by=requested_by,
            identities_reason=identities_reason,
            as_of=as_of,
        )
    )
    if fmt is SubjectFormat.pdf:
        assert out_file is not None
        out_file.write_bytes(to_pdf(result))
    elif out_file is not None:
        out_file.write_text(to_json(result))
    else:
        sys.stdout.write(to_json(result))
    if out_file is not None:
        err.print(
            f"{result.report_id}: {len(result.accesses)} accesses to {subject} as of ledger "
            f"size {result.as_of}, written to {out_file} (recorded at ledger entry "
            f"{result.ledger_leaf})",
            highlight=False,
        )
