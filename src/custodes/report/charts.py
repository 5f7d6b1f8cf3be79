"""The report's charts: Vega-Altair specifications rendered offline by vl-convert.

Rendering runs in-process (vl-convert embeds the Vega runtime), so reports need no browser and no
network, and the same specification always gives the same SVG, which keeps the HTML report byte
for byte the same when it is regenerated.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert

from custodes.cases import taxonomy
from custodes.report.counting import RESULTS, Counts, Period

RESULT_LABELS = {
    "formal_action": "formal action",
    "no_disciplinary_action": "no disciplinary action",
    "not_provided": "outcome not provided",
}
RESULT_COLOURS = ("#1f5f8b", "#e8a33d", "#9e9e9e")
ROLE_COLOURS = ("#1f5f8b", "#7fb3d5")
MONTH_TITLE = "Incidents per month, by result"
OUTCOME_TITLE = "Outcomes given (person-outcomes), officers and staff"
FORCES_TITLE = "Incidents by force and result"

Spec = dict[str, Any]


def _result_colour() -> Any:
    return alt.Color(
        "result:N",
        title="result",
        sort=[RESULT_LABELS[r] for r in RESULTS],
        scale=alt.Scale(domain=[RESULT_LABELS[r] for r in RESULTS], range=list(RESULT_COLOURS)),
    )


def _count_axis(title: str, top: int) -> Any:
    """An axis of whole numbers: at most about eight ticks, never a fraction of an incident."""
    step = max(1, -(-top // 8))
    ticks = list(range(0, max(top, 1) + step, step))
    return alt.Axis(title=title, values=ticks, format="d")


def _month_axis(months: list[str]) -> Any:
    """Every month labelled in a short period; in a long one, the year at each January."""
    if len(months) <= 24:
        return alt.Axis(labelAngle=-60)
    return alt.Axis(
        values=[m for m in months if m.endswith("-01")],
        labelExpr="slice(datum.label, 0, 4)",
        labelAngle=0,
    )


def month_trend(counts: Counts, period: Period) -> Spec:
    """Stacked bars: the incidents of each month of the period, by what they came to."""
    months = period.months()
    values = [
        {
            "month": month,
            "result": RESULT_LABELS[r],
            "order": i,
            "incidents": counts.month_result(month, r),
        }
        for month in period.months()
        for i, r in enumerate(RESULTS)
    ]
    chart = (
        alt.Chart(alt.InlineData(values=values))
        .mark_bar()
        .encode(
            x=alt.X(
                "month:O", title="month of incident date", sort=months, axis=_month_axis(months)
            ),
            y=alt.Y(
                "sum(incidents):Q",
                axis=_count_axis(
                    "incidents", max((counts.by_month[m].total for m in months), default=0)
                ),
            ),
            color=_result_colour(),
            order=alt.Order("order:Q"),
        )
        .properties(title=MONTH_TITLE, width=640, height=220)
    )
    return dict(chart.to_dict())


def outcome_mix(counts: Counts) -> Spec:
    """Horizontal bars: how often each outcome was given, officers and staff."""
    labels = [o.label for o in taxonomy.OUTCOMES]
    values = [
        {
            "outcome": o.label,
            "role": role,
            "person_outcomes": getattr(counts.by_outcome[o.code], role),
        }
        for o in taxonomy.OUTCOMES
        for role in taxonomy.EMPLOYEE_ROLES
    ]
    chart = (
        alt.Chart(alt.InlineData(values=values))
        .mark_bar()
        .encode(
            y=alt.Y("outcome:N", title=None, sort=labels, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                "sum(person_outcomes):Q",
                axis=_count_axis(
                    "person-outcomes", max(s.total for s in counts.by_outcome.values())
                ),
            ),
            color=alt.Color(
                "role:N",
                scale=alt.Scale(domain=list(taxonomy.EMPLOYEE_ROLES), range=list(ROLE_COLOURS)),
            ),
        )
        .properties(title=OUTCOME_TITLE, width=480)
    )
    return dict(chart.to_dict())


def forces_results(per_force: dict[str, Counts]) -> Spec:
    """Horizontal stacked bars: each force's incidents by what they came to."""
    forces = sorted(per_force)
    values = [
        {
            "force": force,
            "result": RESULT_LABELS[r],
            "order": i,
            "incidents": per_force[force].results[r].total,
        }
        for force in forces
        for i, r in enumerate(RESULTS)
    ]
    chart = (
        alt.Chart(alt.InlineData(values=values))
        .mark_bar()
        .encode(
            y=alt.Y("force:N", title=None, sort=forces),
            x=alt.X(
                "sum(incidents):Q",
                axis=_count_axis(
                    "incidents", max((c.incidents.total for c in per_force.values()), default=0)
                ),
            ),
            color=_result_colour(),
            order=alt.Order("order:Q"),
        )
        .properties(title=FORCES_TITLE, width=480)
    )
    return dict(chart.to_dict())


def svg(spec: Spec) -> str:
    return str(vl_convert.vegalite_to_svg(spec))


def png(spec: Spec, scale: float = 1.0) -> bytes:
    return bytes(vl_convert.vegalite_to_png(spec, scale=scale))
