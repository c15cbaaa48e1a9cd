"""The wall's read model and its alert state machine: what `opsdeck wall` reads from
the store and which incidents flash and ring. No Textual: the wall screen
(screens/wall.py) only draws what this decides.

An alert is an event someone must see: an incident that is new at level III or above
(opened or raised to it while the wall runs), or a clock that breached. It stays until
a person acknowledges it anywhere: any audited action of a person on that incident
after the event (`incident ack` on a reported one, a note, an assignment, an
attestation...), or, for a breach, the breached clock met. Classifying at III or above
already sets `acknowledged_at`, so a new level III incident is always "acknowledged" in
the store's sense; a later action of a person is what says someone saw it. The worker's
own writes (escalations) acknowledge nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from . import board, clocks, queries
from .board import RANK, BoardFilter, Key, Panels, Row
from .domain import SYSTEM_ACTOR_PREFIX
from .store import Store

MAX_ROWS = 500  # the most urgent incidents the wall holds rows for (pages rotate through them)
ALERT_RANK = RANK["III"]
EVERYTHING = BoardFilter()


# -- what a worker reads -----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    first: bool  # the first load: nothing is new yet, breaches are
    full: bool  # re-read every row and panel (the first load, the store readable again)
    changed: frozenset[int] = frozenset()
    parts: frozenset[str] = frozenset()  # "incidents", "probes"
    cached: frozenset[int] = frozenset()  # rows the wall holds: not read again unless changed
    watermark: int | None = None  # the newest incident when the wall started


@dataclass(frozen=True)
class Trail:
    """An incident's audit trail, as far as alerts care."""

    level_at: datetime | None  # when its level was last set
    person_at: datetime | None  # a person's newest action on it


@dataclass(frozen=True)
class WallLoad:
    request: Request
    top: tuple[Key, ...]  # board order, at most MAX_ROWS
    fresh: tuple[Key, ...]  # the changed incidents that are still open
    rows: dict[int, Row]
    trails: dict[int, Trail]
    rules: dict[str, tuple[str, str]]  # clock rule -> its name in English and Chinese
    panels: Panels | None = None
    panel_fields: dict[str, Any] = field(default_factory=dict)
    newest: int | None = None


def read_wall(store: Store, now: datetime, request: Request) -> WallLoad:
    """One read of everything that changed (the wall's thread worker calls this)."""
    with store.read() as session:
        top = board.load_keys(session, EVERYTHING, "due", limit=MAX_ROWS, now=now)
        fresh = (
            board.load_keys(session, EVERYTHING, "due", ids=sorted(request.changed), now=now) if request.changed else []
        )
        cached = frozenset() if request.full else request.cached
        rows = board.load_rows(session, [k.id for k in top if k.id in request.changed or k.id not in cached])
        ranks = {k.id: k.rank for k in (*top, *fresh)}
        trails = {
            row.id: _trail(session, row.id)
            for row in rows.values()
            if _breached(row, now)
            or (
                request.watermark is not None
                and ranks.get(row.id, 0) >= ALERT_RANK
                and (row.id in request.changed or row.id > request.watermark)
            )
        }
        rules = {r.key: (r.name, r.name_zh) for r in clocks.load_policy(session).deadlines.rules}
        load = WallLoad(request, tuple(top), tuple(fresh), rows, trails, rules)
        if request.full:
            newest = board.load_keys(session, EVERYTHING, "recent", limit=1) if request.first else []
            return replace(load, panels=board.load_panels(session, now), newest=_max_id(newest))
        fields: dict[str, Any] = {}
        if "incidents" in request.parts:
            fields |= board.incident_panels(session, now)
        if "probes" in request.parts:
            fields |= board.probe_panels(session, now)
    return replace(load, panel_fields=fields)


def _max_id(keys: list[Key]) -> int | None:
    return max((k.id for k in keys), default=None)


def _trail(session: Session, incident_id: int) -> Trail:
    level_at = person_at = None
    for event in queries.audit_trail(session, incident_id):
        at = datetime.fromisoformat(event["at"])
        if "level" in event["details"] or "regraded" in event["details"]:
            level_at = at
        if not event["actor"].startswith(SYSTEM_ACTOR_PREFIX):
            person_at = at if person_at is None else max(person_at, at)
    return Trail(level_at, person_at)


def _breached(row: Row, now: datetime) -> bool:
    return bool(row.clocks) and now > row.clocks[0].due_at


# -- alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    kind: str  # "NEW" or "LATE"
    since: datetime  # a person acting on the incident after this acknowledges it
    due_at: datetime | None = None  # LATE: the clock that breached


class Alerts:
    """Which incidents flash and ring, from what the wall read. No Textual, no I/O."""

    def __init__(self) -> None:
        self.active: dict[tuple[int, str], Alert] = {}
        self.watermark: int | None = None  # incidents above it are new
        self._ranks: dict[int, int] = {}
        self._trails: dict[int, Trail] = {}
        self._late_seen: set[tuple[int, datetime]] = set()

    def loaded(self, load: WallLoad, rows: Mapping[int, Row], now: datetime) -> int:
        """Take a load in; returns how many alerts it raised."""
        self._trails |= load.trails
        raised = 0
        keys = {k.id: k for k in load.top} | {k.id: k for k in load.fresh}
        if self.watermark is None:
            self.watermark = max([*keys, load.newest or 0])
        elif not load.request.first:
            for key in keys.values():
                previous = self._ranks.get(key.id)
                rose = key.rank > previous if previous is not None else key.id > self.watermark
                if key.rank >= ALERT_RANK and rose and key.id in rows:
                    since = self._trails[key.id].level_at if key.id in self._trails else None
                    raised += self._raise(key.id, Alert("NEW", since or rows[key.id].reported_at))
        self._ranks |= {k.id: k.rank for k in keys.values()}
        raised += self.late(rows, now)
        self.settle(rows, now)
        return raised

    def late(self, rows: Mapping[int, Row], now: datetime) -> int:
        """Clocks that breached since the last look (once per clock)."""
        raised = 0
        for row in rows.values():
            due_at = row.clocks[0].due_at if row.clocks else None  # the earliest clock (sorted by due)
            if due_at is not None and now > due_at and (row.id, due_at) not in self._late_seen:
                self._late_seen.add((row.id, due_at))
                raised += self._raise(row.id, Alert("LATE", due_at, due_at))
        return raised

    def settle(self, rows: Mapping[int, Row], now: datetime) -> None:
        """Drop what was acknowledged, met, or left the wall."""
        for (incident_id, kind), alert in list(self.active.items()):
            row = rows.get(incident_id)
            first = row.clocks[0].due_at if row is not None and row.clocks else None
            met = kind == "LATE" and (
                row is None or first != alert.due_at or (alert.due_at is not None and now <= alert.due_at)
            )
            if row is None or met or self._acknowledged(incident_id, alert):
                del self.active[(incident_id, kind)]

    def _raise(self, incident_id: int, alert: Alert) -> int:
        if self._acknowledged(incident_id, alert):
            return 0
        self.active[(incident_id, alert.kind)] = alert
        return 1

    def _acknowledged(self, incident_id: int, alert: Alert) -> bool:
        trail = self._trails.get(incident_id)
        return trail is not None and trail.person_at is not None and trail.person_at > alert.since

    def kind_of(self, incident_id: int) -> str | None:
        if (incident_id, "LATE") in self.active:
            return "LATE"
        return "NEW" if (incident_id, "NEW") in self.active else None

    def ids(self) -> list[int]:
        return sorted({incident_id for incident_id, _ in self.active})
