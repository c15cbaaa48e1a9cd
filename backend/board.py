"""What the board shows, read from the store: no Textual here.

The incident list holds only ids and sort keys for every matching incident (a 100k
board is a few MB) and reads the displayed fields a page at a time. Countdowns are
computed from stored due times at draw time; nothing counts down in memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from .domain import OPEN_STATUSES, Category, Level
from .errors import InvalidInput
from .i18n import _
from .models import Incident, IncidentDeadline, Probe, ProbeResult, System, table_of

RANK = {"I": 4, "II": 3, "III": 2, "IV": 1}
OPEN = tuple(status.value for status in OPEN_STATUSES)
SORTS = ("due", "level", "age", "id")
HISTORY_SORTS = ("recent", "level", "id")
_NEVER = float("inf")


@dataclass(frozen=True)
class BoardFilter:
    """`/` on the board: words match the title; `level:III cat:server_fault owner:dns
    status:reported system:portal` narrow by field (any order, any case)."""

    text: str = ""
    level: str | None = None
    category: str | None = None
    owner: str | None = None
    status: str | None = None
    system: str | None = None

    @property
    def empty(self) -> bool:
        return self == BoardFilter()

    def describe(self) -> str:
        parts = [
            f"{k}:{v}"
            for k, v in (
                ("level", self.level),
                ("cat", self.category),
                ("owner", self.owner),
                ("status", self.status),
                ("system", self.system),
            )
            if v
        ]
        return " ".join([*parts, self.text]).strip()


_FIELDS = {
    "level": "level",
    "lvl": "level",
    "cat": "category",
    "category": "category",
    "owner": "owner",
    "status": "status",
    "system": "system",
    "sys": "system",
}


def parse_filter(text: str) -> BoardFilter:
    values: dict[str, str] = {}
    words = []
    for token in text.split():
        key, sep, value = token.partition(":")
        if sep and key.lower() in _FIELDS and value:
            values[_FIELDS[key.lower()]] = value
        else:
            words.append(token)
    try:
        if "level" in values:
            values["level"] = Level.parse(values["level"]).value
        if "category" in values:
            values["category"] = _one_of(values["category"], [c.value for c in Category], _("category"))
        if "status" in values:
            values["status"] = _one_of(values["status"], [s.value for s in OPEN_STATUSES], _("open status"))
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("e.g. level:III cat:network_fault owner:dns words")) from None
    return BoardFilter(text=" ".join(words), **values)


def _one_of(value: str, allowed: Sequence[str], what: str) -> str:
    value = value.lower()
    matches = [a for a in allowed if a.startswith(value)]
    if len(matches) != 1:
        raise ValueError(
            _("{value!r} is not one {what}: use one of {allowed}").format(
                value=value, what=what, allowed=", ".join(allowed)
            )
        )
    return matches[0]


@dataclass(frozen=True, slots=True)
class Key:
    """One incident's place on the board."""

    id: int
    when: float  # epoch seconds the sort orders by: the earliest clock not yet met (inf when
    # none) for the due and level sorts, the report time for age and recent. One float, not
    # both: at 100k open incidents the second cost 3 MB.
    rank: int  # 4 for level I ... 0 unclassified


