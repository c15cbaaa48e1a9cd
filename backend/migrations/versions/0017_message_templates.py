"""message templates: template versions, and each recipient's language

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    # Existing members and contacts read the center's language ("").
    with op.batch_alter_table("roster_members") as batch:
        batch.add_column(sa.Column("lang", sa.String(length=8), nullable=False, server_default=""))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("lang", sa.String(length=8), nullable=False, server_default=""))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
