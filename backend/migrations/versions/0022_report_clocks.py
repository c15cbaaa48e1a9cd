"""board: incidents.report_due_at and report_warn_at, the reporting clocks that rank first

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 09:50:00

An incident whose reporting clock is in warning or breached ranks by it, above every
housekeeping clock (backend/ranking.py); the board's SQL order reads these two columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_RUNNING_REPORTS = (
    "FROM incident_deadlines d WHERE d.incident_id = incidents.id AND d.met_at IS NULL "
    "AND d.waived_at IS NULL AND d.superseded_at IS NULL AND d.rule NOT IN ('ack_lease', 'record')"
)


def upgrade() -> None:
    # In place (no batch copy): a copied incidents table would lose AUTOINCREMENT.
    op.add_column("incidents", sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("incidents", sa.Column("report_warn_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_report_warn_at", "incidents", ["report_warn_at"], unique=False)
    op.execute(
        f"UPDATE incidents SET report_due_at = (SELECT MIN(d.due_at) {_RUNNING_REPORTS}), "
        f"report_warn_at = (SELECT MIN(d.warn_at) {_RUNNING_REPORTS})"
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
