"""The case database opens on both engines at the newest revision, and its migrations are one
straight line."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from custodes.cases.db import alembic_config, open_cases
from custodes.cases.models import Base


def test_a_fresh_database_is_migrated_to_exactly_the_models(
    case_db_url: str, tmp_path: Path
) -> None:
    db = open_cases(tmp_path, case_db_url)
    try:
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        columns = {c["name"] for c in inspect(db.engine).get_columns("transitions")}
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("alerts")}
    finally:
        db.close()
    assert diff == []
    assert {"action", "detail", "ledger_leaf"} <= columns
    # the queue's order (revision 0004); 0005 dropped the (state, column) indexes they replace
    assert {"ix_alerts_state_score_alert_id", "ix_alerts_state_detected_at_alert_id"} <= indexes
    assert not {"ix_alerts_state_score", "ix_alerts_state_detected_at"} & indexes


def test_the_migrations_form_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads: {heads}"
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)


def test_the_migrations_go_down_and_up_again(case_db_url: str, tmp_path: Path) -> None:
    db = open_cases(tmp_path, case_db_url)
    try:
        config = alembic_config(db.engine)
        command.downgrade(config, "0001")
        assert "action" not in {c["name"] for c in inspect(db.engine).get_columns("transitions")}
        command.upgrade(config, "head")
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.close()
    assert diff == []
