"""warnings (预警): a record of its own before an incident, its measures, who was told, notes

Revision ID: 0018
Revises: 0015b
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015b"
branch_labels = None
depends_on = None


def _utc(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("probe_id", sa.Integer(), sa.ForeignKey("probes.id"), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("known", sa.Text(), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("analysis", sa.Text(), nullable=False),
        _utc("analysed_at"),
        sa.Column("analysed_by", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _utc("raised_at", nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        _utc("closed_at"),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        _utc("updated_at", nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_warnings_status", "warnings", ["status", "raised_at"])
    op.create_table(
        "warning_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), sa.ForeignKey("warnings.id"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        _utc("done_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("warning_id", "key", name="uq_warning_measures_key"),
    )
    op.create_index("ix_warning_measures_warning_id", "warning_measures", ["warning_id"])
    op.create_table(
        "warning_attestations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), sa.ForeignKey("warnings.id"), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("who", sa.String(length=120), nullable=False),
        _utc("at", nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_warning_attestations_warning_id", "warning_attestations", ["warning_id"])
    op.create_table(
        "warning_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), sa.ForeignKey("warnings.id"), nullable=False),
        _utc("at", nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_warning_notes_warning_id", "warning_notes", ["warning_id"])
    # Existing incidents were not promoted from a warning.
    op.add_column("incidents", sa.Column("warning_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
