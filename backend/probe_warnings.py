"""A probe or an alert group raising an internal warning (预警) instead of an incident,
where the probe policy says so (`raises = "warning"` on a `[[probes.match]]` or an alert
mapping `[[probes.route]]`; docs/plan.md#warnings): a vulnerability scan's finding, an
antivirus report, signs to analyse rather than an outage.

At most one open warning per probe (a partial unique index says so; a savepoint takes
the loss when another ingester or receiver won). After one ends, no new warning from
that probe until it has been OK once, as after an incident is resolved. Promoting the
warning links its incident to the probe, so later failures attach to the incident.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from .early_warning import Raising, Warnings, chain
from .models import Incident, Probe, System, WarningNote, WarningRecord
from .service import TITLE_LIMIT
from .store import UnitOfWork


def raise_for(uow: UnitOfWork, probe: Probe, extra: str = "") -> int | None:
    """The warning's id when this raised one; None when one is open or held back."""
    session = uow.session
    open_one = session.execute(
        select(col(WarningRecord.id)).where(
            col(WarningRecord.probe_id) == probe.id, col(WarningRecord.status) == "open"
        )
    ).first()
    if open_one is not None or _held_back(uow, probe):
        return None
    system = session.get(System, probe.system_id) if probe.system_id else None
    first = probe.output.splitlines()[0] if probe.output else "no output"
    try:
        with session.begin_nested():
            new = Raising(
                "internal",
                f"{probe.name} CRITICAL: {first}"[:TITLE_LIMIT],
                source=f"probe {probe.name}"[:300],
                known=probe.output + (f"\n\n{extra}" if extra else ""),
                systems=(system.name,) if system else (),
                probe_id=probe.id,
            )
            row = Warnings.add_in(uow, new)
    except IntegrityError:  # another writer raised it first
        return None
    return row.id


def note_recovery(uow: UnitOfWork, probe: Probe) -> None:
    """The probe is OK again (`ok_after` results in a row): a note on its open warning, once;
    a person decides whether it passed."""
    text = f"probe {probe.name} recovered: {probe.consecutive} consecutive OK results; consider closing this warning"
    _note(uow, probe.id, text, {"probe": probe.name})


def note_group_recovered(uow: UnitOfWork, probe_id: int, source: str) -> None:
    """An alert group that raised a warning has no alert firing any more."""
    text = f"no alert of the group is firing at source {source}; consider closing this warning"
    _note(uow, probe_id, text, {"source": source})


def _note(uow: UnitOfWork, probe_id: int | None, text: str, details: dict[str, str]) -> None:
    row = uow.session.execute(
        select(WarningRecord).where(col(WarningRecord.probe_id) == probe_id, col(WarningRecord.status) == "open")
    ).scalar_one_or_none()
    if row is None or row.id is None:
        return
    Warnings._bump(uow, row, None)
    uow.session.add(WarningNote(warning_id=row.id, at=uow.now, author=uow.actor, text=text))
    uow.session.flush()
    uow.record("warning_note", {"text": text, **details}, chain=chain(row.id), entity="warning", entity_id=row.id)


def _held_back(uow: UnitOfWork, probe: Probe) -> bool:
    """The last warning or incident of this probe ended and the probe has not been OK since."""
    ended = [
        uow.session.execute(
            select(col(WarningRecord.closed_at))
            .where(col(WarningRecord.probe_id) == probe.id)
            .order_by(col(WarningRecord.id).desc())
            .limit(1)
        ).scalar(),
        uow.session.execute(
            select(col(Incident.closed_at))
            .where(col(Incident.probe_id) == probe.id)
            .order_by(col(Incident.id).desc())
            .limit(1)
        ).scalar(),
    ]
    last = max((e for e in ended if e is not None), default=None)
    return last is not None and (probe.last_ok_at is None or probe.last_ok_at < last)
