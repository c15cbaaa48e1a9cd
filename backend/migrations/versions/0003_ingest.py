"""ingest: spool files taken in, cursors, spool status; probe health; one open incident per probe

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:15:39.496735
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_cursors",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "ingested_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spool", sa.String(length=160), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_hash", "name", "size", "mtime_ns", name="uq_ingested_files_version"),
    )
    with op.batch_alter_table("ingested_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingested_files_ingested_at"), ["ingested_at"], unique=False)

    op.create_table(
        "spools",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("host", sa.String(length=120), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("last_file_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Added in place, never by a batch copy: a copied incidents table would lose
    # AUTOINCREMENT (ids must never be reused).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE incidents ADD COLUMN probe_id INTEGER REFERENCES probes (id)")
    else:
        op.add_column("incidents", sa.Column("probe_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_incidents_probe_id", "incidents", "probes", ["probe_id"], ["id"])
    op.create_index(
        "uq_incidents_open_probe",
        "incidents",
        ["probe_id"],
        unique=True,
        sqlite_where=sa.text("probe_id IS NOT NULL AND status != 'closed'"),
        postgresql_where=sa.text("probe_id IS NOT NULL AND status != 'closed'"),
    )

    with op.batch_alter_table("probe_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("probes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("state_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("consecutive", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("recovery_noted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
