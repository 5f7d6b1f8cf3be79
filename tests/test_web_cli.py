"""``custodes users`` and ``custodes serve``: accounts from the command line (the password
from standard input, never an option), and the server started for real."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from custodes.cases.db import open_cases
from custodes.cases.users import authenticate
from custodes.cli import app as cli
from tests.web_fixtures import PASSWORD

runner = CliRunner()


def test_users_are_added_listed_disabled_and_enabled(detected_home: Path) -> None:
    home = str(detected_home)
    added = runner.invoke(
        cli, ["users", "add", "carol", "--role", "dpo", "--home", home], input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert "added carol (dpo)" in added.output and PASSWORD not in added.output
    db = open_cases(detected_home)
    try:
        assert authenticate(db, "carol", PASSWORD).role == "dpo"
    finally:
        db.close()
    listed = runner.invoke(cli, ["users", "list", "--home", home, "--json"])
    assert '"name": "carol"' in listed.output and PASSWORD not in listed.output
    assert runner.invoke(cli, ["users", "disable", "carol", "--home", home]).exit_code == 0
    assert (
        '"active": false' in runner.invoke(cli, ["users", "list", "--home", home, "--json"]).output
    )
    assert runner.invoke(cli, ["users", "enable", "carol", "--home", home]).exit_code == 0


def test_users_add_refuses_mistakes_in_one_line(detected_home: Path) -> None:
    home = str(detected_home)
    for arguments, given, message in [
        (["users", "add", "dan", "--home", home], "short\n", "use at least 12"),
        (
            ["users", "add", "dan", "--role", "sheriff", "--home", home],
            PASSWORD + "\n",
            "unknown role 'sheriff'",
        ),
        (["users", "add", "dan", "--home", home], "", "no password on standard input"),
        (["users", "disable", "nobody", "--home", home], "", "no user named 'nobody'"),
    ]:
        result = runner.invoke(cli, arguments, input=given)
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def test_serve_syncs_alerts_and_answers(detected_home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodes",
            "serve",
            "--home",
            str(detected_home),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "custodes serve did not answer within 60 s"
                time.sleep(0.2)
        assert answer.status_code == 200 and "Sign in" in answer.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/alerts").status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    assert "alerts synced: 18 new" in errors
    assert f"serving on http://127.0.0.1:{port}/" in errors


def test_serve_without_a_store_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["serve", "--home", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no store here" in result.output
