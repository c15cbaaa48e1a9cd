"""The stored draft of the post-incident record (docs/plan.md#post-incident-record).

Drafted when the incident is resolved, from the facts and the audit trail; then written
by people with `opsdeck report edit ID` or `w`, in as many sittings and by as many
operators as it takes. A plain close files it once its required sections are written.
Each save is versioned: a save over a newer version than the one read is refused.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlmodel import Session, col

from . import record
from .errors import StaleWrite
from .i18n import _
from .models import RecordDraft
from .store import UnitOfWork
from .timeutil import rfc3339


def stored(session: Session, incident_id: int) -> RecordDraft | None:
    return session.execute(select(RecordDraft).where(col(RecordDraft.incident_id) == incident_id)).scalar_one_or_none()


def current(session: Session, incident_id: int, now: datetime, zone: tzinfo) -> tuple[str, int]:
    """The stored draft and its version, or (none stored yet) a fresh draft and 0."""
    row = stored(session, incident_id)
    if row is not None:
        return row.text, row.version
    return record.markdown(record.draft(session, incident_id, now), zone), 0


def create(uow: UnitOfWork, incident_id: int, zone: tzinfo) -> RecordDraft:
    """Draft it from the facts and the trail, unless a draft is already stored (a reopened
    and resolved again incident keeps what people wrote)."""
    row = stored(uow.session, incident_id)
    if row is None:
        text = record.markdown(record.draft(uow.session, incident_id, uow.now), zone)
        row = RecordDraft(
            incident_id=incident_id, text=text, created_at=uow.now, updated_at=uow.now, updated_by=uow.actor
        )
        uow.session.add(row)
        uow.session.flush()
    return row


def save(uow: UnitOfWork, incident_id: int, text: str, seen: int) -> RecordDraft:
    """Store `text` as the draft; `seen` is the version it was edited from (0: none)."""
    row = stored(uow.session, incident_id)
    version = row.version if row is not None else 0
    if version != seen:
        assert row is not None
        raise StaleWrite(
            "draft_stale",
            _("the draft of #{id} was saved by {by} at {at} (now version {version}; you edited {seen})").format(
                id=incident_id, by=row.updated_by, at=rfc3339(row.updated_at), version=version, seen=seen
            ),
            _("reload it (opsdeck report edit {id}) and write your part again").format(id=incident_id),
            id=incident_id,
            version=version,
            expected=seen,
        )
    if row is None:
        row = RecordDraft(incident_id=incident_id, text=text, created_at=uow.now, updated_at=uow.now, updated_by="")
        uow.session.add(row)
    else:
        row.version += 1
    row.text, row.updated_at, row.updated_by = text, uow.now, uow.actor
    uow.session.flush()
    return row
