"""The documentation says what the code does: a command, column or code that is not documented
fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from custodes.bundle.contract import TABLES

ROOT = Path(__file__).resolve().parent.parent


def _load_reference_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts" / "cli_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_current() -> None:
    reference = _load_reference_script()
    assert (ROOT / "docs" / "cli.md").read_text() == reference.render(), (
        "docs/cli.md is out of date: run `python scripts/cli_reference.py`"
    )


def test_every_table_column_and_code_of_the_contract_is_documented() -> None:
    text = (ROOT / "docs" / "bundle.md").read_text()
    for table in TABLES:
        assert f"`{table.name}`" in text, table.name
        for column in table.columns:
            marker = f"`{column.name}`*" if column.required else f"`{column.name}`"
            assert marker in text, f"{table.name}.{column.name}"
            for code in column.codes:
                assert f"`{code}`" in text, f"{table.name}.{column.name} code {code}"


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, flags=re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.MULTILINE)
    assert re.search(r"^test:", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
