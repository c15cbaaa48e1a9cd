"""A warning's own clocks (docs/plan.md#warnings), computed from the policy it was raised
under, never the incident clocks: analysed within `[warnings] analyse_within`; a serious
one: leadership told by the end of the center's day it was raised on. Each clock's row
says when the worker escalated it (backend/warning_escalation.py), if it did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlmodel import Session, col

from . import clocks, deadlines
from .models import WarningAttestation, WarningEscalation, WarningRecord
from .rows import WarningClockRow
from .timeutil import as_utc, rfc3339

WARN_SHARE = 0.2  # a clock is `warning` in the last 20 % of its time, like the incident clocks


@dataclass(frozen=True)
class WarningClock:
    key: str  # analysed | leadership_told
    clock_start: datetime
    due_at: datetime
    met_at: datetime | None
    waived_at: datetime | None

    @property
    def warn_at(self) -> datetime:
        return self.due_at - (self.due_at - self.clock_start) * WARN_SHARE


def end_of_day(moment: datetime, zone: tzinfo) -> datetime:
    """The end of the center's day `moment` falls in (a warning raised at 23:30 is told by 24:00)."""
    local = as_utc(moment).astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)
    return as_utc(midnight)


def warning_clocks(session: Session, row: WarningRecord, zone: tzinfo) -> list[WarningClock]:
    """Analysed within the policy's `analyse_within`; a serious one: leadership told the same day.
    A clock not met when the warning ends, and not yet due then, is waived."""
    pinned = clocks.load_policy(session, row.policy_version)
    leadership = session.execute(
        select(col(WarningAttestation.at))
        .where(col(WarningAttestation.warning_id) == row.id, col(WarningAttestation.key) == "leadership")
        .order_by(col(WarningAttestation.at))
        .limit(1)
    ).scalar()
    raised = as_utc(row.raised_at)
    specs = [("analysed", raised + pinned.warning_analyse_within, row.analysed_at)]
    if row.serious:
        specs.append(("leadership_told", end_of_day(raised, zone), leadership))
    out = []
    for key, due, met in specs:
        met_utc = as_utc(met) if met else None
        ended = as_utc(row.closed_at) if row.closed_at else None
        waived = ended if met_utc is None and ended is not None and ended <= due else None
        out.append(WarningClock(key, raised, due, met_utc, waived))
    return out


def clock_rows(session: Session, row: WarningRecord, zone: tzinfo, now: datetime) -> list[WarningClockRow]:
    escalated = dict(
        session.execute(
            select(col(WarningEscalation.clock_key), col(WarningEscalation.escalated_at)).where(
                col(WarningEscalation.warning_id) == row.id
            )
        ).all()
    )
    rows: list[WarningClockRow] = []
    for c in warning_clocks(session, row, zone):
        st = deadlines.state(c, now)
        rows.append(
            {
                "key": c.key,
                "clock_start": rfc3339(c.clock_start),
                "due_at": rfc3339(c.due_at),
                "state": st.state,
                "remaining_s": int(st.remaining_s),
                "met_at": rfc3339(c.met_at) if c.met_at else None,
                "waived_at": rfc3339(c.waived_at) if c.waived_at else None,
                "escalated_at": rfc3339(escalated[c.key]) if c.key in escalated else None,
            }
        )
    return rows
