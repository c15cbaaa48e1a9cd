"""A store of a center's years: `count` incidents over two years (fill.incident_rows: mostly
closed) with what hangs off them, for the figures that read history (`stats`).

Setup, not measured: rows go straight into the tables through SQLAlchemy Core. Each
incident gets the clocks the default policy would have given it (classify, supervisor,
vendor for server and software faults, the leadership and departments reports for levels
III to I, the re-grade bound, the record, the acknowledgement lease), met from its own
timestamps or not at all; an escalation for each clock met late or never; two messages in
the outbox for a level III-I incident; a call or two for one incident in twenty; and
AUDIT_PER_INCIDENT audit events each (1M at 100k), so the trail is the size years leave.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, select, text
from sqlmodel import SQLModel

from opsdeck.backend.domain import Level
from opsdeck.backend.models import Incident, System
from opsdeck.backend.schema import open_store
from opsdeck.backend.timeutil import rfc3339

from .fill import BASE_TIME, CHUNK, SEED, _import_demo, incident_rows
from .harness import Run, Tick
from .raw import insert_sql

AUDIT_PER_INCIDENT = 10
HISTORY_NOW = BASE_TIME + timedelta(days=1)  # the moment the history is judged at
SEVERE = ("III", "II", "I")
FAULTS = ("server_fault", "software_fault")
MESSAGE_STATES = (("sent", 90), ("failed", 4), ("dead", 2), ("pending", 4))


@dataclass(frozen=True)
class HistoryStore:
    path: Path  # the SQLite file (with `url`, only names the run)
    url: str
    now: datetime
    count: int  # incidents
    audit_events: int


def history_store(run: Run) -> HistoryStore:
    """This run's history store on SQLite, filled once."""
    count = run.sizes.history_incidents

    def fill() -> HistoryStore:
        path = run.path("history.db")
        tick = run.progress.stage(f"filling a store with {count:,} incidents over two years", count)
        return fill_history(path, f"sqlite:///{path}", count, tick)

    return run.once("fill.history", fill)


def fill_history(path: Path, url: str, count: int, tick: Tick) -> HistoryStore:
    store = open_store(url, clock=lambda: BASE_TIME - timedelta(days=800))
    try:
        _import_demo(store)
        with store.read() as session:
            system_ids = [system_id for (system_id,) in session.execute(select(System.id)).all()]
        tables = {name: SQLModel.metadata.tables[name] for name in _Rows.TABLES}
        rng = random.Random(SEED + 1)
        rows = _numbered(incident_rows(count))
        audit = 0
        with store.engine.begin() as conn:
            while chunk := list(islice(rows, CHUNK)):
                out = _Rows()
                for incident in chunk:
                    incident["system_id"] = rng.choice(system_ids) if rng.random() < 0.7 else None
                    out.add(incident, rng)
                _bulk(conn, Incident.__table__, chunk)
                for name, table in tables.items():
                    _bulk(conn, table, getattr(out, name))
                audit += len(out.audit_events)
                tick(chunk[-1]["id"])
            if store.dialect == "postgresql":  # ids were given: move the sequence past them
                conn.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents"))
    finally:
        store.dispose()
    return HistoryStore(path, url, HISTORY_NOW, count, audit)


