"""A report in four formats: JSON (for scripts), CSV (line-coded, for spreadsheets), HTML (with
charts) and PDF (WeasyPrint, from the same HTML).

JSON, CSV and HTML are byte for byte the same for the same report: keys and rows are sorted, no
time of generation is printed (the as-of ledger size says when the data is from), and the charts
are rendered offline to SVG. Every format carries the counting rules and the provenance.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shlex
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from custodes.report import charts
from custodes.report.counting import QUESTIONS, ReportError
from custodes.report.foi import FoiReport
from custodes.report.forces import cell, forces_table, table_columns

FORMATS = ("json", "csv", "html", "pdf")
VIEWS = ("foi", "forces")


def report_data(report: FoiReport, view: str) -> dict[str, Any]:
    if view == "foi":
        return report.to_dict()
    if view == "forces":
        return forces_table(report)
    raise ReportError(f"unknown report {view!r}: one of {', '.join(VIEWS)}")


def render(report: FoiReport, view: str, fmt: str) -> bytes:
    """The report ``view`` (``foi`` or ``forces``) in format ``fmt``."""
    renderers: dict[str, Callable[[FoiReport, str], bytes]] = {
        "json": lambda r, v: to_json(report_data(r, v)).encode(),
        "csv": lambda r, v: (foi_csv(r) if v == "foi" else forces_csv(r)).encode(),
        "html": lambda r, v: to_html(r, v).encode(),
        "pdf": to_pdf,
    }
    if fmt not in renderers:
        raise ReportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return renderers[fmt](report, view)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# CSV --------------------------------------------------------------------------------------------


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue()


def _notes(data: dict[str, Any], width: int) -> list[list[Any]]:
    """The header rows (M), the counting rules (R) and the provenance (P) of a CSV, each with a
    line code in the first column and its text in the second."""
    pad = [""] * (width - 2)
    rows = [
        ["M.title", data["title"], *pad],
        ["M.subtitle", data["subtitle"], *pad],
        ["M.overlap", data["overlap_statement"], *pad],
    ]
    rows += [[f"R{i}", rule, *pad] for i, rule in enumerate(data["counting_rules"], 1)]
    for i, p in enumerate(data["provenance"], 1):
        checkpoint = (
            f"checkpoint {p['checkpoint']['seq']} (size {p['checkpoint']['size']}, root "
            f"{p['checkpoint']['root']})"
            if p["checkpoint"]
            else "no signed checkpoint within it"
        )
        rows.append(
            [
                f"P{i}",
                f"{p['source']}: as of ledger size {p['as_of']}, root {p['ledger_root']}; "
                f"{checkpoint}; {p['worked_cases']} worked cases; incidents digest "
                f"{p['facts_sha256']}",
                *pad,
            ]
        )
        for j, item in enumerate(p["imports"], 1):
            rows.append(
                [
                    f"P{i}.{j}",
                    f"case file {item['file']} sha256 {item['sha256']} ledger leaf "
                    f"{item['ledger_leaf']} rows imported {item['rows_imported']}",
                    *pad,
                ]
            )
    return rows


def foi_csv(report: FoiReport) -> str:
    data = report.to_dict()
    rows: list[list[Any]] = [["line", "description", "unit", "officer", "staff", "total"]]
    rows += _notes(data, 6)
    rows += [
        [line.code, line.description, line.unit, line.officer, line.staff, line.total]
        for line in report.lines()
    ]
    return _csv(rows)


def forces_csv(report: FoiReport) -> str:
    data = forces_table(report)
    columns = table_columns()
    rows: list[list[Any]] = [["line", *(name for name, _ in columns)]]
    rows += _notes(data, len(columns) + 1)
    for i, row in enumerate(data["rows"], 1):
        rows.append([f"F{i}", *(cell(row, path) for _, path in columns)])
    rows.append(["T", *(cell(data["totals"], path) for _, path in columns)])
    return _csv(rows)


# HTML and PDF -----------------------------------------------------------------------------------

_ENV = Environment(
    loader=PackageLoader("custodes.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _blank(value: object) -> object:
    return "" if value is None else value


def chart_specs(report: FoiReport, view: str) -> list[tuple[str, charts.Spec]]:
    """(title, Vega-Lite specification) of each chart the HTML and PDF show."""
    total = report.total
    if view == "forces":
        return [
            (charts.FORCES_TITLE, charts.forces_results(report.per_force)),
            (charts.MONTH_TITLE, charts.month_trend(total, report.period)),
        ]
    return [
        (charts.MONTH_TITLE, charts.month_trend(total, report.period)),
        (charts.OUTCOME_TITLE, charts.outcome_mix(total)),
    ]


def regenerate_command(report: FoiReport, view: str) -> str:
    words = [
        "custodes report",
        view,
        f"--from {report.period.start}",
        f"--to {report.period.end}",
    ]
    words += [f"--force {shlex.quote(f)}" for f in report.forces]
    words += [f"--home HOME --as-of {p.as_of}" for p in report.provenance]
    return " ".join(words)


def to_html(report: FoiReport, view: str) -> str:
    data = report_data(report, view)
    rendered = [
        {"title": title, "svg64": base64.b64encode(charts.svg(spec).encode()).decode()}
        for title, spec in chart_specs(report, view)
    ]
    template = _ENV.get_template(f"{view}.html")
    return template.render(
        data=data,
        questions=QUESTIONS,
        charts=rendered,
        rows=[*data.get("rows", []), data["totals"]] if view == "forces" else [],
        orientation="landscape" if view == "forces" else "portrait",
        percent=_percent,
        blank=_blank,
        regenerate=regenerate_command(report, view),
    )


def to_pdf(report: FoiReport, view: str) -> bytes:
    import weasyprint  # imported here: it takes a moment, and only PDFs need it

    document = weasyprint.HTML(string=to_html(report, view)).render()
    return bytes(document.write_pdf())
