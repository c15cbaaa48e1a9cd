"""What the board shows, read from the store: no Textual here.

The incident list holds only ids and sort keys for every matching incident, packed
(backend/board_order.py: a 100k board's are under 6 MiB), and reads the displayed
fields a page at a time. Countdowns are computed from stored due times at draw time;
nothing counts down in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from . import words
from .board_order import SORT_KEYS as SORT_KEYS  # the board's orders, named here too (screens, tests)
from .board_order import Key as Key
from .board_order import Places as Places
from .domain import CATEGORY_TERMS, LEVEL_TERMS, OPEN_STATUSES, Category, Level
from .errors import InvalidInput
from .i18n import _
from .models import Incident, IncidentDeadline, Probe, ProbeResult, System, table_of
from .ranking import Clock, clock_of
from .rows import OpenWarning, RosterRow
from .timeutil import utcnow

if TYPE_CHECKING:
    from .leases import DutyLiveness
    from .schedule_views import DutyLine

RANK = {"I": 4, "II": 3, "III": 2, "IV": 1}
OPEN = tuple(status.value for status in OPEN_STATUSES)
SORTS = ("due", "level", "age", "id")
HISTORY_SORTS = ("recent", "level", "id")
_NEVER = float("inf")


@dataclass(frozen=True)
class BoardFilter:
    """`/` on the board: words match the title; `level:III cat:network owner:dns
    status:reported system:portal` narrow by field (any order, any case; `level:3`,
    `cat:网络故障` too). `category` may hold several keys joined by commas."""

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
            values["level"] = _level(values["level"])
        if "category" in values:
            values["category"] = ",".join(_categories(values["category"]))
        if "status" in values:
            values["status"] = _one_of(values["status"], [s.value for s in OPEN_STATUSES], _("open status"))
    except ValueError as error:
        raise InvalidInput("bad_filter", str(error), _("e.g. level:III cat:network owner:dns words")) from None
    return BoardFilter(text=" ".join(words), **values)


_LEVEL_ALIASES = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def _level(value: str) -> str:
    """I..IV, 1..4, the board's own label (III!) or the plan's term (较大)."""
    value = value.strip().rstrip("!")
    by_term = {term.zh: level.value for level, term in LEVEL_TERMS.items()}
    return by_term.get(value) or Level.parse(_LEVEL_ALIASES.get(value, value)).value


def _categories(value: str) -> list[str]:
    """What the screen shows is what the filter takes: the key (network_fault), the board's
    short label (network, net attack) in English or the chosen language (网络故障), the
    plan's term (网络故障事件). A label names its category; a start of one names every
    category it starts (cat:网络 and cat:net: both network categories). Commas join several."""
    aliases: dict[str, set[str]] = {}
    for category in Category:
        term = CATEGORY_TERMS[category]
        for name in (category.value, words.CATEGORY_SHORT_EN[category.value], words.category_short(category.value)):
            aliases.setdefault(name.lower(), set()).add(category.value)
        for name in (term.en, term.zh):
            aliases.setdefault(name.lower(), set()).add(category.value)
    found: set[str] = set()
    for part in value.lower().split(","):
        part = part.strip()
        matches = aliases.get(part) or {c for name, cs in aliases.items() if name.startswith(part) for c in cs}
        if not part or not matches:
            shown = ", ".join(words.category_short(c.value) for c in Category)
            raise ValueError(
                _("{value!r} is not a category: use one the board shows ({shown}) or its key").format(
                    value=part, shown=shown
                )
            )
        found |= matches
    return sorted(found)


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


def load_keys(
    session: Session,
    filt: BoardFilter,
    sort: str = "due",
    ids: Sequence[int] | None = None,
    statuses: Sequence[str] = OPEN,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[Key]:
    """Every incident in `statuses` (open ones by default) matching the filter, or only
    those of `ids`, in board order (`SORT_KEYS`, ranked as backend/ranking.py says at
    `now`); the first `limit` only, if given. The database sorts: in C, without holding
    the GIL the event loop needs, and without a second copy of 100k sort keys in Python.
    The history view asks for resolved and closed."""
    return list(_keys(session, filt, sort, ids, statuses, limit, now))


def load_places(
    session: Session, filt: BoardFilter, sort: str = "due", statuses: Sequence[str] = OPEN, now: datetime | None = None
) -> Places:
    """What `load_keys` reads of every matching incident, packed as the board holds it
    (backend/board_order.py): no list of 100k `Key` objects on the way."""
    return Places(_keys(session, filt, sort, None, statuses, None, now))


def _keys(
    session: Session,
    filt: BoardFilter,
    sort: str,
    ids: Sequence[int] | None,
    statuses: Sequence[str],
    limit: int | None,
    now: datetime | None,
) -> Iterator[Key]:
    i = table_of(Incident).c
    dialect = session.get_bind().dialect.name
    now_s = (now or utcnow()).timestamp()
    pressing = func.coalesce(_epoch(i.report_warn_at, dialect) <= now_s, False)
    due = case((pressing, _epoch(i.report_due_at, dialect)), else_=_epoch(i.first_due_at, dialect))
    reported = _epoch(i.reported_at, dialect)
    rank = case(*((i.level == level, value) for level, value in RANK.items()), else_=0)
    order = {  # SORT_KEYS in SQL, on the very epoch figures the keys hold: the same order, ties and all
        "due": (pressing.desc(), due.is_(None), due, rank.desc(), i.id),
        "level": (rank.desc(), pressing.desc(), due.is_(None), due, i.id),
        "age": (reported, i.id),
        "id": (i.id,),
        "recent": (reported.desc(), i.id.desc()),
    }[sort]
    when = reported if sort in ("age", "recent") else due
    query = select(i.id, when, i.level, pressing).where(i.status.in_(list(statuses))).order_by(*order)
    if ids is not None:
        query = query.where(i.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    for row in session.execute(_filtered(query, filt)):
        yield Key(row[0], _NEVER if row[1] is None else float(row[1]), RANK.get(row[2] or "", 0), bool(row[3]))


def next_pressing(session: Session, now: datetime, statuses: Sequence[str] = OPEN) -> datetime | None:
    """When the next incident's reporting clock enters its warning band: the board's order
    changes then without a write, so the board reads its keys again at that moment."""
    i = table_of(Incident).c
    at: datetime | None = session.execute(
        select(func.min(i.report_warn_at)).where(_status_in(statuses), i.report_warn_at > now)
    ).scalar_one()
    return at


def pressing_since(session: Session, since: datetime, now: datetime, statuses: Sequence[str] = OPEN) -> list[int]:
    """The incidents whose reporting clock entered its warning band after `since`, up to
    `now`: the only keys that time alone changes (`load_keys`' `pressing`), so the board
    re-reads these few rather than every key."""
    i = table_of(Incident).c
    query = select(i.id).where(_status_in(statuses), i.report_warn_at > since, i.report_warn_at <= now)
    return list(session.execute(query).scalars())


def _status_in(statuses: Sequence[str]) -> Any:
    """The status filter of a search by report_warn_at, written so that no index on the
    status serves it: SQLite then walks report_warn_at's index to the few rows in the
    window, not every open incident by status (0.01 ms rather than 7-50 ms at 10k open,
    on every change the board reads)."""
    return (table_of(Incident).c.status + "").in_(list(statuses))


def _filtered(query: Any, filt: BoardFilter) -> Any:
    i = table_of(Incident).c
    if filt.level:
        query = query.where(i.level == filt.level)
    if filt.category:
        query = query.where(i.category.in_(filt.category.split(",")))
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
    clocks: tuple[Clock, ...] = ()  # the running clocks
    probe_critical: bool = False  # resolved, and its probe is CRITICAL again

    def clock(self, now: datetime) -> Clock | None:
        """The clock that ranks the row at `now` (backend/ranking.py): the DUE cell's."""
        return clock_of(self.clocks, now)[0]


def load_rows(session: Session, ids: Sequence[int]) -> dict[int, Row]:
    """The displayed fields of these incidents (a page), with their running clocks."""
    if not ids:
        return {}
    i, s = Incident.__table__.c, System.__table__.c  # type: ignore[attr-defined]
    d = IncidentDeadline.__table__.c  # type: ignore[attr-defined]
    clocks: dict[int, list[Clock]] = {}
    for row in session.execute(
        select(d.incident_id, d.rule, d.due_at, d.warn_at, d.next_level).where(
            d.incident_id.in_(ids), d.met_at.is_(None), d.waived_at.is_(None), d.superseded_at.is_(None)
        )
    ):
        clocks.setdefault(row.incident_id, []).append(Clock(row.rule, row.due_at, row.warn_at, row.next_level))
    out = {}
    p = Probe.__table__.c  # type: ignore[attr-defined]
    query = select(
        i.id,
        i.version,
        i.level,
        i.category,
        i.title,
        i.owner,
        i.status,
        i.reported_at,
        s.name.label("system"),
        p.state.label("probe_state"),
    ).select_from(
        Incident.__table__.outerjoin(System.__table__, i.system_id == s.id).outerjoin(  # type: ignore[attr-defined]
            Probe.__table__,  # type: ignore[attr-defined]
            i.probe_id == p.id,
        )
    )
    for row in session.execute(query.where(i.id.in_(ids))):
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
            clocks=tuple(sorted(clocks.get(row.id, ()), key=lambda c: c.due_at)),
            probe_critical=row.status == "resolved" and row.probe_state == "CRITICAL",
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
    roster: tuple[RosterRow, ...]
    readiness: dict[str, ProbeLine | None]
    quarantined: int
    last_file_at: datetime | None
    worker_beat_at: datetime | None
    read_at: datetime
    failed_messages: int = 0  # notifications failed or dead: someone was not told
    extra: dict[str, Any] = field(default_factory=dict)
    sources: tuple[SourceLine, ...] = ()  # the alert receiver's sources and their counters
    duty: tuple[DutyLine, ...] = ()  # per duty, when a schedule is in force
    duty_changes_at: datetime | None = None  # the next hand-off: the panels are read again then
    spool_problems: tuple[str, ...] = ()  # "HOST:PATH: out of space ..." per spool that has one
    duty_leases: tuple[DutyLiveness, ...] = ()  # a banner per duty with no live holder
    duty_gaps: tuple[tuple[str, datetime, datetime], ...] = ()  # (duty, from, until) nobody covers ahead
    warnings: tuple[OpenWarning, ...] = ()  # the open warnings, most urgent clock first (early_warning)


@dataclass(frozen=True)
class SourceLine:
    name: str
    accepted: int
    rejected: int  # every refused request, whatever the code


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


def on_duty_for(panels: Panels, login: str) -> list[str]:
    """The duties the schedule has `login` on, as the panels last read them."""
    member = next((m for m in panels.roster if m["login"] == login), None)
    return list(member.get("on_duty_for", [])) if member else []