def _bulk(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` as the store's column types would write them, through the driver
    itself: SQLAlchemy's per-value type processing would triple the fill's time."""
    if not rows:
        return
    columns = list(rows[0])
    sqlite = conn.dialect.name == "sqlite"
    values = [tuple(_stored(row[c], sqlite) for c in columns) for row in rows]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if sqlite:
        cursor.executemany(insert_sql(table.name, columns), values)
        return
    with cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in values:
            copy.write_row(row)


def _stored(value: Any, sqlite: bool) -> Any:
    if type(value) is datetime and sqlite:  # every time here is UTC already: raw.sqlite_time's text
        return value.isoformat(sep=" ", timespec="microseconds")[:26]
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _numbered(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for number, row in enumerate(rows, start=1):
        yield row | {"id": number}


class _Rows:
    """The rows hanging off one chunk of incidents."""

    TABLES = ("incident_deadlines", "escalations", "outbox", "service_calls", "audit_events")

    def __init__(self) -> None:
        self.incident_deadlines: list[dict[str, Any]] = []
        self.escalations: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.service_calls: list[dict[str, Any]] = []
        self.audit_events: list[dict[str, Any]] = []

    def add(self, incident: dict[str, Any], rng: random.Random) -> None:
        for clock in _clocks(incident, rng):
            self.incident_deadlines.append(clock)
            met = clock["met_at"]
            if clock["waived_at"] is None and (met is None or met > clock["due_at"]) and clock["due_at"] < HISTORY_NOW:
                self.escalations.append(_escalation(clock))
        if incident["level"] in SEVERE:
            for n in range(2):
                self.outbox.append(_message(incident, n, rng))
        if rng.random() < 0.05:
            for n in range(rng.randrange(1, 3)):
                self.service_calls.append(_call(incident, n, rng))
        self.audit_events.extend(_audit(incident))


def _clock(
    incident: dict[str, Any], rule: str, start: datetime, after: timedelta, met: datetime | None
) -> dict[str, Any]:
    due = start + after
    closed = incident["closed_at"]
    waived = closed if met is None and closed is not None and closed <= due else None
    return {
        "incident_id": incident["id"],
        "rule": rule,
        "clock_key": rfc3339(start),
        "clock_start": start,
        "due_at": due,
        "warn_at": due - after * 0.2,
        "met_at": met,
        "next_level": None,
        "escalated_at": None,
        "superseded_at": None,
        "waived_at": waived,
        "waived_by": incident["owner"] if waived else None,
    }


def _clocks(incident: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    reported, resolved = incident["reported_at"], incident["resolved_at"]
    found = [
        _clock(incident, "classify", reported, timedelta(minutes=30), incident["classified_at"]),
        _clock(incident, "supervisor", reported, timedelta(hours=1), resolved),
    ]
    if incident["category"] in FAULTS:
        found.append(_clock(incident, "vendor", reported, timedelta(hours=1), incident["cause_located_at"]))
    classified = incident["classified_at"]
    if incident["level"] in SEVERE and classified is not None:
        for rule in ("leadership_report", "departments_notified"):
            told = classified + timedelta(minutes=rng.randrange(1, 40)) if rng.random() < 0.8 else None
            found.append(_clock(incident, rule, classified, timedelta(minutes=15), told))
    bound = Level(incident["level"]).outage_bound_hours if incident["level"] else None
    if bound is not None:
        clock = _clock(incident, "regrade", incident["outage_started_at"], timedelta(hours=bound), resolved)
        if rng.random() < 0.02:  # re-graded: this clock replaced (the successor is left out)
            clock["superseded_at"] = clock["clock_start"] + timedelta(minutes=rng.randrange(10, 3 * 60 * bound))
            clock["met_at"] = None
        found.append(clock)
    if resolved is not None:
        found.append(_clock(incident, "record", resolved, timedelta(days=1), incident["record_filed_at"]))
    if incident["acknowledged_at"] is not None:
        found.append(_clock(incident, "ack_lease", incident["acknowledged_at"], timedelta(minutes=30), classified))
    return found


def _escalation(clock: dict[str, Any]) -> dict[str, Any]:
    return {
        "incident_id": clock["incident_id"],
        "rule": clock["rule"],
        "clock_key": clock["clock_key"],
        "due_at": clock["due_at"],
        "escalated_at": clock["due_at"] + timedelta(seconds=30),
        "actor": "system:worker@bench",
        "targets": ["lead"],
    }


def _message(incident: dict[str, Any], n: int, rng: random.Random) -> dict[str, Any]:
    at = incident["reported_at"] + timedelta(minutes=1 + n)
    state = rng.choices([s for s, _ in MESSAGE_STATES], weights=[w for _, w in MESSAGE_STATES])[0]
    return {
        "created_at": at,
        "incident_id": incident["id"],
        "event": "classified",
        "recipient_kind": "contact",
        "recipient": "leadership" if n == 0 else "business_department",
        "channel": "sms",
        "payload": {"incident": incident["id"], "level": incident["level"]},
        "idempotency_key": f"bench:{incident['id']}:{n}",
        "state": state,
        "attempts": 1,
        "next_attempt_at": None,
        "sent_at": at if state == "sent" else None,
    }


def _call(incident: dict[str, Any], n: int, rng: random.Random) -> dict[str, Any]:
    at = incident["reported_at"] + timedelta(minutes=5 + 10 * n)
    callback = rng.random() < 0.5
    return {
        "incident_id": incident["id"],
        "at": at,
        "caller": f"branch {rng.randrange(1, 40)}",
        "contact": "x****",
        "need": "when is it back?",
        "callback": callback,
        "entered_at": at,
        "entered_by": "servers",
        "called_back_at": at + timedelta(minutes=30) if callback and rng.random() < 0.8 else None,
    }


def _audit(incident: dict[str, Any]) -> Iterator[dict[str, Any]]:
    chain = f"incident:{incident['id']}"
    for seq in range(1, AUDIT_PER_INCIDENT + 1):
        yield {
            "chain": chain,
            "incident_id": incident["id"],
            "seq": seq,
            "at": incident["reported_at"] + timedelta(minutes=seq),
            "actor": incident["reporter"],
            "action": "note" if seq > 1 else "open",
            "details": f'{{"seq":{seq},"text":"bench trail entry"}}',
            "prev_hash": f"{incident['id']:032x}{seq - 1:032x}",
            "hash": f"{incident['id']:032x}{seq:032x}",
        }
