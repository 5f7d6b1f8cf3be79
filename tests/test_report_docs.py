"""The pages on case import and reports say what the code does: a column, code, line or key
that is not documented fails here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from custodes.cases import taxonomy
from custodes.cases.import_rows import COLUMNS, REQUIRED
from custodes.report import Period, counting_rules
from custodes.report.foi import FoiReport
from custodes.report.forces import forces_table

DOCS = Path(__file__).resolve().parent.parent / "docs"
EMPTY = FoiReport(Period(date(2015, 1, 1), date(2015, 1, 31)), (), {}, ())


def test_every_column_and_code_of_the_case_file_is_documented() -> None:
    text = (DOCS / "cases-import.md").read_text()
    for column in COLUMNS:
        marker = f"`{column}`*" if column in REQUIRED else f"`{column}`"
        assert marker in text, column
    for code in (*taxonomy.OUTCOME_CODES, *taxonomy.BREACH_TYPES, *taxonomy.EMPLOYEE_ROLES):
        assert f"`{code}`" in text, code


def test_every_line_code_and_json_key_of_the_report_is_documented() -> None:
    text = (DOCS / "report.md").read_text()
    for line in EMPTY.lines():
        code = line.code if "." not in line.code else line.code.split(".")[0] + ".<"
        assert f"`{code}" in text, line.code
    for key in EMPTY.to_dict():
        assert f"`{key}`" in text, key
    row = forces_table(EMPTY)["totals"]
    for key in row:
        assert f"`{key}`" in text, key
    assert f"R1 to R{len(counting_rules())}" in text
