"""the audit vouches for rows: the store's HMAC key for personal data in the trail

Revision ID: 0013
Revises: 0018
Create Date: 2026-12-03 07:00:00

The key is made here, once per store. The baseline events (one per existing incident,
roster member, policy and channels version) are written right after the upgrade by
backend/schema.py `_baseline`, through the same write path as every other event.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table(
        "store_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.bulk_insert(settings, [{"key": "audit_hmac_key", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
