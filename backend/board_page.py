"""The board's first page on SQLAlchemy Core alone: its filter, the keys of its order,
its rows, and the types of its panels. No ORM, no pydantic, no models.

The board draws its first page from here before SQLModel, the models and the service
are imported (issue #26: those imports were most of its start); backend/board.py reads
the panels through the ORM once the page is up, and names everything here too. The
tables below name only the columns these queries read, with the models' types;
tests/store/test_listing.py holds them to the models (backend/models), which define the
schema. Every query takes a Core connection or an ORM session alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Integer, String, case, column, func, literal_column, select, table

from . import words
from .board_order import SORT_KEYS as SORT_KEYS  # the board's orders, named here too (screens, tests)
from .board_order import Key as Key
from .board_order import Places as Places
from .domain import CATEGORY_TERMS, LEVEL_TERMS, OPEN_STATUSES, Category, Level, Permission, permission_of
from .errors import InvalidInput
from .i18n import _
from .listing import Source, dialect_of
from .ranking import Clock, clock_of
from .rows import OpenWarning, RosterRow
from .sqltypes import UTCDateTime
from .timeutil import utcnow

if TYPE_CHECKING:
    from .leases import DutyLiveness
    from .schedule_views import DutyLine

INCIDENTS = table(
    "incidents",
    column("id", Integer),
    column("version", Integer),
    column("level", String),
    column("category", String),
    column("title", String),
    column("owner", String),
    column("status", String),
    column("system_id", Integer),
    column("probe_id", Integer),
    column("reported_at", UTCDateTime()),
    column("first_due_at", UTCDateTime()),
    column("report_warn_at", UTCDateTime()),
    column("report_due_at", UTCDateTime()),
)
SYSTEMS = table("systems", column("id", Integer), column("name", String))
DEADLINES = table(
    "incident_deadlines",
    column("incident_id", Integer),
    column("rule", String),
    column("due_at", UTCDateTime()),
    column("warn_at", UTCDateTime()),
    column("next_level", String),
    column("met_at", UTCDateTime()),
    column("waived_at", UTCDateTime()),
    column("superseded_at", UTCDateTime()),
)
PROBES = table("probes", column("id", Integer), column("state", String))
CHANGES = table("changes", column("seq", BigInteger))
ROSTER = table("roster_members", column("login", String), column("permission", String))
TABLES = (INCIDENTS, SYSTEMS, DEADLINES, PROBES, CHANGES, ROSTER)


def permission(source: Source, login: str, read_only: bool) -> Permission:
    """What `login` may do on this board (`Service.actor`'s rule, domain.permission_of)."""
    member = ROSTER.c
    query = select(member.permission).where(member.login == login)
    return permission_of(login, read_only, lambda: source.execute(query).scalar_one_or_none())


def feed_top(source: Source) -> int:
    """The change feed's newest entry: a board that follows the feed from here misses no
    change made after what it read next (backend/live.py `FeedWatcher`)."""
    return int(source.execute(select(func.coalesce(func.max(CHANGES.c.seq), 0))).scalar_one())


def newest_incident(source: Source) -> int:
    """The highest incident id (0 for none): what is above it is news to the board."""
    return int(source.execute(select(func.coalesce(func.max(INCIDENTS.c.id), 0))).scalar_one())


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
    source: Source,
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
    return list(_keys(source, filt, sort, ids, statuses, limit, now))


def load_places(
    source: Source, filt: BoardFilter, sort: str = "due", statuses: Sequence[str] = OPEN, now: datetime | None = None
) -> Places:
    """What `load_keys` reads of every matching incident, packed as the board holds it
    (backend/board_order.py): no list of 100k `Key` objects on the way."""
    return Places(_keys(source, filt, sort, None, statuses, None, now))


def _keys(
    source: Source,
    filt: BoardFilter,
    sort: str,
    ids: Sequence[int] | None,
    statuses: Sequence[str],
    limit: int | None,
    now: datetime | None,
) -> Iterator[Key]:
    i = INCIDENTS.c
    dialect = dialect_of(source)
    now = now or utcnow()  # one moment for the order and its window
    now_s = now.timestamp()
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
    window = None
    if sort == "due" and limit and ids is None and filt.empty and CLOSED not in statuses:
        window = _due_window(source, statuses, limit, now)
    if window is None:
        query = select(i.id, when, i.level, pressing).where(i.status.in_(list(statuses)))
    else:  # the same order and rows, read from the window's few rows (its indexes), not every open one
        query = select(i.id, when, i.level, pressing).where(_status_in(statuses), _NOT_CLOSED, window)
    query = query.order_by(*order)
    if ids is not None:
        query = query.where(i.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    for row in source.execute(_filtered(query, filt)):
        yield Key(row[0], _NEVER if row[1] is None else float(row[1]), RANK.get(row[2] or "", 0), bool(row[3]))


CLOSED = "closed"
# Written out, not bound: a partial index on open incidents (WHERE status != 'closed')
# serves only a query that says so in the same words.
_NOT_CLOSED = INCIDENTS.c.status != literal_column("'closed'")
# Beyond the database's rounding of a time to the epoch figure the order uses (SQLite's
# julianday keeps milliseconds), with room to spare.
_MARGIN = timedelta(seconds=1)


def _due_window(source: Source, statuses: Sequence[str], limit: int, now: datetime) -> ColumnElement[bool] | None:
    """A condition every one of the first `limit` open incidents in the due order meets,
    met by few others: the top of a 100k board read through indexes, not by computing
    and sorting the order's figures for every open incident (185 ms at 100k open).
    None: no such condition is cheaper than the whole order (fewer incidents than `limit`
    with a time to rank by).

    The due order ranks the pressing incidents first (reporting clock in warning or
    breached) by report_due_at, then the rest by first_due_at, none last; the database
    compares the epoch figures of those times, which keep their order (ties aside). So:
    - if at least `limit` incidents were pressing a margin before `now` (so surely
      pressing at `now`), the first `limit` are among those due no later than the
      `limit`-th of them, plus the margin;
    - else they are among the pressing ones (every incident whose warning is at most a
      margin after `now`) and those due no later than the `limit`-th earliest
      first_due_at, plus the margin.
    Each threshold is read in the order of a partial index on open incidents (closed
    ones keep a breached clock's times: a store's years of them would be walked
    first). The unfiltered board only (its start, the wall): a filter's thresholds
    would be read by testing the filter row after row down those indexes, slower than
    ranking the few matching rows when the filter matches few. tests/ui/test_board_order.py
    holds the window's page to the whole order's."""
    i = INCIDENTS.c

    def nth(column: Any, *where: Any) -> datetime | None:
        query = (
            select(column)
            .where(_status_in(statuses), _NOT_CLOSED, column.is_not(None), *where)
            .order_by(column)
            .offset(limit - 1)
            .limit(1)
        )
        found: datetime | None = source.execute(query).scalar_one_or_none()
        return found

    pressing = i.report_warn_at <= now - _MARGIN
    many_pressing = source.execute(
        select(i.id).where(_status_in(statuses), _NOT_CLOSED, pressing).offset(limit - 1).limit(1)
    ).first()
    reported_by = nth(i.report_due_at, pressing) if many_pressing else None
    if reported_by is not None:
        return i.report_due_at <= reported_by + _MARGIN
    due_by = nth(i.first_due_at)
    if due_by is None:
        return None
    # Each part read through its own index: SQLite would not join the two ranges of an OR.
    return i.id.in_(
        select(i.id)
        .where(_NOT_CLOSED, i.report_warn_at <= now + _MARGIN)
        .union_all(select(i.id).where(_NOT_CLOSED, i.first_due_at <= due_by + _MARGIN))
    )


def next_pressing(source: Source, now: datetime, statuses: Sequence[str] = OPEN) -> datetime | None:
    """When the next incident's reporting clock enters its warning band: the board's order
    changes then without a write, so the board reads its keys again at that moment."""
    i = INCIDENTS.c
    at: datetime | None = source.execute(
        select(func.min(i.report_warn_at)).where(_status_in(statuses), i.report_warn_at > now)
    ).scalar_one()
    return at


def pressing_since(source: Source, since: datetime, now: datetime, statuses: Sequence[str] = OPEN) -> list[int]:
    """The incidents whose reporting clock entered its warning band after `since`, up to
    `now`: the only keys that time alone changes (`load_keys`' `pressing`), so the board
    re-reads these few rather than every key."""
    i = INCIDENTS.c
    query = select(i.id).where(_status_in(statuses), i.report_warn_at > since, i.report_warn_at <= now)
    return list(source.execute(query).scalars())


def _status_in(statuses: Sequence[str]) -> Any:
    """The status filter of a search by report_warn_at, written so that no index on the
    status serves it: SQLite then walks report_warn_at's index to the few rows in the
    window, not every open incident by status (0.01 ms rather than 7-50 ms at 10k open,
    on every change the board reads)."""
    return (INCIDENTS.c.status + "").in_(list(statuses))


def _filtered(query: Any, filt: BoardFilter) -> Any:
    i = INCIDENTS.c
    if filt.level:
        query = query.where(i.level == filt.level)
    if filt.category:
        query = query.where(i.category.in_(filt.category.split(",")))
    if filt.owner:
        query = query.where(i.owner == filt.owner)
    if filt.status:
        query = query.where(i.status == filt.status)
    if filt.system:
        systems = SYSTEMS.c
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


def load_rows(source: Source, ids: Sequence[int]) -> dict[int, Row]:
    """The displayed fields of these incidents (a page), with their running clocks."""
    if not ids:
        return {}
    i, s, d, p = INCIDENTS.c, SYSTEMS.c, DEADLINES.c, PROBES.c
    clocks: dict[int, list[Clock]] = {}
    for row in source.execute(
        select(d.incident_id, d.rule, d.due_at, d.warn_at, d.next_level).where(
            d.incident_id.in_(ids), d.met_at.is_(None), d.waived_at.is_(None), d.superseded_at.is_(None)
        )
    ):
        clocks.setdefault(row.incident_id, []).append(Clock(row.rule, row.due_at, row.warn_at, row.next_level))
    out = {}
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
    ).select_from(INCIDENTS.outerjoin(SYSTEMS, i.system_id == s.id).outerjoin(PROBES, i.probe_id == p.id))
    for found in source.execute(query.where(i.id.in_(ids))):
        out[found.id] = Row(
            id=found.id,
            version=found.version,
            level=found.level,
            category=found.category,
            title=found.title,
            owner=found.owner,
            status=found.status,
            reported_at=found.reported_at,
            system=found.system,
            clocks=tuple(sorted(clocks.get(found.id, ()), key=lambda c: c.due_at)),
            probe_critical=found.status == "resolved" and found.probe_state == "CRITICAL",
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


def on_duty_for(panels: Panels, login: str) -> list[str]:
    """The duties the schedule has `login` on, as the panels last read them."""
    member = next((m for m in panels.roster if m["login"] == login), None)
    return list(member.get("on_duty_for", [])) if member else []
