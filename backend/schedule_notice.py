"""The leads told ahead of time about a gap in the duty schedule: route event
`coverage_gap`, once per gap (a duty and the moment nobody covers it from), by the
worker's `escalate` duty. A gap that closes and opens again at another moment is a new
gap; one already told is never told again, however many workers sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from . import schedule, schedule_views
from .clocks import load_policy
from .models import CoverageNotice, table_of
from .notify_plan import load as load_routing
from .notify_plan import write_rows
from .policy import policy_of
from .recipients import resolve_targets
from .store import Store
from .timeutil import rfc3339

EVENT = "coverage_gap"


# A gap told: the duty nobody covers, when, and whom it was told to.
GapTold = TypedDict("GapTold", {"duty": str, "from": str, "until": str, "to": list[str]})


def sweep(store: Store, actor: str) -> list[GapTold]:
    """Tell the routes' recipients (by default the leads) of each gap ahead not yet told."""
    told: list[GapTold] = []
    with store.write(actor) as uow:
        session = uow.session
        sched = schedule.load(session, uow.now)
        if not schedule_views.planned(sched, uow.now):
            return []
        policy = policy_of(load_policy(session).document)
        end = uow.now + timedelta(days=policy.ahead_days)
        routes = [r for r in load_routing(session).routes if r.event == EVENT]
        for duty, start, until in sched.gaps(uow.now, end):
            # A gap told before that runs on (cut by the window's end, or begun before now)
            # is the same gap: its end is moved on, nobody is told again.
            earlier = session.scalars(
                select(CoverageNotice).where(
                    col(CoverageNotice.duty) == duty,
                    col(CoverageNotice.starts_at) <= start,
                    col(CoverageNotice.ends_at) >= start,
                )
            ).first()
            if earlier is not None:
                earlier.ends_at = max(earlier.ends_at, until)
                continue
            table = table_of(CoverageNotice)
            insert = pg_insert(table) if uow.dialect == "postgresql" else sqlite_insert(table)
            claimed = session.execute(
                insert.values(duty=duty, starts_at=start, ends_at=until, noticed_at=uow.now)
                .on_conflict_do_nothing(index_elements=["duty", "starts_at"])
                .returning(table.c.id)
            ).first()
            if claimed is None:
                continue
            gap = {"duty": duty, "from": rfc3339(start), "until": rfc3339(until)}
            targets: list[dict[str, str]] = []
            for route in routes:
                for target in resolve_targets(session, None, route.to, at=uow.now):
                    if target not in targets:
                        targets.append(target)
            body = {"event": EVENT, "gap": {"duty": duty, "start": gap["from"], "end": gap["until"]}}
            write_rows(uow, EVENT, targets, body, incident_id=None, key=f"{EVENT}-{duty}-{rfc3339(start)}")
            uow.record(EVENT, {**gap, "to": [t["to"] for t in targets]}, entity="schedule", entity_id=duty)
            told.append({"duty": duty, "from": gap["from"], "until": gap["until"], "to": [t["to"] for t in targets]})
    return told
