"""The store's tables (SQLModel). Migrations in `migrations/versions` create them.

Times are `UTCDateTime` everywhere. Enums are stored as their string keys; the service
layer validates them. Incidents are never deleted; audit rows are append-only
(database triggers refuse UPDATE and DELETE).

One module per area; this package is every table (Alembic and the store read its metadata).
"""

from __future__ import annotations

from .columns import json_dict, json_list, table_of, utc
from .directory import Contact, RosterMember, System
from .early_warnings import WarningAttestation, WarningEscalation, WarningMeasure, WarningNote, WarningRecord
from .incidents import (
    Attestation,
    Escalation,
    Incident,
    IncidentDeadline,
    IncidentNote,
    PlaybookStep,
    RecordDraft,
    ServiceCall,
)
from .probes import Alert, AlertSource, FileCursor, IngestedFile, Probe, ProbeDay, ProbeResult, SpoolStatus
from .runtime import DutyLease, MetricCounter, Presence, WorkerHeartbeat
from .schedule import CoverageNotice, ScheduleHoliday, ScheduleRotation, ScheduleSlot
from .trail import (
    AuditEvent,
    AuditHead,
    Change,
    ChangeCounter,
    OutboxMessage,
    PolicyVersion,
    RoutingVersion,
    StoreSetting,
    TemplateVersion,
)

__all__ = [
    "Alert",
    "AlertSource",
    "Attestation",
    "AuditEvent",
    "AuditHead",
    "Change",
    "ChangeCounter",
    "Contact",
    "CoverageNotice",
    "DutyLease",
    "Escalation",
    "FileCursor",
    "Incident",
    "IncidentDeadline",
    "IncidentNote",
    "IngestedFile",
    "MetricCounter",
    "OutboxMessage",
    "PlaybookStep",
    "PolicyVersion",
    "Presence",
    "Probe",
    "ProbeDay",
    "ProbeResult",
    "RecordDraft",
    "RosterMember",
    "RoutingVersion",
    "ScheduleHoliday",
    "ScheduleRotation",
    "ScheduleSlot",
    "ServiceCall",
    "SpoolStatus",
    "StoreSetting",
    "System",
    "TemplateVersion",
    "WarningAttestation",
    "WarningEscalation",
    "WarningMeasure",
    "WarningNote",
    "WarningRecord",
    "WorkerHeartbeat",
    "json_dict",
    "json_list",
    "table_of",
    "utc",
]
