"""database roles on PostgreSQL: the role-to-login mapping table and the check functions

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 10:00:00

PostgreSQL only (docs/postgres-roles.md); on SQLite the OS decides who writes the file,
so this revision does nothing there. The functions are created here and again after every
upgrade (backend/schema.py), so they follow the code; the triggers that call them are put
on the tables by `opsdeck db roles init` alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from opsdeck.backend import pg_triggers

    op.create_table(
        pg_triggers.MAP_TABLE,
        sa.Column("db_role", sa.String(length=63), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("db_role"),
    )
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    for statement in pg_triggers.functions(schema):
        op.execute(sa.text(statement))


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
