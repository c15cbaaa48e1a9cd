"""database roles on PostgreSQL: no future-dated events, cheaper checks

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 17:10:00

Nothing changes in the tables. On a PostgreSQL store whose database roles are on, the
upgrade's own step after every revision (backend/schema.py: pg_roles.after_upgrade)
recreates the check functions: the server refuses an audit event dated more than
pg_chain.FUTURE_SKEW_SECONDS after its own clock, and the check "is the caller an
administrator?" remembers its "no" for the session instead of asking on every row
(backend/pg_triggers.py). This revision exists so that `opsdeck db upgrade` runs that step.
"""

from __future__ import annotations

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: see the docstring."""


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
