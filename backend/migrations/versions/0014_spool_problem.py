"""spool problem: what stops a spool's files moving (a full disk), for the board's banner

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spools") as batch:
        batch.add_column(sa.Column("problem", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
