"""Opening the case database: SQLite under HOME by default, PostgreSQL by URL.

``open_cases(home)`` uses ``HOME/cases.sqlite``; ``open_cases(home, url="postgresql+psycopg://…")``
uses a PostgreSQL database. Either way the schema is brought to the newest Alembic revision
before use, so a force that upgrades Custodes upgrades its database by running any command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from custodes.errors import CustodesError

MIGRATIONS = files("custodes.cases") / "migrations"


class CaseDbError(CustodesError):
    """The case database cannot be opened or used as asked."""


@dataclass
class CaseDb:
    """An opened case database: its engine, a session factory, and the store's HOME (where the
    ledger lives, since every case step is recorded there)."""

    home: Path
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def default_url(home: Path) -> str:
    return f"sqlite:///{(home / 'cases.sqlite').resolve()}"


def open_cases(
    home: Path, url: str | None = None, *, upgrade: bool = True, connections: int | None = None
) -> CaseDb:
    """Open (creating and migrating) the case database for the store under ``home``.

    ``connections``: how many connections the pool keeps open, for a server whose threads each
    need one at once (SQLAlchemy's default keeps 5 and opens and closes up to 10 more as needed:
    under load, a PostgreSQL backend started and stopped for many requests, and threads waiting
    for a connection). A command that runs once keeps the default.
    """
    url = url or default_url(home)
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise CaseDbError(
            f"{_safe(url)!r}: the case database is SQLite (sqlite:///FILE) or PostgreSQL "
            "(postgresql+psycopg://USER@HOST:PORT/DB)"
        )
    try:
        engine = _engine(url, connections)
        if upgrade:
            upgrade_schema(engine)
    except ArgumentError:
        raise CaseDbError(
            f"{url!r} is not a database URL (sqlite:///… or postgresql+psycopg://…)"
        ) from None
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise CaseDbError(f"cannot open the case database {_safe(url)}: {reason}") from None
    return CaseDb(home, url, engine, sessionmaker(engine, expire_on_commit=False))


def _engine(url: str, connections: int | None) -> Engine:
    pool: dict[str, Any] = {}
    if connections is not None:
        pool = {"pool_size": connections, "max_overflow": connections // 4}
    if url.startswith("sqlite"):
        home_db = url.removeprefix("sqlite:///")
        if home_db and home_db != ":memory:":
            Path(home_db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the newest revision (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url
