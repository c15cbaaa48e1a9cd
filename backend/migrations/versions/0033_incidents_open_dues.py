"""board: open incidents by report_due_at, first_due_at and report_warn_at: the top of the due order

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 16:10:00

The board's first page (and the wall's rows) is the top of the due order: the pressing
incidents (report_warn_at passed) by report_due_at, then the rest by first_due_at. Read
in these orders, a board of 100k open incidents finds its top without ranking every one
of them (backend/board_page.py `_due_window`); open ones only, so the closed incidents
that keep a breached clock's times are not walked first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("report_due_at", "first_due_at", "report_warn_at"):
        op.create_index(
            f"ix_incidents_open_{name}",
            "incidents",
            [name],
            sqlite_where=sa.text("status != 'closed'"),
            postgresql_where=sa.text("status != 'closed'"),
        )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
