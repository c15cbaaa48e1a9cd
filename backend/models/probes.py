"""Probes, their results and daily sums, the spool's files and status, alert sources and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from .columns import TableModel, json_dict, json_list, utc


class Probe(TableModel, table=True):
    """A monitoring item (第九条) or readiness check (docs/plan.md#readiness), kept current by the ingest."""

    __tablename__ = "probes"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    system_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("systems.id")))
    kind: str = Field(default="", sa_column=Column(String(32), nullable=False, default=""))
    interval_s: int | None = Field(default=None, sa_column=Column(Integer))  # learned; config overrides
    state: str = Field(default="UNKNOWN", sa_column=Column(String(16), nullable=False))
    stale: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    output: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_result_at: datetime | None = utc()
    last_success_at: datetime | None = utc()  # readiness: the last good run
    state_since: datetime | None = utc()
    consecutive: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    last_ok_at: datetime | None = utc()  # hold-down: no new incident until it recovers once
    recovery_noted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    silenced_until: datetime | None = utc()
    silence_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = utc(nullable=False)


class ProbeResult(TableModel, table=True):
    __tablename__ = "probe_results"
    __table_args__ = (Index("ix_probe_results_probe_at", "probe_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    probe_id: int = Field(sa_column=Column(Integer, ForeignKey("probes.id"), nullable=False))
    at: datetime = utc(nullable=False)
    received_at: datetime = utc(nullable=False)
    state: str = Field(sa_column=Column(String(16), nullable=False))
    output: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    perfdata: list[Any] = json_list()
    stale: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    result_key: str | None = Field(default=None, sa_column=Column(String(200), unique=True))
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("incidents.id")))
    flags: list[Any] = json_list()  # "decode_replaced": undecodable bytes were replaced


class IngestedFile(TableModel, table=True):
    """A spool file version taken in, committed with its results: never twice."""

    __tablename__ = "ingested_files"
    # Led by the file's time, so a new version lands at the index's end (migration 0031).
    __table_args__ = (UniqueConstraint("mtime_ns", "name", "size", "content_hash", name="uq_ingested_files_version"),)

    id: int | None = Field(default=None, primary_key=True)
    spool: str = Field(sa_column=Column(String(160), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mtime_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    ingested_at: datetime = utc(nullable=False, index=True)
    results: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    outcome: str = Field(default="ingested", sa_column=Column(String(16), nullable=False, default="ingested"))


class FileCursor(TableModel, table=True):
    """How far a JSON Lines state file was read, committed with the rows it yielded."""

    __tablename__ = "file_cursors"

    key: str = Field(sa_column=Column(String(400), primary_key=True))  # spool id + file name
    device: int = Field(sa_column=Column(BigInteger, nullable=False))
    inode: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = utc(nullable=False)


class ProbeDay(TableModel, table=True):
    """One probe's day (UTC), summed before its results are pruned: seconds in OK and
    seconds with a known state, for availability over months (backend/availability.py)."""

    __tablename__ = "probe_days"

    probe_id: int = Field(sa_column=Column(Integer, ForeignKey("probes.id"), primary_key=True))
    day: str = Field(sa_column=Column(String(10), primary_key=True))  # 2026-11-28, UTC
    ok_s: float = Field(sa_column=Column(Float, nullable=False))
    known_s: float = Field(sa_column=Column(Float, nullable=False))
    results: int = Field(sa_column=Column(Integer, nullable=False))


class SpoolStatus(TableModel, table=True):
    """What the board shows of each spool: its last file and quarantined count."""

    __tablename__ = "spools"

    id: str = Field(sa_column=Column(String(160), primary_key=True))  # host:path
    host: str = Field(sa_column=Column(String(120), nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    last_file_at: datetime | None = utc()
    last_scan_at: datetime | None = utc()
    quarantined: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # e.g. out of space


class AlertSource(TableModel, table=True):
    """A monitoring system allowed to post alerts to the receiver (`opsdeck sources add`).

    The token is stored only as its SHA-256; the counters are what `sources list` and the
    board's probe panel show (accepted in the transaction that stored the alerts,
    rejections added from the receiver's memory every few seconds)."""

    __tablename__ = "alert_sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # alertmanager | events | json
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = utc(nullable=False)
    created_by: str = Field(sa_column=Column(String(120), nullable=False))
    rotated_at: datetime | None = utc()
    critical_after: int | None = Field(default=None, sa_column=Column(Integer))  # None: the kind's default
    alertmanager_url: str | None = Field(default=None, sa_column=Column(Text))  # two-way silences
    accepted: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    rejected: dict[str, Any] = json_dict()  # HTTP code -> count
    last_accepted_at: datetime | None = utc()
    last_rejected_at: datetime | None = utc()


class Alert(TableModel, table=True):
    """One alert of a source (an Alertmanager fingerprint, an events dedup_key, a JSON
    probe) in the group probe it belongs to; the group probe's state is the worst of its
    firing alerts."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_alerts_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=Column(String(64), nullable=False))
    key: str = Field(sa_column=Column(String(255), nullable=False))  # fingerprint, dedup_key
    probe_id: int = Field(sa_column=Column(Integer, ForeignKey("probes.id"), nullable=False, index=True))
    name: str = Field(sa_column=Column(Text, nullable=False))  # alertname, summary: what a person reads
    state: str = Field(sa_column=Column(String(16), nullable=False))  # OK WARNING CRITICAL (OK = resolved)
    firing: bool = Field(sa_column=Column(Boolean, nullable=False))
    episode: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    labels: dict[str, Any] = json_dict()
    starts_at: datetime | None = utc()
    updated_at: datetime = utc(nullable=False)
    silence_id: str | None = Field(default=None, sa_column=Column(String(64)))  # Alertmanager's, when two-way
