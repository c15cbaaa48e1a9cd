"""What the board shows, read from the store: no Textual here.

The incident list holds only ids and sort keys for every matching incident, packed
(backend/board_order.py: a 100k board's are under 6 MiB), and reads the displayed
fields a page at a time. Countdowns are computed from stored due times at draw time;
nothing counts down in memory.

The first page (the filter, the keys, the rows) is read on SQLAlchemy Core in
backend/board_page.py, before the models are imported; this module reads the panels
through the ORM and names the first page's parts too.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import func, select
from sqlmodel import Session, col

from .board_page import HISTORY_SORTS as HISTORY_SORTS
from .board_page import OPEN as OPEN
from .board_page import RANK as RANK
from .board_page import SORT_KEYS as SORT_KEYS
from .board_page import SORTS as SORTS
from .board_page import BoardFilter as BoardFilter
from .board_page import Key as Key
from .board_page import Panels as Panels
from .board_page import Places as Places
from .board_page import ProbeLine as ProbeLine
from .board_page import Row as Row
from .board_page import SourceLine as SourceLine
from .board_page import holds as holds
from .board_page import keys_serve as keys_serve
from .board_page import load_keys as load_keys
from .board_page import load_places as load_places
from .board_page import load_rows as load_rows
from .board_page import next_pressing as next_pressing
from .board_page import on_duty_for as on_duty_for
from .board_page import parse_filter as parse_filter
from .board_page import pressing_since as pressing_since
from .models import Probe, ProbeResult, System, table_of
from .rows import OpenWarning, RosterRow

if TYPE_CHECKING:
    from .leases import DutyLiveness
    from .schedule_views import DutyLine


def load_panels(session: Session, now: datetime, history: int = 8, zone: tzinfo = UTC) -> Panels:
    """Every panel at once (the first load). Later changes re-read only their part:
    `incident_panels` when incidents or the roster changed, `probe_panels` when probes
    or the spool did; a probe result does not pay for counting 100k incidents."""
    return Panels(**incident_panels(session, now, zone), **probe_panels(session, now, history), read_at=now)


class IncidentPanels(TypedDict):
    """The panels read again when incidents, the roster or the warnings change."""

    counts: dict[str, int]
    roster: tuple[RosterRow, ...]
    failed_messages: int
    duty: tuple[DutyLine, ...]
    duty_changes_at: datetime | None
    duty_gaps: tuple[tuple[str, datetime, datetime], ...]
    warnings: tuple[OpenWarning, ...]


class ProbePanels(TypedDict):
    """The panels read again when probes, the spool or the receiver's sources change."""

    sources: tuple[SourceLine, ...]
    probes: tuple[ProbeLine, ...]
    readiness: dict[str, ProbeLine | None]
    quarantined: int
    last_file_at: datetime | None
    worker_beat_at: datetime | None
    spool_problems: tuple[str, ...]
    duty_leases: tuple[DutyLiveness, ...]


def incident_panels(session: Session, now: datetime | None = None, zone: tzinfo = UTC) -> IncidentPanels:
    """The counts per level, the roster with what each member owns and who is on duty
    by the schedule, failed notifications, the open warnings (a warning's change reaches
    the feed as `warning`: the board reads this part again)."""
    from . import queries, schedule_views
    from .early_warning import open_warnings
    from .models import OutboxMessage
    from .timeutil import utcnow

    now = now or utcnow()
    duty, changes_at = schedule_views.duty_lines(session, now)

    outbox = table_of(OutboxMessage).c
    failed = session.execute(select(func.count()).where(outbox.state.in_(("failed", "dead")))).scalar_one()
    return {
        "counts": queries.level_counts(session),
        "roster": tuple(queries.roster(session, now)),
        "failed_messages": int(failed),
        "duty": duty,
        "duty_changes_at": changes_at,
        "duty_gaps": schedule_views.gaps_ahead(session, now),
        "warnings": tuple(open_warnings(session, now, zone)),
    }


def probe_panels(session: Session, now: datetime, history: int = 8) -> ProbePanels:
    """Probe health with a short history, readiness, the spool, the newest worker beat."""
    from . import clocks
    from .models import AlertSource, SpoolStatus, WorkerHeartbeat

    probes = list(session.scalars(select(Probe).order_by(col(Probe.name))))
    recent: dict[int, list[str]] = {}
    if probes:
        results = table_of(ProbeResult).c
        ranked = (
            select(
                results.probe_id,
                results.state,
                func.row_number().over(partition_by=results.probe_id, order_by=results.at.desc()).label("n"),
            )
            .where(results.stale.is_(False))
            .subquery()
        )
        for probe_id, state, _rank in session.execute(select(ranked).where(ranked.c.n <= history)):
            recent.setdefault(probe_id, []).append(state)
    critical_systems = {p.system_id for p in probes if p.state == "CRITICAL" and not p.stale and p.system_id}
    systems = table_of(System).c
    parents: dict[int, int | None] = {
        row.id: row.parent_id for row in session.execute(select(systems.id, systems.parent_id))
    }
    lines = {
        p.name: ProbeLine(
            p.name,
            p.state,
            p.stale,
            p.silenced_until if p.silenced_until and p.silenced_until > now else None,
            p.last_result_at,
            p.output,
            tuple(reversed(recent.get(p.id or 0, []))),
            parent_down=_ancestor_in(p.system_id, parents, critical_systems),
            last_success_at=p.last_success_at,
        )
        for p in probes
    }
    readiness_cfg = clocks.load_policy(session).probes.readiness
    spools = table_of(SpoolStatus).c
    spool = session.execute(select(func.sum(spools.quarantined), func.max(spools.last_file_at))).first()
    problems = tuple(
        f"{spool_id}: {problem}"
        for spool_id, problem in session.execute(
            select(spools.id, spools.problem).where(spools.problem.is_not(None)).order_by(spools.id)
        )
    )
    beat = session.execute(select(func.max(table_of(WorkerHeartbeat).c.beat_at))).scalar_one()
    sources = table_of(AlertSource).c
    source_lines = tuple(
        SourceLine(name, int(accepted), sum(int(n) for n in (rejected or {}).values()))
        for name, accepted, rejected in session.execute(
            select(sources.name, sources.accepted, sources.rejected).order_by(sources.name)
        )
    )
    return {
        "sources": source_lines,
        "probes": tuple(lines.values()),
        "readiness": {r.cell: lines.get(r.probe) for r in readiness_cfg},
        "quarantined": int(spool[0] or 0) if spool else 0,
        "last_file_at": spool[1] if spool else None,
        "worker_beat_at": beat,
        "spool_problems": problems,
        "duty_leases": _duty_leases(session),
    }


def _duty_leases(session: Session) -> tuple[DutyLiveness, ...]:
    from .leases import DutyLiveness
    from .models import DutyLease

    rows = session.execute(select(DutyLease).order_by(col(DutyLease.duty))).scalars()
    return tuple(DutyLiveness(r.duty, r.holder, r.renewed_at, r.expires_at) for r in rows)


def _ancestor_in(system_id: int | None, parents: dict[int, int | None], down: set[int]) -> bool:
    seen: set[int] = set()
    node = parents.get(system_id) if system_id is not None else None
    while node is not None and node not in seen:
        if node in down:
            return True
        seen.add(node)
        node = parents.get(node)
    return False
