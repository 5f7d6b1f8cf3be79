"""Historical case imports: each run (case_imports), each imported person-outcome with its file
line and idempotence key (case_import_rows), and the rows quarantined (case_import_quarantine)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("default_force", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_already_present", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("cases_created", sa.Integer(), nullable=False),
        sa.Column("ledger_leaf", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_imports")),
    )
    with op.batch_alter_table("case_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_imports_file_sha256"), ["file_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_imports_ledger_leaf"), ["ledger_leaf"], unique=False
        )

    op.create_table(
        "case_import_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("force", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=False),
        sa.Column("breach_type", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("outcome_date", sa.Date(), nullable=True),
        sa.Column("systems", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("allegation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allegation_id"],
            ["allegations.id"],
            name=op.f("fk_case_import_rows_allegation_id_allegations"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_import_rows_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["case_imports.id"],
            name=op.f("fk_case_import_rows_import_id_case_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"], ["outcomes.id"], name=op.f("fk_case_import_rows_outcome_id_outcomes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_import_rows")),
        sa.UniqueConstraint(
            "force", "case_ref", "person_ref", "outcome", name=op.f("uq_case_import_rows_force")
        ),
        sa.UniqueConstraint("outcome_id", name=op.f("uq_case_import_rows_outcome_id")),
    )
    with op.batch_alter_table("case_import_rows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_import_rows_allegation_id"), ["allegation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_import_rows_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_import_rows_import_id"), ["import_id"], unique=False
        )

    op.create_table(
        "case_import_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["case_imports.id"],
            name=op.f("fk_case_import_quarantine_import_id_case_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_import_quarantine")),
        sa.UniqueConstraint(
            "file_sha256", "line", name=op.f("uq_case_import_quarantine_file_sha256")
        ),
    )
    with op.batch_alter_table("case_import_quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_import_quarantine_import_id"), ["import_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("case_import_quarantine")
    op.drop_table("case_import_rows")
    op.drop_table("case_imports")
