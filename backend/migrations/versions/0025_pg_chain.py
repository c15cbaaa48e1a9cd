"""database roles on PostgreSQL: the server keeps the audit chain

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:30:00

Nothing changes in the tables. On a PostgreSQL store whose database roles are on, the
upgrade's own step after every revision (backend/schema.py: pg_roles.after_upgrade)
recreates the check functions and puts the new ones on the tables: an inserted audit
event must extend its chain's head with the recipe's hash (backend/pg_chain.py), the
server moves the head, people may only append to the audit trail and the change feed,
not update them, and a person's role leaves the outbox to the sender except for a retry
(backend/pg_outbox.py). This revision exists so that `opsdeck db upgrade` runs that
step; a store that reached it before the outbox checks existed gets them from `opsdeck
db roles init`, run again.
"""

from __future__ import annotations

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: see the docstring."""


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
