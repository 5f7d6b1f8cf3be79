"""Drop the indexes on alerts (state, score) and (state, detected_at) of revision 0002.

Revision 0004's (state, score, alert_id) and (state, detected_at, alert_id) serve every query
they served, in the queue's order, so they only cost space and time on every alert written (a
nightly sync of a million alerts updates each index).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SUPERSEDED = {
    "ix_alerts_state_score": ["state", "score"],
    "ix_alerts_state_detected_at": ["state", "detected_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name in SUPERSEDED:
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name, columns in SUPERSEDED.items():
            batch_op.create_index(name, columns, unique=False)
