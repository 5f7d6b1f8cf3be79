"""Case steps say what they did (transitions.action, .detail); indexes for the alert queue's
orders (state, then score, last seen or time in the queue) and for "the cases I am on".

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_state_score", ["state", "score"], unique=False)
        batch_op.create_index("ix_alerts_state_last_ts", ["state", "last_ts"], unique=False)
        batch_op.create_index("ix_alerts_state_detected_at", ["state", "detected_at"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_cases_reviewer_id", ["reviewer_id"], unique=False)
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.create_index("ix_case_members_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.drop_index("ix_case_members_user_id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_reviewer_id")
        batch_op.drop_index("ix_cases_owner_id")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_detected_at")
        batch_op.drop_index("ix_alerts_state_last_ts")
        batch_op.drop_index("ix_alerts_state_score")
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("action")
