"""docs/ledger.md stays true: its examples run and verify, and every public name is documented."""

from __future__ import annotations

import re
from pathlib import Path

import custodes.ledger as ledger
from custodes.ledger import ConsistencyProof, InclusionProof

DOC = Path(__file__).resolve().parent.parent / "docs" / "ledger.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_python_example_runs(tmp_path: Path) -> None:
    (code,) = blocks("python")
    assert '"ledger/tree"' in code
    exec(code.replace('"ledger/tree"', repr(str(tmp_path / "tree"))), {})


def test_the_json_examples_are_valid_proofs() -> None:
    inclusion, consistency = blocks("json")
    InclusionProof.from_json(inclusion).verify()
    ConsistencyProof.from_json(consistency).verify()


def test_every_public_name_is_documented() -> None:
    text = DOC.read_text()
    assert [name for name in ledger.__all__ if f"`{name}" not in text] == []
