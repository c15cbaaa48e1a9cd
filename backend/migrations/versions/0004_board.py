"""board: incidents.first_due_at, the board's order (the earliest clock not yet met)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (no batch copy): a copied incidents table would lose AUTOINCREMENT.
    op.add_column("incidents", sa.Column("first_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_first_due_at", "incidents", ["first_due_at"], unique=False)
    op.execute(
        "UPDATE incidents SET first_due_at = (SELECT MIN(d.due_at) FROM incident_deadlines d "
        "WHERE d.incident_id = incidents.id AND d.met_at IS NULL AND d.superseded_at IS NULL)"
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
