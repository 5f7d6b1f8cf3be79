"""Transparency statistics: the campaigners' five questions answered exactly, line-coded, with
written counting rules, for any period, one force or several (docs/report.md).

    report = build_report([Source(home)], Period.parse("2011-06-01", "2015-12-31"))
    render(report, "foi", "json")      # or "csv", "html", "pdf"; view "forces" for the table
"""

from __future__ import annotations

from custodes.report.counting import (
    QUESTIONS,
    Counts,
    Incident,
    Involvement,
    Period,
    ReportError,
    Split,
    count_force,
    counting_rules,
)
from custodes.report.foi import FoiReport, Source, build_report, record_generation
from custodes.report.forces import forces_table
from custodes.report.render import FORMATS, VIEWS, render, report_data

__all__ = [
    "FORMATS",
    "QUESTIONS",
    "VIEWS",
    "Counts",
    "FoiReport",
    "Incident",
    "Involvement",
    "Period",
    "ReportError",
    "Source",
    "Split",
    "build_report",
    "count_force",
    "counting_rules",
    "forces_table",
    "record_generation",
    "render",
    "report_data",
]
