"""clock waivers: a clock not yet due when its incident closed is waived, not met

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 06:30:00

The columns only. The clocks of the incidents already closed are re-derived under the
new rules right after the upgrade, by `opsdeck.backend.schema` (`_settle_closed_clocks`),
with the deadline engine of the program doing the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident_deadlines", sa.Column("waived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("incident_deadlines", sa.Column("waived_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
