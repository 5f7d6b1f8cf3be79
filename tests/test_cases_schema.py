"""The case database's schema is what its migrations make, on a fresh database and on reopen."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from custodes.cases.db import CaseDbError, open_cases
from custodes.cases.models import Base


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    db = open_cases(tmp_path)
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.close()
    assert diff == [], f"models.py and the migrations disagree; add a migration: {diff}"


def test_reopening_migrates_nothing_and_keeps_rows(tmp_path: Path) -> None:
    from custodes.cases.models import User

    db = open_cases(tmp_path)
    with db.session() as session:
        session.add(User(name="ann", role="investigator", password_hash="-"))
    db.close()
    again = open_cases(tmp_path)
    with again.session() as session:
        assert [u.name for u in session.query(User)] == ["ann"]
    assert "alembic_version" in inspect(again.engine).get_table_names()
    again.close()


def test_a_wrong_url_is_one_clear_error(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(CaseDbError, match=r"SQLite .* or PostgreSQL"):
        open_cases(tmp_path, "not a url")
    with pytest.raises(CaseDbError, match=r"SQLite .* or PostgreSQL"):
        open_cases(tmp_path, "mysql://root@localhost/cases")
    with pytest.raises(CaseDbError, match="cannot open the case database") as error:
        open_cases(tmp_path, "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(error.value), "a password must never reach a message"
