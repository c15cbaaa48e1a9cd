"""Incidents and what hangs off them: notes, calls, playbook steps, clocks, drafts, escalations, attestations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlmodel import Field

from .columns import TableModel, json_list, long_text, parent, string, utc


class Incident(TableModel, table=True):
    __tablename__ = "incidents"
    # AUTOINCREMENT: ids are never reused, even after the newest row is gone.
    __table_args__ = (
        Index("ix_incidents_open", "status", "level"),
        # At most one open incident per probe, enforced by the database, not by luck.
        Index(
            "uq_incidents_open_probe",
            "probe_id",
            unique=True,
            sqlite_where=text("probe_id IS NOT NULL AND status != 'closed'"),
            postgresql_where=text("probe_id IS NOT NULL AND status != 'closed'"),
        ),
        # `stats` asks of each incident whether a newer one reopens it.
        Index(
            "ix_incidents_reopened_from",
            "reopened_from",
            sqlite_where=text("reopened_from IS NOT NULL"),
            postgresql_where=text("reopened_from IS NOT NULL"),
        ),
        # The top of the board's due order, read in these orders (backend/board_page.py
        # `_due_window`): open incidents only, so a store's years of closed ones with a
        # breach still on them are not walked past first.
        *(
            Index(
                f"ix_incidents_open_{name}",
                name,
                sqlite_where=text("status != 'closed'"),
                postgresql_where=text("status != 'closed'"),
            )
            for name in ("report_due_at", "first_due_at", "report_warn_at")
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    system_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("systems.id"), index=True))
    category: str = Field(default="unclassified", sa_column=Column(String(32), nullable=False, index=True))
    level: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    status: str = Field(default="reported", sa_column=Column(String(16), nullable=False))
    owner: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    reporter: str = Field(sa_column=Column(String(64), nullable=False))

    reported_at: datetime = utc(nullable=False, index=True)
    outage_started_at: datetime | None = utc()
    acknowledged_at: datetime | None = utc()
    classified_at: datetime | None = utc()
    cause_located_at: datetime | None = utc()
    resolved_at: datetime | None = utc()
    record_filed_at: datetime | None = utc()
    closed_at: datetime | None = utc()

    resolution: str | None = Field(default=None, sa_column=Column(Text))
    record: str | None = Field(default=None, sa_column=Column(Text))
    close_kind: str | None = Field(default=None, sa_column=Column(String(16)))
    close_reason: str | None = Field(default=None, sa_column=Column(Text))
    duplicate_of: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("incidents.id")))
    reopened_from: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("incidents.id")))
    probe_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("probes.id")))
    warning_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # promoted from

    # Facts the deadline engine reads (besides the timestamps above).
    level_since: datetime | None = utc()  # when the current level was set
    reopened_at: datetime | None = utc()  # a resolved incident reopened: report clocks restart
    last_activity_at: datetime | None = utc()  # any audited change, notes and ticks included

    policy_version: int = Field(sa_column=Column(Integer, nullable=False))
    next_due_at: datetime | None = utc(index=True)  # the earliest clock owed an escalation
    first_due_at: datetime | None = utc(index=True)  # the earliest clock not met: the board's order
    # The earliest reporting clock not met, and when the first of them enters its warning
    # band: from then on it ranks the incident (backend/ranking.py).
    report_due_at: datetime | None = utc()
    report_warn_at: datetime | None = utc(index=True)
    updated_at: datetime = utc(nullable=False)
    updated_by: str = Field(sa_column=Column(String(64), nullable=False))


# The durations `stats` ranks (docs/stats.md), in seconds: kept by the database from the
# row's own timestamps by a trigger (backend/migrations/incident_spans.py), in the statement
# that writes them. Columns of the table, not fields of the model: no program writes them,
# and reading them back belongs to the statistics' queries alone.
INCIDENT_SPANS = (
    "time_to_ack_s",
    "time_to_classify_s",
    "time_to_cause_s",
    "time_to_resolve_s",
    "outage_s",
    "record_after_s",
)
_incidents = Incident.__table__  # type: ignore[attr-defined]
for _name in INCIDENT_SPANS:
    _incidents.append_column(Column(_name, Float().with_variant(Numeric(), "postgresql"), nullable=True))
# The period's incidents with their durations, read without the table (stats by month or week).
Index("ix_incidents_stats", *(_incidents.c[name] for name in ("reported_at", *INCIDENT_SPANS)))


class IncidentNote(TableModel, table=True):
    __tablename__ = "incident_notes"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = parent("incidents")
    at: datetime = utc(nullable=False)
    author: str = string(64)
    text: str = long_text()


class ServiceCall(TableModel, table=True):
    """A call to the service desk about an incident (docs/plan.md#service-desk): written down by hand
    while the system is down and entered here, during or after the outage. `contact` is
    personal data: listings mask it, the audit trail holds only its masked form."""

    __tablename__ = "service_calls"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    at: datetime = utc(nullable=False)  # when the call came in (given when entered later)
    caller: str = Field(sa_column=Column(String(120), nullable=False))
    contact: str = Field(sa_column=Column(String(120), nullable=False))
    need: str = Field(sa_column=Column(Text, nullable=False))
    callback: bool = Field(sa_column=Column(Boolean, nullable=False))  # a call back is owed
    entered_at: datetime = utc(nullable=False)
    entered_by: str = Field(sa_column=Column(String(64), nullable=False))
    called_back_at: datetime | None = utc()
    called_back_by: str | None = Field(default=None, sa_column=Column(String(64)))
    callback_note: str | None = Field(default=None, sa_column=Column(Text))


class PlaybookStep(TableModel, table=True):
    """One step of the category's playbook, copied onto the incident as a checklist."""

    __tablename__ = "playbook_steps"
    __table_args__ = (UniqueConstraint("incident_id", "key", name="uq_playbook_steps_key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    key: str = Field(sa_column=Column(String(64), nullable=False))
    category: str = Field(sa_column=Column(String(32), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    title_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    done_by: str | None = Field(default=None, sa_column=Column(String(64)))
    done_at: datetime | None = utc()


class IncidentDeadline(TableModel, table=True):
    """One clock of one incident, derived from its facts in the write transaction.

    `due_at` depends only on facts and policy; `now` decides the state when read."""

    __tablename__ = "incident_deadlines"
    __table_args__ = (
        UniqueConstraint("incident_id", "rule", "clock_key", name="uq_incident_deadlines_clock"),
        # An incident's clocks, with what judging them reads (`stats`): no table read.
        Index("ix_incident_deadlines_judged", "incident_id", "rule", "due_at", "met_at", "waived_at", "superseded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    clock_key: str = Field(sa_column=Column(String(64), nullable=False))
    clock_start: datetime = utc(nullable=False)
    due_at: datetime = utc(nullable=False)
    warn_at: datetime = utc(nullable=False)
    met_at: datetime | None = utc()
    next_level: str | None = Field(default=None, sa_column=Column(String(4)))
    escalated_at: datetime | None = utc()
    superseded_at: datetime | None = utc()  # the rule stopped applying (level lowered, ...)
    waived_at: datetime | None = utc()  # the incident closed before it was due
    waived_by: str | None = Field(default=None, sa_column=Column(String(64)))


class RecordDraft(TableModel, table=True):
    """The post-incident record before it is filed: drafted at resolve from the facts and
    the trail, then written by people (`opsdeck report edit`, `w`) across sessions. Each
    save bumps `version`, so two people editing at once cannot overwrite each other."""

    __tablename__ = "record_drafts"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, unique=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    created_at: datetime = utc(nullable=False)
    updated_at: datetime = utc(nullable=False)
    updated_by: str = Field(sa_column=Column(String(120), nullable=False))


class Escalation(TableModel, table=True):
    """A breach that was escalated: unique per clock, so it is recorded exactly once."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("incident_id", "rule", "clock_key", name="uq_escalations_clock"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = parent("incidents")
    rule: str = string(64)
    clock_key: str = string(64)
    due_at: datetime = utc(nullable=False)
    escalated_at: datetime = utc(nullable=False)
    actor: str = string(120)
    targets: list[Any] = json_list()


class Attestation(TableModel, table=True):
    """An obligation met (leadership informed, ...) or a re-grade declined: who, when, how."""

    __tablename__ = "attestations"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = parent("incidents")
    key: str = string(64)
    at: datetime = utc(nullable=False)
    by: str = string(120)
    channel: str = string(40, default="")
    note: str = long_text(default="")
    who: str = string(120, default="")
