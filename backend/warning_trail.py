"""Warnings read back from their audit trails (docs/plan.md#warnings): the open warnings
at a past moment (`opsdeck board --at`, the replay screen), what happened to warnings
during a shift (the handover), a warning's chain as evidence (`opsdeck audit export W3`).

The replay, as for incidents (backend/replay.py), uses the store only for what is
written once: when a warning was raised and ended, its kind, title, seriousness, the
policy it was raised under and how many measures it got. What changes (the analysis,
measures ticked, leadership told, escalations) comes from the events on its chain up to
the moment, read in chain order and up to the first event after the moment.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any, TypedDict

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from . import clocks, deadlines
from .audit import export_chain
from .early_warning import chain, summary
from .errors import NotFound
from .i18n import _
from .models import AuditEvent, WarningEscalation, WarningMeasure, WarningRecord
from .rows import RunningWarningClock, ShiftWarnings, WarningAt, WarningBreach, WarningEnded, stored_id
from .timeutil import as_utc, rfc3339
from .warning_clocks import WarningClock, end_of_day

# -- the replay --------------------------------------------------------------------------


def warnings_at(session: Session, at: datetime, zone: tzinfo) -> list[WarningAt]:
    """The warnings open at `at`, as `early_warning.open_warnings` lists them now: the
    most urgent clock first, each with its next clock and its measures done of all."""
    rows = list(
        session.execute(
            select(WarningRecord)
            .where(
                col(WarningRecord.raised_at) <= at,
                or_(col(WarningRecord.closed_at).is_(None), col(WarningRecord.closed_at) > at),
            )
            .order_by(col(WarningRecord.id))
        ).scalars()
    )
    totals = dict(
        session.execute(
            select(col(WarningMeasure.warning_id), func.count())
            .where(col(WarningMeasure.warning_id).in_([r.id for r in rows]))
            .group_by(col(WarningMeasure.warning_id))
        ).all()
    )
    out: list[WarningAt] = []
    for row in rows:
        assert row.id is not None
        facts = _facts(session, row.id, at)
        running: list[RunningWarningClock] = []
        for clock in _clocks(session, row, facts, zone):
            state = deadlines.state(clock, at)
            if state.state in ("pending", "warning", "breached"):
                running.append(
                    {
                        "key": clock.key,
                        "due_at": rfc3339(clock.due_at),
                        "state": state.state,
                        "remaining_s": int(state.remaining_s),
                    }
                )
        running.sort(key=lambda c: c["remaining_s"])
        out.append(
            {
                **summary(row),
                "status": "open",  # as it stood then
                "closed_at": None,
                "incident_id": None,
                "analysed_at": rfc3339(facts["analysed_at"]) if facts["analysed_at"] else None,
                "next_clock": running[0] if running else None,
                "measures_done": sum(1 for done in facts["measures"].values() if done),
                "measures_total": int(totals.get(row.id, 0)),
            }
        )
    out.sort(key=lambda w: (w["next_clock"] is None, w["next_clock"]["remaining_s"] if w["next_clock"] else 0))
    return out


class _Facts(TypedDict):
    analysed_at: datetime | None
    leadership_at: datetime | None
    measures: dict[str, bool]  # measure key -> done


def _facts(session: Session, warning_id: int, at: datetime) -> _Facts:
    """What the warning's chain says up to `at`: when it was analysed, leadership told,
    which measures were done."""
    facts: _Facts = {"analysed_at": None, "leadership_at": None, "measures": {}}
    events = session.execute(
        select(col(AuditEvent.at), col(AuditEvent.action), col(AuditEvent.details))
        .where(col(AuditEvent.chain) == chain(warning_id))
        .order_by(col(AuditEvent.seq))
    ).all()
    for event_at, action, details in events:
        when = as_utc(event_at)
        if when > at:
            break  # a later event never counts earlier, whatever its host's clock said
        d = json.loads(details)
        if action == "warning_note" and d.get("analysis") and facts["analysed_at"] is None:
            facts["analysed_at"] = when
        elif action == "warning_attest" and d.get("told") == "leadership" and facts["leadership_at"] is None:
            facts["leadership_at"] = when
        elif action == "warning_measure":
            facts["measures"][d["key"]] = bool(d.get("done"))
    return facts


def _clocks(session: Session, row: WarningRecord, facts: _Facts, zone: tzinfo) -> list[WarningClock]:
    pinned = clocks.load_policy(session, row.policy_version)
    raised = as_utc(row.raised_at)
    out = [WarningClock("analysed", raised, raised + pinned.warning_analyse_within, facts["analysed_at"], None)]
    if row.serious:
        out.append(WarningClock("leadership_told", raised, end_of_day(raised, zone), facts["leadership_at"], None))
    return out


# -- the handover ------------------------------------------------------------------------


def since(session: Session, start: datetime) -> ShiftWarnings:
    """During the shift: the warnings whose clocks were escalated, and those that ended
    (promoted to an incident, or passed)."""
    e, w = WarningEscalation, WarningRecord
    breaches: list[WarningBreach] = [
        {
            "warning_id": warning_id,
            "title": title,
            "clock": clock_key,
            "due_at": rfc3339(due_at),
            "escalated_at": rfc3339(escalated_at),
            "to": [t["to"] for t in targets],
        }
        for warning_id, title, clock_key, due_at, escalated_at, targets in session.execute(
            select(
                col(e.warning_id), col(w.title), col(e.clock_key), col(e.due_at), col(e.escalated_at), col(e.targets)
            )
            .join(w, col(w.id) == col(e.warning_id))
            .where(col(e.escalated_at) >= start)
            .order_by(col(e.escalated_at))
        ).all()
    ]
    ended: list[WarningEnded] = [
        {
            "id": stored_id(row.id),
            "title": row.title,
            "status": row.status,
            "closed_at": rfc3339(row.closed_at),
            "closed_by": row.closed_by,
            "incident_id": row.incident_id,
            "reason": row.close_reason,
        }
        for row in session.execute(
            select(WarningRecord).where(col(WarningRecord.closed_at) >= start).order_by(col(WarningRecord.closed_at))
        ).scalars()
    ]
    return {"warning_breaches_since": breaches, "warnings_ended_since": ended}


# -- evidence ----------------------------------------------------------------------------


def export(session: Session, warning_id: int) -> dict[str, Any]:
    """A warning's whole chain as evidence, in the incidents' format (`audit export`)."""
    return export_chain(
        session,
        chain(warning_id),
        {"incident_id": None, "warning_id": warning_id},
        exists=session.get(WarningRecord, warning_id) is not None,
        what=f"warning W{warning_id}",
        not_found=NotFound(
            "no_warning",
            _("warning W{id} does not exist").format(id=warning_id),
            _("list warnings with `opsdeck warning list --status all`"),
            id=warning_id,
        ),
    )
