"""A command that runs the machine short of memory or disk says so in one line, no traceback."""

from __future__ import annotations

import duckdb
import pytest
import typer

from custodes.cli._output import guard


@pytest.mark.parametrize(
    "error",
    [
        duckdb.IOException('IO Error: Could not write file "x.tmp": No space left on device'),
        duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block\n\nhints"),
    ],
)
def test_running_short_of_disk_or_memory_is_one_line_and_status_1(
    error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    def fails() -> None:
        raise error

    with pytest.raises(typer.Exit) as stopped:
        guard(fails)
    assert stopped.value.exit_code == 1
    printed = capsys.readouterr().err.strip()
    assert printed.startswith("error: the engine ran short of memory or disk: ")
    assert len(printed.splitlines()) == 1 and "Traceback" not in printed
