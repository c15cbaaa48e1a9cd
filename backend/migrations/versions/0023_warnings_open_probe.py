"""warnings raised by probes: at most one open warning per probe

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_warnings_open_probe",
        "warnings",
        ["probe_id"],
        unique=True,
        sqlite_where=sa.text("probe_id IS NOT NULL AND status = 'open'"),
        postgresql_where=sa.text("probe_id IS NOT NULL AND status = 'open'"),
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
