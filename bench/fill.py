"""Stores filled fast for read benchmarks: realistic incidents, bulk-inserted.

This is setup, not a measured thing: rows go straight into `incidents` through
SQLAlchemy Core in one transaction (no audit chain, feed or outbox), so a 100k store
takes seconds instead of the ~10 minutes the service layer would need. The rows look
like two years of a center's history: mostly closed, a few open, some Chinese text.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from opsdeck.backend.domain import CLASSIFIED_CATEGORIES, Status
from opsdeck.backend.models import Incident
from opsdeck.backend.schema import open_store

from .harness import Tick

# Fixed, so every run lists the same bytes and runs stay comparable.
BASE_TIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
HISTORY = timedelta(days=730)
SEED = 20261128
CHUNK = 5000
LOGINS = ("lead", "web", "dns", "servers", "telecom")
TITLES = (
    "Disk latency alarms on db-cluster node {n}",
    "Core switch {n} lost an uplink",
    "Portal returns HTTP 500 on login",
    "门户网站首页访问缓慢 ({n})",
    "Backup job {n} failed overnight",
    "DNS resolver {n} not answering",
    "机房空调告警 {n} 号机柜",
    "Certificate expires in 7 days on host {n}",
)
SENTENCES = (
    "Reported by the monitoring wall.",
    "Users in the east building cannot reach the service.",
    "Vendor engineer is on the way.",
    "值班人员已电话通知系统负责人。",
    "Failover did not trigger automatically; switched by hand.",
)
STATUS_WEIGHTS = ((Status.CLOSED, 90), (Status.RESOLVED, 4), (Status.ACKNOWLEDGED, 4), (Status.REPORTED, 2))
LEVEL_WEIGHTS = (("IV", 60), ("III", 25), ("II", 12), ("I", 3))


def fill_store(path: Path, count: int, tick: Tick) -> None:
    """A store at `path` holding `count` incidents (schema and default policy as usual)."""
    store = open_store(f"sqlite:///{path}")
    try:
        with store.engine.begin() as conn:
            rows = incident_rows(count)
            done = 0
            while chunk := list(islice(rows, CHUNK)):
                conn.execute(insert(Incident.__table__), chunk)
                done += len(chunk)
                tick(done)
    finally:
        store.dispose()


def incident_rows(count: int) -> Iterator[dict[str, Any]]:
    """`count` incidents, oldest first, spread evenly over HISTORY up to BASE_TIME."""
    rng = random.Random(SEED)
    step = HISTORY / max(count, 1)
    for index in range(count):
        reported = BASE_TIME - HISTORY + step * index + timedelta(microseconds=rng.randrange(1_000_000))
        yield _incident(rng, reported)


def _incident(rng: random.Random, reported: datetime) -> dict[str, Any]:
    status = _weighted(rng, STATUS_WEIGHTS)
    reporter = rng.choice(LOGINS)
    classified = status is not Status.REPORTED
    row: dict[str, Any] = {
        "version": 1,
        "title": rng.choice(TITLES).format(n=rng.randrange(1, 40)),
        "description": " ".join(rng.sample(SENTENCES, rng.randrange(0, 3))),
        "system_id": None,
        "category": rng.choice(CLASSIFIED_CATEGORIES).value if classified else "unclassified",
        "level": _weighted(rng, LEVEL_WEIGHTS) if classified else None,
        "status": status.value,
        "owner": rng.choice(LOGINS) if classified else None,
        "reporter": reporter,
        "reported_at": reported,
        "outage_started_at": reported - timedelta(minutes=rng.randrange(0, 30)),
        "policy_version": 1,
        "updated_at": reported,
        "updated_by": reporter,
        **dict.fromkeys(
            ("acknowledged_at", "classified_at", "cause_located_at", "resolved_at", "record_filed_at", "closed_at")
        ),
        **dict.fromkeys(("resolution", "record", "close_kind", "close_reason", "duplicate_of", "reopened_from")),
        "next_due_at": None,
    }
    _advance(rng, row, status)
    return row


def _advance(rng: random.Random, row: dict[str, Any], status: Status) -> None:
    """Walk the incident through the plan's steps up to `status`, one version each."""
    at: datetime = row["reported_at"]
    steps: list[str] = []
    if status is Status.REPORTED:
        row["next_due_at"] = at + timedelta(minutes=15)
        return
    steps += ["acknowledged_at", "classified_at"]
    if status in (Status.RESOLVED, Status.CLOSED):
        steps += ["cause_located_at", "resolved_at"]
        row["resolution"] = "Restarted the service and confirmed with users."
    if status is Status.CLOSED:
        steps += ["record_filed_at", "closed_at"]
        row["record"] = row["resolution"]
        row["close_kind"] = "resolved"
    else:
        row["next_due_at"] = at + timedelta(hours=2)
    for step in steps:
        at += timedelta(minutes=rng.randrange(1, 90), seconds=rng.randrange(60))
        row[step] = at
    row["version"] = 1 + len(steps)
    row["updated_at"], row["updated_by"] = at, row["owner"]


def _weighted(rng: random.Random, weights: tuple[tuple[Any, int], ...]) -> Any:
    values, counts = zip(*weights, strict=True)
    return rng.choices(values, weights=counts)[0]
