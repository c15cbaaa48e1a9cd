"""What the NOC's monitoring reads of opsdeck: `opsdeck check` (a Monitoring Plugins check).

Each measurement is a number with a warning and a critical threshold, alerting when the
value is above the threshold (the plugin guidelines' range `N`: outside 0..N). The check's
state is the worst of them; the store unreachable, or its schema not the one this
opsdeck needs, is CRITICAL on its own (nothing else can be read then).

Reads only: it never creates, migrates or writes the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from . import clocks
from .engines import make_engine, parse_url, translate_db_error
from .errors import NotFound, OpsdeckError, StoreUnavailable
from .i18n import _
from .leases import duty_leases
from .models import AlertSource, IncidentDeadline, OutboxMessage, SpoolStatus
from .schema import SCHEMA_HEAD, current_revision
from .spool_files import QUARANTINE
from .store import Store
from .timeutil import utcnow

STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
OK, WARNING, CRITICAL, UNKNOWN = STATES
EXIT = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}
_RANK = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}  # the guidelines: CRITICAL beats UNKNOWN


@dataclass(frozen=True)
class Thresholds:
    """Alert when a value is above (seconds, or a count)."""

    heartbeat: tuple[float, float] = (15.0, 60.0)  # seconds since a duty's holder renewed its lease
    pending: tuple[float, float] = (300.0, 900.0)  # age of the oldest undelivered notification
    failed: tuple[float, float] = (0.0, 10.0)  # notifications failed, to be retried
    dead: tuple[float, float] = (0.0, 0.0)  # notifications given up on
    quarantined: tuple[float, float] = (0.0, 10.0)  # spool files quarantined in the last hour
    unescalated: tuple[float, float] = (0.0, 0.0)  # breached clocks not escalated after the grace
    escalation_grace: float = 120.0


@dataclass(frozen=True)
class Measure:
    label: str  # the perfdata label
    value: float
    uom: str  # "s" or "" (a count)
    warn: float
    crit: float
    text: str  # what the summary says when it alerts

    @property
    def state(self) -> str:
        if self.value > self.crit:
            return CRITICAL
        if self.value > self.warn:
            return WARNING
        return OK


@dataclass
class Result:
    measures: list[Measure] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (state, text) beyond the numbers
    notes: list[str] = field(default_factory=list)  # long output: what was and was not looked at

    @property
    def state(self) -> str:
        states = [m.state for m in self.measures] + [s for s, _text in self.problems]
        return max(states, key=_RANK.__getitem__, default=OK)


def check(
    db_url: str,
    thresholds: Thresholds,
    *,
    spool: Path | None,
    receiver: str | None,
    now: datetime | None = None,
) -> Result:
    """Measure everything; an unreachable store or a foreign schema is one CRITICAL problem."""
    result = Result()
    try:
        store = _open(db_url)
    except (StoreUnavailable, NotFound) as error:
        result.problems.append((CRITICAL, _("store unreachable: {error}").format(error=error.what)))
        return result
    try:
        revision = current_revision(store)
        if revision != SCHEMA_HEAD:
            result.problems.append((CRITICAL, _schema_problem(revision)))
            return result
        _measure_store(store, thresholds, now or utcnow(), result)
    except DBAPIError as error:
        translated = translate_db_error(error, store.url)
        what = translated.what if isinstance(translated, OpsdeckError) else type(error).__name__
        result.problems.append((CRITICAL, _("store unreachable: {error}").format(error=what)))
        return result
    finally:
        store.dispose()
    _measure_spool(spool, thresholds, now or utcnow(), result)
    _measure_receiver(receiver, result)
    return result


def _open(db_url: str) -> Store:
    parsed = parse_url(db_url)
    return Store(make_engine(parsed, create=False), parsed)


def _schema_problem(revision: str | None) -> str:
    if revision is None:
        return str(_("the store has no opsdeck schema (run `opsdeck init` or check --db)"))
    return str(
        _("the store has schema {found}; this opsdeck needs {head} (run `opsdeck db upgrade`)").format(
            found=revision, head=SCHEMA_HEAD
        )
    )


def _measure_store(store: Store, t: Thresholds, now: datetime, result: Result) -> None:
    leases = duty_leases(store)
    if not leases:
        result.problems.append((CRITICAL, _("no worker has ever held a duty (is `opsdeck worker` running?)")))
    for lease in leases:
        age = max(0.0, (now - lease.renewed_at).total_seconds())
        result.measures.append(
            Measure(
                f"heartbeat_{lease.duty}",
                round(age, 1),
                "s",
                *t.heartbeat,
                _("duty {duty}: no renewal for {age:.0f} s (holder {holder})").format(
                    duty=lease.duty, age=age, holder=lease.holder
                ),
            )
        )
    with store.read() as session:
        outbox = OutboxMessage
        oldest = session.execute(
            select(func.min(col(outbox.created_at))).where(col(outbox.state).in_(("pending", "sending", "failed")))
        ).scalar_one()
        by_state = dict(session.execute(select(col(outbox.state), func.count()).group_by(col(outbox.state))).all())
        overdue = session.execute(
            select(IncidentDeadline).where(
                col(IncidentDeadline.escalated_at).is_(None),
                col(IncidentDeadline.due_at) < now - timedelta(seconds=t.escalation_grace),
            )
        ).scalars()
        unescalated = sum(1 for row in overdue if clocks.owed(row))
        spool_problems = list(
            session.execute(
                select(col(SpoolStatus.id), col(SpoolStatus.problem))
                .where(col(SpoolStatus.problem).is_not(None))
                .order_by(col(SpoolStatus.id))
            )
        )
        rejected = list(session.execute(select(col(AlertSource.name), col(AlertSource.rejected))))
    pending_age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    failed, dead = int(by_state.get("failed", 0)), int(by_state.get("dead", 0))
    result.measures += [
        Measure(
            "oldest_pending",
            round(pending_age, 1),
            "s",
            *t.pending,
            _("oldest undelivered notification waits {age:.0f} s").format(age=pending_age),
        ),
        Measure("failed", failed, "", *t.failed, _("{n} notifications failed (retrying)").format(n=failed)),
        Measure("dead", dead, "", *t.dead, _("{n} notifications dead (see `opsdeck notify list`)").format(n=dead)),
        Measure(
            "unescalated",
            unescalated,
            "",
            *t.unescalated,
            _("{n} breached deadlines not escalated").format(n=unescalated),
        ),
    ]
    for spool_id, problem in spool_problems:
        result.problems.append((CRITICAL, _("spool {spool}: {problem}").format(spool=spool_id, problem=problem)))
    server_errors = sum(int(n) for _name, codes in rejected for code, n in (codes or {}).items() if int(code) >= 500)
    result.notes.append(
        _("receiver: {sources} sources, {errors} requests refused with 5xx since they were added").format(
            sources=len(rejected), errors=server_errors
        )
    )


def _measure_spool(spool: Path | None, t: Thresholds, now: datetime, result: Result) -> None:
    """Quarantined in the last hour: the `.reason` files in this host's spool quarantine/."""
    folder = spool / QUARANTINE if spool is not None else None
    try:
        here = folder is not None and folder.is_dir()
    except (OSError, ValueError):  # a path with a NUL byte, too long a name
        here = False
    if folder is None or not here:
        result.notes.append(_("spool quarantine not on this host: not counted"))
        return
    since = (now - timedelta(hours=1)).timestamp()
    try:
        count = sum(
            1
            for entry in os.scandir(folder)
            if entry.name.endswith(".reason") and entry.stat(follow_symlinks=False).st_mtime >= since
        )
    except OSError as error:
        result.problems.append(
            (UNKNOWN, _("cannot read {folder}: {error}").format(folder=folder, error=error.strerror))
        )
        return
    result.measures.append(
        Measure(
            "quarantined_1h",
            count,
            "",
            *t.quarantined,
            _("{n} spool files quarantined in the last hour").format(n=count),
        )
    )


def _measure_receiver(receiver: str | None, result: Result) -> None:
    """The receiver answers its health path (when one is configured or named)."""
    if not receiver:
        result.notes.append(_("receiver: not configured here, not asked"))
        return
    host, _sep, port = receiver.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        result.problems.append((UNKNOWN, _("receiver {listen!r} is not HOST:PORT").format(listen=receiver)))
        return
    host = "127.0.0.1" if host in ("", "0.0.0.0", "*") else host.strip("[]")
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/-/healthy"
    try:
        answer = httpx.get(url, timeout=5.0)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:  # UnicodeError is a ValueError
        result.problems.append(
            (CRITICAL, _("receiver at {url} unreachable: {error}").format(url=url, error=type(error).__name__))
        )
        return
    if answer.status_code != 200:
        result.problems.append(
            (CRITICAL, _("receiver at {url} answered {code}").format(url=url, code=answer.status_code))
        )
