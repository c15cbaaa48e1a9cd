"""probe days: each probe's day summed (seconds in OK, seconds known) before its results are pruned

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probe_days",
        sa.Column("probe_id", sa.Integer(), sa.ForeignKey("probes.id"), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("ok_s", sa.Float(), nullable=False),
        sa.Column("known_s", sa.Float(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("probe_id", "day"),
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
