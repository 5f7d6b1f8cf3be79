"""A subject access report as JSON (for systems) or PDF (for the person): one template, rendered
by Jinja2, printed by WeasyPrint; no network, no browser."""

from __future__ import annotations

import json

from jinja2 import Environment, PackageLoader, select_autoescape

from custodes.subject.report import SubjectAccessReport

_templates = Environment(
    loader=PackageLoader("custodes.subject", "templates"),
    autoescape=select_autoescape(["html"]),
)


def to_json(report: SubjectAccessReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"


def to_html(report: SubjectAccessReport) -> str:
    return _templates.get_template("subject_access.html").render(r=report, d=report.to_dict())


def to_pdf(report: SubjectAccessReport) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(report)).write_pdf()
    return pdf
