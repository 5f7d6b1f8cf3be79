"""Shared fixtures: small bundles written as CSV text, and a store home in a temp dir; a
detected synthetic force; the case database on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

from custodes.cases.db import CaseDb, open_cases
from custodes.cases.models import User
from custodes.store.store import Store, open_store

# Timing is not what property tests check, and CI machines are shared and noisy: no per-example
# deadline and no "too slow" health check, for every test (explicit @settings may add more).
settings.register_profile("custodes", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("custodes")

UNITS = """unit_id,name,kind
U1,Response A,response
U2,Professional Standards,psd
"""
WORKFORCE = """person_id,role,surname,forenames,date_of_birth,home_postcode,home_address,unit_id,joined,left
P1,officer,Smith,John,1980-01-01,AB1 2CD,1 High St,U1,2010-01-01,
P2,staff,Jones,Ann,1985-02-03,AB1 2CE,2 High St,U2,2012-01-01,
"""
EVENTS_HEADER = "event_id,ts,person_id,action,system,subject_id,purpose\n"
EVENTS = (
    EVENTS_HEADER
    + """E1,2026-01-05T08:00:00Z,P1,consult,PNC,S1,routine check
E2,2026-01-05T09:00:00Z,P2,search,RMS,,
E3,2026-02-01T10:00:00+01:00,P1,disclose,PND,S2,court
"""
)

BundleFactory = Callable[..., Path]


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Write a bundle directory from ``table=text`` pairs (bytes are written as they are)."""
    counter = iter(range(1_000_000))

    def make(**tables: str | bytes) -> Path:
        bundle = tmp_path / f"bundle{next(counter)}"
        bundle.mkdir()
        for name, content in tables.items():
            data = content if isinstance(content, bytes) else content.encode()
            (bundle / f"{name}.csv").write_bytes(data)
        return bundle

    return make


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def read_store(home: Path) -> Store:
    return open_store(home)


def rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    store = open_store(home)
    try:
        return store.query(sql)
    finally:
        store.close()


# a small force, detected once ----------------------------------------------------------------


@pytest.fixture(scope="session")
def detected_force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HOME of a small synthetic force (40 people, 3 days, seed 5), ingested and detected
    once per test run (xdist workers share it, the first builds it under a lock): 18 alerts of
    11 rules. Read-only: tests that write (the ledger, the case database) use
    :func:`detected_home`, a fresh copy."""
    from custodes.detect import detect_home
    from custodes.store import ingest
    from custodes.synth import generate

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's directory, common to its workers
    root = base / "detected-force"
    with (base / "detected-force.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").exists():
            shutil.rmtree(root, ignore_errors=True)
            generate(root / "bundle", workforce=40, days=3, seed=5)
            ingest(root / "bundle", root / "home")
            detect_home(root / "home")
            (root / "ready").touch()
    return root / "home"


@pytest.fixture
def detected_home(detected_force: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`detected_force`'s HOME, to write to."""
    copy = tmp_path / "force-home"
    shutil.copytree(detected_force, copy)
    return copy


# the case database: SQLite and a real PostgreSQL ----------------------------------------------

PG_URL_VARIABLE = "CUSTODES_TEST_PG_URL"
PG_MISSING = (
    "the case tests need PostgreSQL: install it (`apt-get install -y postgresql`, which gives "
    "/usr/lib/postgresql/*/bin), or point CUSTODES_TEST_PG_URL at a server you may create "
    "databases on (postgresql+psycopg://USER@HOST:PORT/DB)"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this test session, on which tests create databases.

    ``$CUSTODES_TEST_PG_URL`` when set (``.ci/run`` starts a server and sets it); otherwise a
    private server is started on loopback, in a temporary directory, for this pytest process
    (so each xdist worker has its own) and stopped at the end. If PostgreSQL cannot be started,
    the tests that need it fail with a message saying how to get it; they are never skipped.
    """
    url = os.environ.get(PG_URL_VARIABLE)
    if url:
        yield url
        return
    with private_postgres() as started:
        yield started


@pytest.fixture(params=["sqlite", "postgresql"])
def case_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty case database for one test, as a URL for
    ``custodes.cases.db.open_cases(home, url)``: parametrised, so every test that uses it runs
    twice, ``[sqlite]`` (a file in the test's tmp_path) and ``[postgresql]`` (a new database on
    :func:`postgres_server`, dropped after the test). Close what you open on it
    (``CaseDb.close()``) so the database can be dropped."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.sqlite'}"
        return
    server = make_url(request.getfixturevalue("postgres_server"))
    name = f"custodes_{uuid.uuid4().hex[:20]}"
    _pg_admin(server.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(
            server.render_as_string(hide_password=False), f'DROP DATABASE "{name}" WITH (FORCE)'
        )


def _pg_admin(url: str, statement: str) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement.encode())


def postgres_bin() -> Path:
    """The directory of the newest installed PostgreSQL server's programs."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version)
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        )
        if (bindir / "postgres").exists():
            return bindir
    pytest.fail(PG_MISSING, pytrace=False)


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@contextmanager
def private_postgres() -> Iterator[str]:
    """Start a throwaway PostgreSQL server on 127.0.0.1 (fsync off: it holds test data only),
    yield its URL, stop it and delete its directory whatever happens. As root, the server runs
    as the ``postgres`` user (initdb refuses to run as root)."""
    bindir = postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="custodes-pg-"))
    as_postgres = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
    if as_postgres:
        shutil.chown(directory, "postgres", "postgres")
    data, log = directory / "data", directory / "server.log"
    started = False
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "app",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        _run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                options,
                "start",
            ],
            log,
        )
        started = True
        yield f"postgresql+psycopg://app@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(directory, ignore_errors=True)


def _run(command: list[str], log: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        server_log = log.read_text() if log is not None and log.exists() else ""
        pytest.fail(
            f"{PG_MISSING}\n`{' '.join(command)}` failed:\n{result.stderr}{server_log}",
            pytrace=False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def case_db(detected_home: Path, case_db_url: str) -> Iterator[CaseDb]:
    """The case database (both engines, see :func:`case_db_url`) of a private copy of the
    detected force, so case steps and reads go to that store's ledger. Closed afterwards."""
    db = open_cases(detected_home, case_db_url)
    try:
        yield db
    finally:
        db.close()


CASE_USERS = {
    "ann": "investigator",
    "bob": "investigator",
    "rita": "reviewer",
    "rex": "reviewer",
    "dora": "dpo",
    "otto": "overseer",
    "adam": "admin",
}


@pytest.fixture
def case_users(case_db: CaseDb) -> dict[str, User]:
    """One user per name of :data:`CASE_USERS` (two investigators, two reviewers, a DPO, an
    overseer, an admin), by name; detached rows, as a signed-in request holds them."""
    with case_db.session() as session:
        users = {
            name: User(name=name, role=role, password_hash="-") for name, role in CASE_USERS.items()
        }
        session.add_all(users.values())
    return users
