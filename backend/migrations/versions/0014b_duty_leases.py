"""duty leases: each worker duty's holder, epoch and expiry (leases with liveness)

Revision ID: 0014b
Revises: 0017
Create Date: 2026-12-03 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014b"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_leases",
        sa.Column("duty", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("duty"),
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
