"""database roles on PostgreSQL: no back-dated events

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 18:10:00

Nothing changes in the tables. On a PostgreSQL store whose database roles are on, the
upgrade's own step after every revision (backend/schema.py: pg_roles.after_upgrade)
recreates the check functions: the server refuses an audit event dated before its own
transaction began (more than pg_chain.FUTURE_SKEW_SECONDS), not only one dated before its
chain's newest event. This revision exists so that `opsdeck db upgrade` runs that step.
"""

from __future__ import annotations

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: see the docstring."""


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
