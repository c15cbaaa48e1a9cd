"""The audit trail, the change feed, the outbox, the store's settings and the versions of what leads apply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from .columns import TableModel, json_dict, long_text, string, utc


class AuditEvent(TableModel, table=True):
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


class AuditHead(TableModel, table=True):
    """The newest link of each chain, updated in the writing transaction."""

    __tablename__ = "audit_heads"

    chain: str = Field(sa_column=Column(String(40), primary_key=True))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class ChangeCounter(TableModel, table=True):
    """One row; bumped inside every writing transaction, so feed order is commit order."""

    __tablename__ = "change_counter"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class Change(TableModel, table=True):
    """The change feed: readers poll `seq > N` and re-read only what changed."""

    __tablename__ = "changes"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = utc(nullable=False)
    entity: str = Field(sa_column=Column(String(32), nullable=False))
    entity_id: str = Field(sa_column=Column(String(120), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    actor: str = Field(sa_column=Column(String(120), nullable=False))


class OutboxMessage(TableModel, table=True):
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


class StoreSetting(TableModel, table=True):
    """A setting of the store itself (the audit's HMAC key: backend/vouch.py)."""

    __tablename__ = "store_settings"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class AppliedVersion(TableModel):
    """A version of a document leads apply (the policy, the routing, the templates): the
    columns each of their tables has. Not a table: each table inheriting it gets its own."""

    version: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    created_at: datetime = utc(nullable=False)
    actor: str = string(120)
    source: str = long_text(default="")
    hash: str = string(64)
    document: dict[str, Any] = json_dict()


class PolicyVersion(AppliedVersion, table=True):
    """The playbooks and deadline rules every host reads, versioned."""

    __tablename__ = "policy_versions"


class RoutingVersion(AppliedVersion, table=True):
    """Channels and notification routes, versioned like the policy (URLs hold secrets:
    shown only redacted)."""

    __tablename__ = "routing_versions"


class TemplateVersion(AppliedVersion, table=True):
    """Message templates (defaults merged with a lead's file), versioned like the policy."""

    __tablename__ = "template_versions"
