"""presence: who has an incident open (outside the audit trail and the change feed)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login", "incident_id"),
    )
    op.create_index("ix_presence_seen_at", "presence", ["seen_at"])


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
