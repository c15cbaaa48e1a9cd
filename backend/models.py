"""The store's tables (SQLModel). Migrations in `migrations/versions` create them.

Times are `UTCDateTime` everywhere. Enums are stored as their string keys; the service
layer validates them. Incidents are never deleted; audit rows are append-only
(database triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from .sqltypes import UTCDateTime


def utc(*, nullable: bool = True, index: bool = False) -> Any:
    default = None if nullable else ...
    return Field(default=default, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` of a table model, for Core queries and ON CONFLICT inserts."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's mapping; SQLModel omits it
    return table


class System(SQLModel, table=True):
    """The system catalog: what can fail, who looks after it, who supports it."""

    __tablename__ = "systems"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    duty_area: str | None = Field(default=None, sa_column=Column(String(32)))
    vendor_contact: str | None = Field(default=None, sa_column=Column(String(64)))
    maintenance_contract: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    parent_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("systems.id"), nullable=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class RosterMember(SQLModel, table=True):
    """A member of the emergency group (应急小组): can own incidents."""

    __tablename__ = "roster_members"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    permission: str = Field(sa_column=Column(String(16), nullable=False))
    duties: list[str] = json_list()
    phone: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    email: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    on_duty: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    channels: dict[str, Any] = json_dict()
    demo: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))


class Contact(SQLModel, table=True):
    """Someone who is told or escalated to, never an owner (leadership, vendors...)."""

    __tablename__ = "contacts"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    phone: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    email: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    channels: dict[str, Any] = json_dict()
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Incident(SQLModel, table=True):
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

    # Facts the deadline engine reads (besides the timestamps above).
    level_since: datetime | None = utc()  # when the current level was set
    reopened_at: datetime | None = utc()  # a resolved incident reopened: report clocks restart
    last_activity_at: datetime | None = utc()  # any audited change, notes and ticks included

    policy_version: int = Field(sa_column=Column(Integer, nullable=False))
    next_due_at: datetime | None = utc(index=True)  # the earliest clock owed an escalation
    first_due_at: datetime | None = utc(index=True)  # the earliest clock not met: the board's order
    updated_at: datetime = utc(nullable=False)
    updated_by: str = Field(sa_column=Column(String(64), nullable=False))


class IncidentNote(SQLModel, table=True):
    __tablename__ = "incident_notes"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    at: datetime = utc(nullable=False)
    author: str = Field(sa_column=Column(String(64), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))


class ServiceCall(SQLModel, table=True):
    """A call to the service desk about an incident (DOMAIN.md §8): written down by hand
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


class PlaybookStep(SQLModel, table=True):
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


