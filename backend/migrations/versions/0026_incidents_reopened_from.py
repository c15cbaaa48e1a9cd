"""incidents by the incident they reopen: `stats` counts a closed incident reopened as a new one

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_incidents_reopened_from",
        "incidents",
        ["reopened_from"],
        sqlite_where=sa.text("reopened_from IS NOT NULL"),
        postgresql_where=sa.text("reopened_from IS NOT NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
