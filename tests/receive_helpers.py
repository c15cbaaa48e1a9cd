"""Shared by the receiver's tests: a real receiver on 127.0.0.1 and what senders post."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from opsdeck.backend.alerts import sources
from opsdeck.backend.alerts.server import Receiver, ReceiveSettings
from opsdeck.backend.models import Alert, Incident, IncidentNote, Probe
from opsdeck.backend.store import Store


@dataclass
class Running:
    receiver: Receiver
    base: str
    quarantine: Path

    def post(
        self, path: str, body: Any, token: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return httpx.post(self.base + path, content=data, headers=sent, timeout=30)


@contextmanager
def running(store: Store, tmp_path: Path, **settings: Any) -> Iterator[Running]:
    quarantine = tmp_path / "quarantine"
    receiver = Receiver(store, ReceiveSettings(listen=("127.0.0.1", 0), quarantine=quarantine, **settings))
    stop = threading.Event()
    thread = receiver.start(stop)
    try:
        yield Running(receiver, "http://{}:{}".format(*receiver.address), quarantine)
    finally:
        stop.set()
        thread.join(timeout=10)


def add_source(store: Store, name: str, kind: str, **options: Any) -> str:
    return sources.add(store, "lead", name, kind, **options).token


def am_alert(
    name: str = "InstanceDown",
    instance: str = "db1:9100",
    *,
    status: str = "firing",
    severity: str = "critical",
    starts: str = "2026-11-28T02:59:00.123456789Z",
    fingerprint: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook writes it (version 4)."""
    return {
        "status": status,
        "labels": {"alertname": name, "instance": instance, "severity": severity, **labels},
        "annotations": {"summary": f"{instance} is down"},
        "startsAt": starts,
        "endsAt": "2026-11-28T03:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint or f"{abs(hash((name, instance))) % 16**16:016x}",
    }


def am_body(*alerts: dict[str, Any], group: str = "InstanceDown") -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "opsdeck",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
    }


def pd_event(
    token: str, action: str = "trigger", dedup_key: str | None = "db1-disk", severity: str = "critical", **payload: Any
) -> dict[str, Any]:
    """A PagerDuty Events API v2 body."""
    body: dict[str, Any] = {"routing_key": token, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {"summary": "disk 97% full on db1", "source": "db1", "severity": severity, **payload}
    return body


def incidents(store: Store) -> list[Incident]:
    with store.read() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)))  # type: ignore[arg-type]


def notes(store: Store, incident_id: int) -> list[str]:
    with store.read() as session:
        return [n.text for n in session.exec(select(IncidentNote).where(IncidentNote.incident_id == incident_id))]


def probe(store: Store, name: str) -> Probe:
    with store.read() as session:
        found = session.exec(select(Probe).where(Probe.name == name)).one()
        return found


def alerts(store: Store) -> list[Alert]:
    with store.read() as session:
        return list(session.exec(select(Alert).order_by(Alert.id)))  # type: ignore[arg-type]
