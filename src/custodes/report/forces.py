"""Across forces: the campaign's table, one row per force, with totals and shares.

In 2016 a campaign group sent the same questions to every UK force and added up the replies by
hand. This is that table, computed: the five answers per force (officer/staff), the distinct
incidents and persons behind them, the naive sum, and the share of incidents with no formal
action. Persons are identified within a force, so the totals row is exactly the sum of the rows
(the shares are computed from the totals, not averaged).
"""

from __future__ import annotations

from typing import Any

from custodes.report.counting import QUESTIONS, Counts, counting_rules
from custodes.report.foi import FoiReport, share

ROW_NUMBERS = (
    "distinct_incidents",
    "distinct_persons",
    "naive_sum",
    "no_disciplinary_action_incidents",
    "not_provided_incidents",
    "incidents_in_progress",
)


def force_row(force: str, c: Counts) -> dict[str, Any]:
    """One row of the table: the five answers, the distinct counts and the shares."""
    row: dict[str, Any] = {"force": force}
    for q in QUESTIONS:
        row[q.key] = {"officer": c.questions[q.key].officer, "staff": c.questions[q.key].staff}
    row.update(
        {
            "distinct_incidents": c.incidents.total,
            "distinct_persons": c.persons.total,
            "naive_sum": c.naive_sum,
            "no_disciplinary_action_incidents": c.results["no_disciplinary_action"].total,
            "not_provided_incidents": c.results["not_provided"].total,
            "incidents_in_progress": c.in_progress,
            "share_no_formal_action": share(
                c.results["no_disciplinary_action"].total, c.incidents.total
            ),
            "share_not_provided": share(c.results["not_provided"].total, c.incidents.total),
        }
    )
    return row


def forces_table(report: FoiReport) -> dict[str, Any]:
    """The across-forces view of a report, as JSON data."""
    return {
        "report": "forces",
        "title": "Misuse of police data across forces",
        "subtitle": report.subtitle,
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "forces": list(report.forces),
        "counting_rules": counting_rules(),
        "overlap_statement": report.overlap_statement(),
        "rows": [force_row(f, report.per_force[f]) for f in report.forces],
        "totals": force_row("all forces", report.total),
        "provenance": [p.to_dict() for p in report.provenance],
    }


def table_columns() -> list[tuple[str, str]]:
    """(header, path) of the flat table (CSV and HTML), in order."""
    columns = [("force", "force")]
    for q in QUESTIONS:
        columns += [(f"{q.key}_officer", f"{q.key}.officer"), (f"{q.key}_staff", f"{q.key}.staff")]
    columns += [(name, name) for name in ROW_NUMBERS]
    columns += [("share_no_formal_action", "share_no_formal_action")]
    columns += [("share_not_provided", "share_not_provided")]
    return columns


def cell(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        value = value[part]
    return value
