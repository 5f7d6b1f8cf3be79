"""``custodes users`` and ``custodes serve``: accounts from the command line (the password
from standard input, never an option), and the server started for real."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner

from custodes.cases.audit import READ_KIND
from custodes.cases.db import open_cases
from custodes.cases.users import add_user, authenticate
from custodes.cli import app as cli
from custodes.store import LeafPool, audit, open_store
from custodes.web.app import SWITCH_INTERVAL, tune_for_serving
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


@dataclass
class Served:
    address: str
    errors: str = ""  # what the server wrote on standard error, once it stopped


@contextmanager
def serving(home: Path, *options: str) -> Iterator[Served]:
    """``custodes serve`` for real, on a free port, stopped (Ctrl-C) at the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "custodes", "serve", "--home", str(home)]
    server = subprocess.Popen(
        [*command, "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{served.address}/login", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "custodes serve did not answer within 60 s"
                time.sleep(0.2)
        yield served
    finally:
        server.send_signal(signal.SIGINT)
        served.errors = server.communicate(timeout=30)[1]


def test_serve_syncs_alerts_and_answers(detected_home: Path) -> None:
    with serving(detected_home) as served:
        answer = httpx.get(f"{served.address}/login", timeout=5)
        assert answer.status_code == 200 and "Sign in" in answer.text
        assert httpx.get(f"{served.address}/api/alerts").status_code == 401
    assert "alerts synced: 18 new" in served.errors
    assert f"serving on {served.address}/" in served.errors


def test_several_server_processes_share_sessions_and_the_ledger(detected_home: Path) -> None:
    db = open_cases(detected_home)
    try:
        add_user(db, "rita", "reviewer", PASSWORD)
    finally:
        db.close()
    before = ledger_size(detected_home)
    with serving(detected_home, "--workers", "2") as served:
        address = served.address
        signed_in = httpx.post(
            f"{address}/api/login", json={"name": "rita", "password": PASSWORD}, timeout=10
        )
        assert signed_in.status_code == 200, signed_in.text
        cookies = signed_in.cookies

        def page(n: int) -> int:  # a new connection each time: either process may answer
            answer = httpx.get(
                f"{address}/api/alerts?page={n % 2 + 1}", cookies=cookies, timeout=30
            )
            assert answer.status_code == 200, answer.text
            return n

        with ThreadPoolExecutor(8) as pool:
            assert sorted(pool.map(page, range(24))) == list(range(24))
    with open_store(detected_home) as store:
        reads = [e for e in store.catalog.system_events(before) if e.kind == READ_KIND]
        assert store.catalog.ledger_size() == before + 1 + len(reads)  # the login, then reads
    assert len(reads) == 24
    with open_store(detected_home) as store, LeafPool() as pool:
        assert audit(store, pool).ok


def ledger_size(home: Path) -> int:
    with open_store(home) as store:
        return store.catalog.ledger_size()


def test_a_server_process_hands_the_gil_over_within_a_millisecond() -> None:
    """Request threads coming back from the database wait for the GIL at most this long."""
    before = sys.getswitchinterval()
    try:
        tune_for_serving()
        assert sys.getswitchinterval() == SWITCH_INTERVAL == 0.001
    finally:
        sys.setswitchinterval(before)


def test_serve_without_a_store_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["serve", "--home", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no store here" in result.output
