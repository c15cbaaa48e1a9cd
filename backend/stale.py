"""What changed in an incident since the version a stale write saw: read off the trail.

Every event on an incident's chain carries the incident as the event left it (`row`,
backend/vouch.py), with its version. The newest row at or below the version the caller
saw is what they saw; the fields that differ from the incident now are what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from . import audit, words
from .i18n import _
from .models import AuditEvent, Incident, System
from .vouch import INCIDENT_FIELDS, incident_state


@dataclass(frozen=True)
class FieldChange:
    field: str  # the incident's field: level, owner, status, category, title, system
    before: str
    after: str

    def shown(self) -> str:
        return _("{field} {before} -> {after}").format(
            field=words.incident_field(self.field), before=self.before, after=self.after
        )


def changes_since(session: Session, incident: Incident, seen: int) -> list[FieldChange]:
    """The fields that differ between version `seen` and the incident now; empty when the
    trail holds no row at that version (events written before rows carried versions)."""
    assert incident.id is not None
    then = _row_at(session, incident.id, seen)
    if then is None:
        return []
    now = incident_state(incident)
    return [
        FieldChange(_field_name(name), _shown(session, name, then.get(name)), _shown(session, name, now[name]))
        for name in INCIDENT_FIELDS
        if then.get(name) != now[name]
    ]


def changes_text(changes: list[FieldChange]) -> str:
    return _(", ").join(change.shown() for change in changes)


def _row_at(session: Session, incident_id: int, version: int) -> dict[str, Any] | None:
    rows = session.execute(
        select(col(AuditEvent.details))
        .where(col(AuditEvent.chain) == audit.incident_chain(incident_id))
        .order_by(col(AuditEvent.seq).desc())
    ).scalars()
    for details in rows:
        try:
            row = json.loads(details).get("row")
        except (ValueError, AttributeError):
            continue
        if isinstance(row, dict) and isinstance(row.get("version"), int) and row["version"] <= version:
            return row
    return None


def _field_name(name: str) -> str:
    return "system" if name == "system_id" else name


def _shown(session: Session, name: str, value: Any) -> str:
    if value is None or value == "":
        return "-"
    if name == "system_id":
        system = session.get(System, value)
        return system.name if system is not None else f"#{value}"
    if name == "status":
        return words.status(str(value))
    if name == "category":
        return words.category(str(value))
    return str(value)
