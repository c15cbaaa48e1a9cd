"""Probe availability: the share of time each system's probes were OK (`opsdeck stats`).

A probe's state holds from one result until the next, but never longer than `hold`
(three of its intervals, at least 15 minutes): a probe that went silent is unknown
after that, neither OK nor failing. Results are pruned after `keep_results` (30 days),
so the upkeep duty sums every finished UTC day of every probe first (`summarize`, one
`probe_days` row each, before any of that day's results can be pruned); availability
reads those sums, and the raw results for today and for a period's partial days.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

from sqlalchemy import func, select
from sqlmodel import Session, col

from .models import Probe, ProbeDay, ProbeResult, System
from .store import Store

MIN_HOLD = timedelta(minutes=15)
DAY = timedelta(days=1)
OK = "OK"


def hold_for(interval_s: int | None) -> timedelta:
    return max(MIN_HOLD, timedelta(seconds=3 * interval_s)) if interval_s else MIN_HOLD


def totals(points: list[tuple[datetime, str]], start: datetime, end: datetime, hold: timedelta) -> tuple[float, float]:
    """(seconds OK, seconds known) in [start, end), from results in time order (the last
    one before `start` included, so the state at `start` is known)."""
    ok = known = 0.0
    for index, (at, state) in enumerate(points):
        following = points[index + 1][0] if index + 1 < len(points) else end
        lo, hi = max(at, start), min(following, at + hold, end)
        if hi > lo:
            seconds = (hi - lo).total_seconds()
            known += seconds
            ok += seconds if state == OK else 0.0
    return ok, known


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _points(session: Session, probe_id: int, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    before = session.execute(
        select(col(ProbeResult.at), col(ProbeResult.state))
        .where(col(ProbeResult.probe_id) == probe_id, col(ProbeResult.at) < start)
        .order_by(col(ProbeResult.at).desc())
        .limit(1)
    ).all()
    inside = session.execute(
        select(col(ProbeResult.at), col(ProbeResult.state))
        .where(col(ProbeResult.probe_id) == probe_id, col(ProbeResult.at) >= start, col(ProbeResult.at) < end)
        .order_by(col(ProbeResult.at))
    ).all()
    return [(at, state) for at, state in [*before, *inside]]


def summarize(store: Store, actor: str, today: date | None = None) -> int:
    """Sum every finished UTC day of every probe not yet summed; returns the days written.
    One transaction per probe; a day is written once (its key is the probe and the day)."""
    written = 0
    with store.read() as session:
        probes = session.execute(select(col(Probe.id), col(Probe.interval_s))).all()
        done: dict[int, str] = {
            probe_id: day
            for probe_id, day in session.execute(
                select(col(ProbeDay.probe_id), func.max(col(ProbeDay.day))).group_by(col(ProbeDay.probe_id))
            )
        }
        first: dict[int, datetime] = {
            probe_id: at
            for probe_id, at in session.execute(
                select(col(ProbeResult.probe_id), func.min(col(ProbeResult.at))).group_by(col(ProbeResult.probe_id))
            )
        }
    for probe_id, interval_s in probes:
        with store.write(actor) as uow:
            last_day = (today or uow.now.astimezone(UTC).date()) - DAY  # the newest finished day
            if probe_id in done:
                start_day = date.fromisoformat(done[probe_id]) + DAY
            elif probe_id in first:
                start_day = first[probe_id].astimezone(UTC).date()
            else:
                continue  # never reported: nothing to sum
            if start_day > last_day:
                continue
            points = _points(uow.session, probe_id, _midnight(start_day), _midnight(last_day + DAY))
            hold = hold_for(interval_s)
            day = start_day
            while day <= last_day:
                lo, hi = _midnight(day), _midnight(day + DAY)
                ok, known = totals(points, lo, hi, hold)
                count = sum(1 for at, _state in points if lo <= at < hi)
                uow.session.add(ProbeDay(probe_id=probe_id, day=day.isoformat(), ok_s=ok, known_s=known, results=count))
                written += 1
                day += DAY
    return written


class SystemAvailability(TypedDict):
    """A system's probes over a period: seconds OK of seconds known, and the share."""

    ok_s: float
    known_s: float
    probes: int
    ok_share: float | None  # None: nothing known


def by_system(session: Session, since: datetime, until: datetime, now: datetime) -> dict[str, SystemAvailability]:
    """`{system: {"ok_share", "ok_s", "known_s", "probes"}}` over [since, until) (capped at
    now): summed days where the day lies wholly inside, raw results elsewhere (a day whose
    results were pruned counts its sums in proportion to the part inside)."""
    until = min(until, now)
    out: dict[str, SystemAvailability] = defaultdict(
        lambda: {"ok_s": 0.0, "known_s": 0.0, "probes": 0, "ok_share": None}
    )
    if until <= since:
        return {}
    rows = session.execute(
        select(col(Probe.id), col(Probe.interval_s), col(System.name)).outerjoin(
            System, col(System.id) == col(Probe.system_id)
        )
    ).all()
    for probe_id, interval_s, system in rows:
        summed = {
            d: (ok, known)
            for d, ok, known in session.execute(
                select(col(ProbeDay.day), col(ProbeDay.ok_s), col(ProbeDay.known_s)).where(
                    col(ProbeDay.probe_id) == probe_id,
                    col(ProbeDay.day) >= since.astimezone(UTC).date().isoformat(),
                    col(ProbeDay.day) <= until.astimezone(UTC).date().isoformat(),
                )
            )
        }
        ok, known = _probe_totals(session, probe_id, hold_for(interval_s), since, until, summed)
        if known == 0:
            continue
        group = out[system or "-"]
        group["ok_s"] += ok
        group["known_s"] += known
        group["probes"] += 1
    for group in out.values():
        group["ok_share"] = round(group["ok_s"] / group["known_s"], 4) if group["known_s"] else None
    return dict(sorted(out.items()))


def _probe_totals(
    session: Session,
    probe_id: int,
    hold: timedelta,
    since: datetime,
    until: datetime,
    summed: dict[str, tuple[float, float]],
) -> tuple[float, float]:
    ok = known = 0.0
    raw: list[tuple[datetime, datetime]] = []
    day = since.astimezone(UTC).date()
    while _midnight(day) < until:
        lo, hi = max(since, _midnight(day)), min(until, _midnight(day + DAY))
        whole = lo == _midnight(day) and hi == _midnight(day + DAY)
        sums = summed.get(day.isoformat())
        if whole and sums is not None:
            ok, known = ok + sums[0], known + sums[1]
        else:
            raw.append((lo, hi))
        day += DAY
    for lo, hi in raw:
        points = _points(session, probe_id, lo, hi)
        part_ok, part_known = totals(points, lo, hi, hold)
        if not points and (sums := summed.get(lo.astimezone(UTC).date().isoformat())) is not None:
            share = (hi - lo) / DAY  # results pruned: the day's sums, in proportion
            part_ok, part_known = sums[0] * share, sums[1] * share
        ok, known = ok + part_ok, known + part_known
    return ok, known
