"""The store's tables (SQLModel). Migrations in `migrations/versions` create them.

Times are `UTCDateTime` everywhere. Enums are stored as their string keys; the service
layer validates them. Incidents are never deleted; audit rows are append-only
(database triggers refuse UPDATE and DELETE).

One module per area, each imported when one of its tables is first named here
(`from .models import Incident`): building SQLModel classes is a good part of a
command's start (`opsdeck incident list` never reads the trail, the schedule or the
warnings). `load_all()` registers every table, for Alembic and the schema checks that
read the whole metadata.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .columns import json_dict, json_list, table_of, utc

if TYPE_CHECKING:
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

# Each area's tables, and the areas its foreign keys point into: the ORM resolves a
# foreign key's table when it orders a flush, so an area is never loaded without them
# (tests/unit/test_layering.py checks this against the tables).
_AREAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "directory": (("Contact", "RosterMember", "System"), ()),
    "incidents": (
        (
            "Attestation",
            "Escalation",
            "Incident",
            "IncidentDeadline",
            "IncidentNote",
            "PlaybookStep",
            "RecordDraft",
            "ServiceCall",
        ),
        ("directory", "probes"),
    ),
    "probes": (
        ("Alert", "AlertSource", "FileCursor", "IngestedFile", "Probe", "ProbeDay", "ProbeResult", "SpoolStatus"),
        ("directory", "incidents"),
    ),
    "early_warnings": (
        ("WarningAttestation", "WarningEscalation", "WarningMeasure", "WarningNote", "WarningRecord"),
        ("incidents", "probes"),
    ),
    "runtime": (("DutyLease", "MetricCounter", "Presence", "WorkerHeartbeat"), ()),
    "schedule": (("CoverageNotice", "ScheduleHoliday", "ScheduleRotation", "ScheduleSlot"), ()),
    "trail": (
        (
            "AuditEvent",
            "AuditHead",
            "Change",
            "ChangeCounter",
            "OutboxMessage",
            "PolicyVersion",
            "RoutingVersion",
            "StoreSetting",
            "TemplateVersion",
        ),
        (),
    ),
}
_AREA_OF = {name: area for area, (names, _) in _AREAS.items() for name in names}


def _load(area: str) -> Any:
    """The area's module, once it and every area its foreign keys reach are imported."""
    name = f"{__name__}.{area}"
    if name not in sys.modules:
        __import__(name)  # not importlib.import_module: -X importtime names what it loads
        for needed in _AREAS[area][1]:
            _load(needed)
    return sys.modules[name]


def __getattr__(name: str) -> Any:
    area = _AREA_OF.get(name)
    if area is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_load(area), name)
    globals()[name] = value  # found at once the next time
    return value


def load_all() -> None:
    """Register every table in `SQLModel.metadata` (Alembic's autogenerate, the schema tests)."""
    for area in _AREAS:
        _load(area)


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
    "load_all",
    "table_of",
    "utc",
]
