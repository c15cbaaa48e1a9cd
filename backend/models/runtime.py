"""Operational rows outside the audit trail: presence, worker heartbeats, duty leases, counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, String
from sqlmodel import Field

from .columns import TableModel, json_list, utc


class Presence(TableModel, table=True):
    """Who has an incident open in the detail screen, refreshed while they look.

    Like the heartbeat, outside the audit trail and the change feed: a look is not a
    change, and no dashboard reloads for it. Rows older than the TTL are ignored and
    swept by the next look."""

    __tablename__ = "presence"

    login: str = Field(sa_column=Column(String(64), primary_key=True))
    incident_id: int = Field(sa_column=Column(Integer, primary_key=True))
    seen_at: datetime = utc(nullable=False, index=True)


class WorkerHeartbeat(TableModel, table=True):
    """Workers say they are alive; dashboards warn when none has for 30 s.

    Operational metadata: written outside the audit trail and the change feed, so a
    heartbeat never wakes every dashboard."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(sa_column=Column(String(160), primary_key=True))
    host: str = Field(sa_column=Column(String(120), nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    duties: list[Any] = json_list()  # the duties this worker holds the lease for
    started_at: datetime = utc(nullable=False)
    beat_at: datetime = utc(nullable=False, index=True)


class DutyLease(TableModel, table=True):
    """Who does a worker duty, until when: renewed by its holder, taken over by a standby
    once it expires, with an epoch that fences a holder that stopped (hung, SIGSTOP) and
    came back. Operational metadata: outside the audit trail and the change feed."""

    __tablename__ = "duty_leases"

    duty: str = Field(sa_column=Column(String(40), primary_key=True))
    holder: str = Field(sa_column=Column(String(160), nullable=False))  # the worker id
    epoch: int = Field(sa_column=Column(BigInteger, nullable=False))
    renewed_at: datetime = utc(nullable=False)
    expires_at: datetime = utc(nullable=False)


class MetricCounter(TableModel, table=True):
    """A count that only grows (Prometheus counters): what happened, kept where no row
    says it (a delivery attempt's outcome). Added to in the transaction of the thing it
    counts; outside the audit trail and the change feed (backend/counters.py)."""

    __tablename__ = "metric_counters"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    label: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
