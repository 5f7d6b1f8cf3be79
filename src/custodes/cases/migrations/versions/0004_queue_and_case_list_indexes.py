"""Indexes that give the alert queue its order without sorting: (state, score, alert_id) and
(state, detected_at, alert_id) for the whole queue, and (state, rule, score, alert_id) and
(state, family, score, alert_id) for the queue filtered by rule or by family (and minimum score);
and (owner_id, status), (reviewer_id, status) for the open cases of someone on thousands.

Scores take few distinct values (a rule's score scaled by the number of events) and every alert
of one sync reaches the queue at the same moment, so the indexes of revision 0002 on (state,
score) and (state, detected_at) still left the database to sort tens of thousands of tied rows
by alert_id for every page of a million-alert queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_alerts_state_score_alert_id": ["state", "score", "alert_id"],
    "ix_alerts_state_detected_at_alert_id": ["state", "detected_at", "alert_id"],
    "ix_alerts_state_rule_score_alert_id": ["state", "rule", "score", "alert_id"],
    "ix_alerts_state_family_score_alert_id": ["state", "family", "score", "alert_id"],
}


CASE_INDEXES = {
    "ix_cases_owner_id_status": ["owner_id", "status"],
    "ix_cases_reviewer_id_status": ["reviewer_id", "status"],
}


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name, columns in CASE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for name in reversed(CASE_INDEXES):
            batch_op.drop_index(name)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
