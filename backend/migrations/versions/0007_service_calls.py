"""service calls: the service desk's call log against an incident

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller", sa.String(length=120), nullable=False),
        sa.Column("contact", sa.String(length=120), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("callback", sa.Boolean(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("called_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_back_by", sa.String(length=64), nullable=True),
        sa.Column("callback_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_calls_incident_id", "service_calls", ["incident_id"])


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
