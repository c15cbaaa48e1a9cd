"""The duty schedule (排班): rotations, slots, holidays, coverage notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from .columns import TableModel, json_list, utc


class ScheduleRotation(TableModel, table=True):
    """A rotation of the duty schedule (排班): members in turn, hand-offs at a wall-clock
    time in `zone`. Never updated but to retire it: an edit retires the row and adds a new
    one, so the schedule as it stood at any moment can be read again."""

    __tablename__ = "schedule_rotations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    duty: str = Field(sa_column=Column(String(32), nullable=False))
    layer: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    members: list[str] = json_list()
    shift_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    handoff: str = Field(sa_column=Column(String(32), nullable=False))  # local wall time, ISO, no offset
    zone: str = Field(sa_column=Column(String(64), nullable=False))
    days: list[int] = json_list()  # ISO weekdays 1-7 it covers; empty: every day
    hours: str = Field(default="", sa_column=Column(String(16), nullable=False, default=""))  # "09:00-18:00"
    holidays: str = Field(default="any", sa_column=Column(String(8), nullable=False, default="any"))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by: str = Field(sa_column=Column(String(120), nullable=False))
    recorded_at: datetime = utc(nullable=False)
    retired_at: datetime | None = utc()


class ScheduleSlot(TableModel, table=True):
    """A time range of the schedule: an override (covers, replacing the rotation), a take
    (`roster duty on`: joins until ended), a swap of two members, or an imported shift."""

    __tablename__ = "schedule_slots"
    __table_args__ = (Index("ix_schedule_slots_duty_starts", "duty", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    duty: str = Field(sa_column=Column(String(32), nullable=False))
    login: str = Field(sa_column=Column(String(64), nullable=False))
    other: str | None = Field(default=None, sa_column=Column(String(64)))  # a swap's second member
    starts_at: datetime = utc(nullable=False)
    ends_at: datetime | None = utc()  # None: a take still running
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by: str = Field(sa_column=Column(String(120), nullable=False))
    recorded_at: datetime = utc(nullable=False)
    retired_at: datetime | None = utc()


class ScheduleHoliday(TableModel, table=True):
    """A date of the holiday calendar: rotations may cover only holidays, or skip them."""

    __tablename__ = "schedule_holidays"

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(sa_column=Column(String(10), nullable=False, index=True))  # YYYY-MM-DD
    name: str = Field(default="", sa_column=Column(String(120), nullable=False, default=""))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by: str = Field(sa_column=Column(String(120), nullable=False))
    recorded_at: datetime = utc(nullable=False)
    retired_at: datetime | None = utc()


class CoverageNotice(TableModel, table=True):
    """A coverage gap already told to the leads (route event `coverage_gap`), once each."""

    __tablename__ = "coverage_notices"
    __table_args__ = (UniqueConstraint("duty", "starts_at", name="uq_coverage_notices_duty_starts"),)

    id: int | None = Field(default=None, primary_key=True)
    duty: str = Field(sa_column=Column(String(32), nullable=False))
    starts_at: datetime = utc(nullable=False)
    ends_at: datetime = utc(nullable=False)
    noticed_at: datetime = utc(nullable=False)