def load_keys(
    session: Session,
    filt: BoardFilter,
    sort: str = "due",
    ids: Sequence[int] | None = None,
    statuses: Sequence[str] = OPEN,
    limit: int | None = None,
) -> list[Key]:
    """Every incident in `statuses` (open ones by default) matching the filter, or only
    those of `ids`, in board order (`SORT_KEYS`); the first `limit` only, if given. The
    database sorts: in C, without holding the GIL the event loop needs, and without a
    second copy of 100k sort keys in Python. The history view asks for resolved and closed."""
    i = table_of(Incident).c
    dialect = session.get_bind().dialect.name
    due, reported = _epoch(i.first_due_at, dialect), _epoch(i.reported_at, dialect)
    rank = case(*((i.level == level, value) for level, value in RANK.items()), else_=0)
    order = {  # SORT_KEYS in SQL, on the very epoch figures the keys hold: the same order, ties and all
        "due": (due.is_(None), due, rank.desc(), i.id),
        "level": (rank.desc(), due.is_(None), due, i.id),
        "age": (reported, i.id),
        "id": (i.id,),
        "recent": (reported.desc(), i.id.desc()),
    }[sort]
    when = reported if sort in ("age", "recent") else due
    query = select(i.id, when, i.level).where(i.status.in_(list(statuses))).order_by(*order)
    if ids is not None:
        query = query.where(i.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    return [
        Key(row[0], _NEVER if row[1] is None else float(row[1]), RANK.get(row[2] or "", 0))
        for row in session.execute(_filtered(query, filt))
    ]


def _filtered(query: Any, filt: BoardFilter) -> Any:
    i = table_of(Incident).c
    if filt.level:
        query = query.where(i.level == filt.level)
    if filt.category:
        query = query.where(i.category == filt.category)
    if filt.owner:
        query = query.where(i.owner == filt.owner)
    if filt.status:
        query = query.where(i.status == filt.status)
    if filt.system:
        systems = table_of(System).c
        query = query.where(i.system_id.in_(select(systems.id).where(systems.name == filt.system)))
    for word in filt.text.split():
        query = query.where(func.lower(i.title).like(f"%{_like(word.lower())}%", escape="\\"))
    return query


def _epoch(column: Any, dialect: str) -> Any:
    """Seconds since 1970 computed by the database: converting 200k datetimes in Python
    was half of a 100k board's first frame."""
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _like(word: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", word)


def holds(sort: str) -> str:
    """What a key's `when` is under `sort`: keys loaded for one order serve another only
    if it is the same (or the order ignores `when`)."""
    return "reported" if sort in ("age", "recent") else "due"


def keys_serve(loaded_for: str, sort: str) -> bool:
    return sort == "id" or holds(loaded_for) == holds(sort)


# "breached first, then next due time, then level, then id": a past due time sorts first.
SORT_KEYS = {
    "due": lambda k: (k.when, -k.rank, k.id),
    "level": lambda k: (-k.rank, k.when, k.id),
    "age": lambda k: (k.when, k.id),
    "id": lambda k: (k.id,),
    "recent": lambda k: (-k.when, -k.id),
}


@dataclass(frozen=True)
class Row:
    """The fields one line of the incident list shows (an immutable snapshot)."""

    id: int
    version: int
    level: str | None
    category: str
    title: str
    owner: str | None
    status: str
    reported_at: datetime
    system: str | None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    rule: str | None = None
    next_level: str | None = None


def load_rows(session: Session, ids: Sequence[int]) -> dict[int, Row]:
    """The displayed fields of these incidents (a page), with each one's first clock."""
    if not ids:
        return {}
    i, s = Incident.__table__.c, System.__table__.c  # type: ignore[attr-defined]
    d = IncidentDeadline.__table__.c  # type: ignore[attr-defined]
    clocks: dict[int, Any] = {}
    for row in session.execute(
        select(d.incident_id, d.rule, d.due_at, d.warn_at, d.next_level).where(
            d.incident_id.in_(ids), d.met_at.is_(None), d.superseded_at.is_(None)
        )
    ):
        best = clocks.get(row.incident_id)
        if best is None or row.due_at < best.due_at:
            clocks[row.incident_id] = row
    out = {}
    query = select(
        i.id, i.version, i.level, i.category, i.title, i.owner, i.status, i.reported_at, s.name.label("system")
    ).select_from(Incident.__table__.outerjoin(System.__table__, i.system_id == s.id))  # type: ignore[attr-defined]
    for row in session.execute(query.where(i.id.in_(ids))):
        clock = clocks.get(row.id)
        out[row.id] = Row(
            id=row.id,
            version=row.version,
            level=row.level,
            category=row.category,
            title=row.title,
            owner=row.owner,
            status=row.status,
            reported_at=row.reported_at,
            system=row.system,
            due_at=clock.due_at if clock else None,
            warn_at=clock.warn_at if clock else None,
            rule=clock.rule if clock else None,
            next_level=clock.next_level if clock else None,
        )
    return out


@dataclass(frozen=True)
class ProbeLine:
    name: str
    state: str  # OK WARNING CRITICAL UNKNOWN
    stale: bool
    silenced_until: datetime | None
    last_result_at: datetime | None
    output: str
    history: tuple[str, ...]  # the last states, oldest first
    parent_down: bool = False
    last_success_at: datetime | None = None  # readiness probes


@dataclass(frozen=True)
class Panels:
    """Everything around the incident list, read in one go."""

    counts: dict[str, int]
    probes: tuple[ProbeLine, ...]
    roster: tuple[dict[str, Any], ...]
    readiness: dict[str, ProbeLine | None]
    quarantined: int
    last_file_at: datetime | None
    worker_beat_at: datetime | None
    read_at: datetime
    failed_messages: int = 0  # notifications failed or dead: someone was not told
    extra: dict[str, Any] = field(default_factory=dict)


def load_panels(session: Session, now: datetime, history: int = 8) -> Panels:
    """Every panel at once (the first load). Later changes re-read only their part:
    `incident_panels` when incidents or the roster changed, `probe_panels` when probes
    or the spool did; a probe result does not pay for counting 100k incidents."""
    return Panels(**incident_panels(session), **probe_panels(session, now, history), read_at=now)


def incident_panels(session: Session) -> dict[str, Any]:
    """The counts per level, the roster with what each member owns, failed notifications."""
    from . import queries
    from .models import OutboxMessage

    outbox = table_of(OutboxMessage).c
    failed = session.execute(select(func.count()).where(outbox.state.in_(("failed", "dead")))).scalar_one()
    return {
        "counts": queries.level_counts(session),
        "roster": tuple(queries.roster(session)),
        "failed_messages": int(failed),
    }


def probe_panels(session: Session, now: datetime, history: int = 8) -> dict[str, Any]:
    """Probe health with a short history, readiness, the spool, the newest worker beat."""
    from . import clocks
    from .models import SpoolStatus, WorkerHeartbeat

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
    beat = session.execute(select(func.max(table_of(WorkerHeartbeat).c.beat_at))).scalar_one()
    return {
        "probes": tuple(lines.values()),
        "readiness": {r.cell: lines.get(r.probe) for r in readiness_cfg},
        "quarantined": int(spool[0] or 0) if spool else 0,
        "last_file_at": spool[1] if spool else None,
        "worker_beat_at": beat,
    }


def _ancestor_in(system_id: int | None, parents: dict[int, int | None], down: set[int]) -> bool:
    seen: set[int] = set()
    node = parents.get(system_id) if system_id is not None else None
    while node is not None and node not in seen:
        if node in down:
            return True
        seen.add(node)
        node = parents.get(node)
    return False
