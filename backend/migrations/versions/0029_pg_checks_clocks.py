"""database roles on PostgreSQL: the server checks the clocks

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 17:20:00

Nothing changes in the tables. On a PostgreSQL store whose database roles are on, the
upgrade's own step after every revision (backend/schema.py: pg_roles.after_upgrade)
recreates the check functions and puts the new ones on the tables: a clock a person's
role writes must be what the incident's facts and its pinned policy make it, a fact a
person's write sets is that write's time, and an incident's due times are its clocks'
(backend/pg_clocks.py). This revision exists so that `opsdeck db upgrade` runs that step.
"""

from __future__ import annotations

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: see the docstring."""


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