class IncidentDeadline(SQLModel, table=True):
    """One clock of one incident, derived from its facts in the write transaction.

    `due_at` depends only on facts and policy; `now` decides the state when read."""

    __tablename__ = "incident_deadlines"
    __table_args__ = (UniqueConstraint("incident_id", "rule", "clock_key", name="uq_incident_deadlines_clock"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    clock_key: str = Field(sa_column=Column(String(64), nullable=False))
    clock_start: datetime = utc(nullable=False)
    due_at: datetime = utc(nullable=False)
    warn_at: datetime = utc(nullable=False)
    met_at: datetime | None = utc()
    next_level: str | None = Field(default=None, sa_column=Column(String(4)))
    escalated_at: datetime | None = utc()
    superseded_at: datetime | None = utc()  # the rule stopped applying (level lowered, ...)


class Escalation(SQLModel, table=True):
    """A breach that was escalated: unique per clock, so it is recorded exactly once."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("incident_id", "rule", "clock_key", name="uq_escalations_clock"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    clock_key: str = Field(sa_column=Column(String(64), nullable=False))
    due_at: datetime = utc(nullable=False)
    escalated_at: datetime = utc(nullable=False)
    actor: str = Field(sa_column=Column(String(120), nullable=False))
    targets: list[Any] = json_list()


class Attestation(SQLModel, table=True):
    """An obligation met (leadership informed, ...) or a re-grade declined: who, when, how."""

    __tablename__ = "attestations"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True))
    key: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = utc(nullable=False)
    by: str = Field(sa_column=Column(String(120), nullable=False))
    channel: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    who: str = Field(default="", sa_column=Column(String(120), nullable=False, default=""))


class Presence(SQLModel, table=True):
    """Who has an incident open in the detail screen, refreshed while they look.

    Like the heartbeat, outside the audit trail and the change feed: a look is not a
    change, and no dashboard reloads for it. Rows older than the TTL are ignored and
    swept by the next look."""

    __tablename__ = "presence"

    login: str = Field(sa_column=Column(String(64), primary_key=True))
    incident_id: int = Field(sa_column=Column(Integer, primary_key=True))
    seen_at: datetime = utc(nullable=False, index=True)


class WorkerHeartbeat(SQLModel, table=True):
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


class AuditEvent(SQLModel, table=True):
    """One link of a hash chain: per incident (`incident:ID`) or the `system` chain."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(sa_column=Column(String(40), nullable=False))
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    at: datetime = utc(nullable=False, index=True)  # board replay reads the trail up to a moment
    actor: str = Field(sa_column=Column(String(120), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    details: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditHead(SQLModel, table=True):
    """The newest link of each chain, updated in the writing transaction."""

    __tablename__ = "audit_heads"

    chain: str = Field(sa_column=Column(String(40), primary_key=True))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class ChangeCounter(SQLModel, table=True):
    """One row; bumped inside every writing transaction, so feed order is commit order."""

    __tablename__ = "change_counter"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class Change(SQLModel, table=True):
    """The change feed: readers poll `seq > N` and re-read only what changed."""

    __tablename__ = "changes"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = utc(nullable=False)
    entity: str = Field(sa_column=Column(String(32), nullable=False))
    entity_id: str = Field(sa_column=Column(String(120), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    actor: str = Field(sa_column=Column(String(120), nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A message to deliver, written in the transaction of its cause."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc(nullable=False)
    incident_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    event: str = Field(sa_column=Column(String(40), nullable=False))
    recipient_kind: str = Field(sa_column=Column(String(16), nullable=False))
    recipient: str = Field(sa_column=Column(String(64), nullable=False))
    channel: str | None = Field(default=None, sa_column=Column(String(64)))
    payload: dict[str, Any] = json_dict()
    idempotency_key: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    next_attempt_at: datetime | None = utc()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(120)))
    lease_until: datetime | None = utc()
    sent_at: datetime | None = utc()


class PolicyVersion(SQLModel, table=True):
    """The playbooks and deadline rules every host reads, versioned."""

    __tablename__ = "policy_versions"

    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    created_at: datetime = utc(nullable=False)
    actor: str = Field(sa_column=Column(String(120), nullable=False))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    document: dict[str, Any] = json_dict()


class RoutingVersion(SQLModel, table=True):
    """Channels and notification routes, versioned like the policy (URLs hold secrets:
    shown only redacted)."""

    __tablename__ = "routing_versions"

    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    created_at: datetime = utc(nullable=False)
    actor: str = Field(sa_column=Column(String(120), nullable=False))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    document: dict[str, Any] = json_dict()


class Probe(SQLModel, table=True):
    """A monitoring item (第九条) or readiness check (§7), kept current by the ingest."""

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


class ProbeResult(SQLModel, table=True):
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


class IngestedFile(SQLModel, table=True):
    """A spool file version taken in, committed with its results: never twice."""

    __tablename__ = "ingested_files"
    __table_args__ = (UniqueConstraint("content_hash", "name", "size", "mtime_ns", name="uq_ingested_files_version"),)

    id: int | None = Field(default=None, primary_key=True)
    spool: str = Field(sa_column=Column(String(160), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mtime_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    ingested_at: datetime = utc(nullable=False, index=True)
    results: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    outcome: str = Field(default="ingested", sa_column=Column(String(16), nullable=False, default="ingested"))


class FileCursor(SQLModel, table=True):
    """How far a JSON Lines state file was read, committed with the rows it yielded."""

    __tablename__ = "file_cursors"

    key: str = Field(sa_column=Column(String(400), primary_key=True))  # spool id + file name
    device: int = Field(sa_column=Column(BigInteger, nullable=False))
    inode: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = utc(nullable=False)


class SpoolStatus(SQLModel, table=True):
    """What the board shows of each spool: its last file and quarantined count."""

    __tablename__ = "spools"

    id: str = Field(sa_column=Column(String(160), primary_key=True))  # host:path
    host: str = Field(sa_column=Column(String(120), nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    last_file_at: datetime | None = utc()
    last_scan_at: datetime | None = utc()
    quarantined: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
