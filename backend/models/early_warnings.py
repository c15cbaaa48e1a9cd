"""Warnings (预警): the record, its measures, who was told, notes, escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field

from .columns import TableModel, json_list, long_text, parent, string, utc


class WarningRecord(TableModel, table=True):
    """A warning (预警, docs/plan.md#warnings): a sign before an incident. It has its own
    clock, never the incident clocks, and ends promoted to an incident or closed as passed.
    Its audit trail is the chain `warning:ID`."""

    __tablename__ = "warnings"
    __table_args__ = (
        Index("ix_warnings_status", "status", "raised_at"),
        # At most one open warning per probe (backend/probe_warnings.py), by the database.
        Index(
            "uq_warnings_open_probe",
            "probe_id",
            unique=True,
            sqlite_where=text("probe_id IS NOT NULL AND status = 'open'"),
            postgresql_where=text("probe_id IS NOT NULL AND status = 'open'"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # external | internal
    source: str = Field(default="", sa_column=Column(String(300), nullable=False, default=""))
    probe_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("probes.id")))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    known: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # what is known
    systems: list[Any] = json_list()  # names of the systems it may affect
    serious: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    analysis: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    analysed_at: datetime | None = utc()
    analysed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))  # open | promoted | passed
    raised_at: datetime = utc(nullable=False)
    raised_by: str = Field(sa_column=Column(String(64), nullable=False))
    closed_at: datetime | None = utc()
    closed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    close_reason: str | None = Field(default=None, sa_column=Column(Text))
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("incidents.id")))
    policy_version: int = Field(sa_column=Column(Integer, nullable=False))
    updated_at: datetime = utc(nullable=False)
    updated_by: str = Field(sa_column=Column(String(64), nullable=False))


class WarningMeasure(TableModel, table=True):
    """A preparatory measure of a warning: the policy's defaults for its kind, as a checklist."""

    __tablename__ = "warning_measures"
    __table_args__ = (UniqueConstraint("warning_id", "key", name="uq_warning_measures_key"),)

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int = Field(sa_column=Column(Integer, ForeignKey("warnings.id"), nullable=False, index=True))
    key: str = Field(sa_column=Column(String(64), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    title_zh: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    done_by: str | None = Field(default=None, sa_column=Column(String(64)))
    done_at: datetime | None = utc()


class WarningAttestation(TableModel, table=True):
    """Someone told: a department to prepare (`department`), or leadership (`leadership`): who, when, how."""

    __tablename__ = "warning_attestations"

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int = parent("warnings")
    key: str = string(32)
    who: str = string(120, default="")
    at: datetime = utc(nullable=False)
    by: str = string(120)
    channel: str = string(40, default="")
    note: str = long_text(default="")


class WarningNote(TableModel, table=True):
    __tablename__ = "warning_notes"

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int = parent("warnings")
    at: datetime = utc(nullable=False)
    author: str = string(64)
    text: str = long_text()


class WarningEscalation(TableModel, table=True):
    """A warning's clock breached and escalated (backend/warning_escalation.py): unique per
    clock, so it is recorded exactly once however many workers sweep."""

    __tablename__ = "warning_escalations"
    __table_args__ = (UniqueConstraint("warning_id", "clock_key", name="uq_warning_escalations_clock"),)

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int = parent("warnings")
    clock_key: str = string(64)
    due_at: datetime = utc(nullable=False)
    escalated_at: datetime = utc(nullable=False)
    actor: str = string(120)
    targets: list[Any] = json_list()
