"""duty schedule (排班): rotations, slots (overrides, takes, swaps, shifts), holidays,
coverage notices; members on duty by the old flag keep their shift as a take

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

def _times() -> list[sa.Column]:  # type: ignore[type-arg]
    """Who recorded a row, when, and when it was retired (never updated otherwise)."""
    return [
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "schedule_rotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("duty", sa.String(length=32), nullable=False),
        sa.Column("layer", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("shift_minutes", sa.Integer(), nullable=False),
        sa.Column("handoff", sa.String(length=32), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("hours", sa.String(length=16), nullable=False),
        sa.Column("holidays", sa.String(length=8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_schedule_rotations_name", "schedule_rotations", ["name"])
    slots = op.create_table(
        "schedule_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("duty", sa.String(length=32), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("other", sa.String(length=64), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_schedule_slots_duty_starts", "schedule_slots", ["duty", "starts_at"])
    op.create_table(
        "schedule_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_schedule_holidays_day", "schedule_holidays", ["day"])
    op.create_table(
        "coverage_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("duty", "starts_at", name="uq_coverage_notices_duty_starts"),
    )
    # The old flag: whoever was on duty keeps their shift, as a take on each of their
    # duties (and the group lead's, for a lead) running until they end it.
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as UTCDateTime stores it there: UTC, one text format
    rows = bind.execute(
        sa.text("SELECT login, permission, duties FROM roster_members WHERE on_duty = :on ORDER BY login"),
        {"on": True},
    )
    takes = []
    for login, permission, duties in rows:
        held = json.loads(duties) if isinstance(duties, str) else list(duties or [])
        if permission == "lead":
            held.append("lead")
        for duty in held:
            takes.append(
                {
                    "kind": "take",
                    "duty": duty,
                    "login": login,
                    "other": None,
                    "starts_at": now,
                    "ends_at": None,
                    "source": "",
                    "note": "on duty before the schedule (migration 0016)",
                    "created_by": "system:migration",
                    "recorded_at": now,
                    "retired_at": None,
                }
            )
    if takes:
        op.bulk_insert(slots, takes)


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
