"""stats from stored facts: each incident's durations kept by the database, covering indexes

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 17:00:00

`opsdeck stats` ranks five durations per group and judges every clock of the period.
Each incident now stores its durations in seconds (time to acknowledge, classify, locate
the cause, resolve; the outage; resolution to record), written by a trigger from its own
timestamps (backend/migrations/incident_spans.py) and filled here for every incident.
An index over the reported time and those durations lets `stats` read them without the
table; an index over each clock's incident, rule and times lets it judge clocks without
the table, and replaces the index on the incident alone (its first column).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsdeck.backend.migrations.incident_spans import SPANS, backfill_sql, create_span_triggers

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in SPANS:
        op.add_column("incidents", sa.Column(name, sa.Float().with_variant(sa.Numeric(), "postgresql"), nullable=True))
    op.execute(backfill_sql(op.get_bind().dialect.name))
    create_span_triggers()
    op.create_index("ix_incidents_stats", "incidents", ["reported_at", *SPANS])
    op.create_index(
        "ix_incident_deadlines_judged",
        "incident_deadlines",
        ["incident_id", "rule", "due_at", "met_at", "waived_at", "superseded_at"],
    )
    op.drop_index("ix_incident_deadlines_incident_id", table_name="incident_deadlines")


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
