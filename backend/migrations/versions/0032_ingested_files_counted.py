"""ingested files: counted in metric_counters, so their claims can be pruned

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 23:00:00

`opsdeck_ingested_files`, a Prometheus counter, was a count of `ingested_files` rows by
outcome. That table kept every file version ever taken in (a row a result file: millions
a day on a busy spool) and each scrape counted them all. The worker's upkeep now prunes
the claims of files long gone from their spool (backend/maintenance.py), and the count
of what was taken in lives in `metric_counters` (`ingested_files`, one row an outcome),
added to by the transaction that claims the files. This revision starts that counter
from the rows the store holds, so the metric goes on from where it was.
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO metric_counters (name, label, value) "
        "SELECT 'ingested_files', outcome, count(*) FROM ingested_files GROUP BY outcome"
    )


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
