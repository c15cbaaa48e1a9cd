"""Notifications against a real HTTP server on 127.0.0.1 that answers, fails, hangs and
recovers: every message arrives at least once, never twice under different keys, in
order per incident; secrets never shown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from opsdeck.backend import queries
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.notify import Sender, SenderSettings
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store, worker_actor

from ..conftest import FakeClock

# Also with database roles on, each write as its actor's role (tests/pg_roles_mode.py).
pytestmark = pytest.mark.pg_roles

WORKER = "system:worker@test"


class Receiver(BaseHTTPRequestHandler):
    """Records what it receives; `mode` decides how it answers."""

    mode: ClassVar[str] = "ok"  # ok | fail | hang
    received: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Receiver.mode == "hang":  # a hung endpoint: it never answers, never processes
            time.sleep(1.5)
            return
        status = 500 if Receiver.mode == "fail" else 200
        if status == 200:
            with Receiver.lock:
                Receiver.received.append({**body, "header_key": self.headers["Idempotency-Key"]})
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except BrokenPipeError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.mode, Receiver.received = "ok", []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook/s3cr3t-token?sig=abc"
    server.shutdown()


def configure(store: Store, url: str, tmp_path: Path) -> None:
    """One webhook channel; every demo member and contact reachable on it."""
    path = tmp_path / "channels.toml"
    path.write_text(f'[[channel]]\nname = "hook"\nkind = "webhook"\nurl = "{url}"\n')
    Service(store, "lead").apply_channels(path)
    roster = tmp_path / "roster.toml"
    roster.write_text(
        "".join(
            f'[[member]]\nlogin = "{m}"\nname = "{m}"\npermission = "{p}"\nduties = [{d}]\non_duty = {o}\n'
            f"channels = {{ hook = true }}\n"
            for m, p, d, o in (
                ("lead", "lead", '"command"', "true"),
                ("servers", "operator", '"servers"', "true"),
                ("dns", "operator", '"dns"', "true"),
            )
        )
    )
    Service(store, "lead").import_records("roster", roster)


def sender(store: Store, **settings: Any) -> Sender:
    base = {"timeout": 0.5, "lease": timedelta(seconds=5), "base_backoff": timedelta(seconds=1)}
    return Sender(store, WORKER, SenderSettings(**{**base, **settings}))


def outbox(store: Store, state: str | None = None) -> list[dict[str, Any]]:
    with store.read() as session:
        return queries.outbox(session, state)


def test_messages_are_delivered_with_their_idempotency_key(seeded: Store, receiver: str, tmp_path: Path) -> None:
    configure(seeded, receiver, tmp_path)
    incident = Service(seeded, "servers").open("DB down", category="server_fault", level="III")
    counts = sender(seeded).run_once()
    members = [m for m in outbox(seeded) if m["recipient_kind"] == "member"]
    assert counts.sent == len(members) > 0
    assert all(m["state"] == "sent" for m in members)
    got = Receiver.received
    assert {m["event"] for m in got} == {"new_incident", "level_iii"}
    assert all(m["idempotency_key"] == m["header_key"] for m in got)
    assert all(m["incident"]["id"] == incident.id for m in got)
    assert sorted(m["recipient"]["id"] for m in got if m["event"] == "level_iii") == ["lead"]


def test_a_recipient_without_a_channel_is_failed_and_nothing_is_lost(
    seeded: Store, receiver: str, tmp_path: Path
) -> None:
    configure(seeded, receiver, tmp_path)
    Service(seeded, "servers").open("DB down", category="server_fault", level="III")
    sender(seeded).run_once()
    failed = outbox(seeded, "failed")
    assert failed and all("no channel for contact:" in m["last_error"] for m in failed)  # contacts have none


def test_an_endpoint_down_then_up_gets_every_message_in_order(
    seeded: Store, receiver: str, tmp_path: Path, clock: FakeClock
) -> None:
    configure(seeded, receiver, tmp_path)
    Receiver.mode = "fail"
    ids = []
    for n in range(3):
        ids.append(Service(seeded, "servers").open(f"incident {n}").id)
        clock.advance(seconds=1)
    send = sender(seeded)
    send.run_once()
    assert outbox(seeded, "sent") == [] and len(outbox(seeded, "failed")) == 9
    assert all("answered HTTP 500" in m["last_error"] for m in outbox(seeded, "failed"))
    Receiver.mode = "hang"
    clock.advance(minutes=5)
    send.run_once()
    assert all("no answer" in m["last_error"] for m in outbox(seeded, "failed"))
    Receiver.mode = "ok"
    for _ in range(5):
        clock.advance(minutes=20)
        send.run_once()
    assert len(outbox(seeded, "sent")) == 9
    keys = [m["idempotency_key"] for m in Receiver.received]
    assert len(set(keys)) == 9 and len(keys) == 9


def test_messages_of_one_incident_go_out_in_order(
    seeded: Store, receiver: str, tmp_path: Path, clock: FakeClock
) -> None:
    configure(seeded, receiver, tmp_path)
    incident = Service(seeded, "servers").open("x")
    Service(seeded, "servers").classify(incident.id, category="other", level="II")
    send = sender(seeded, batch=1)
    while send.run_once().sent:
        pass
    events = [m["event"] for m in Receiver.received]
    assert events.index("level_iii") > max(i for i, e in enumerate(events) if e == "new_incident")


def test_old_failures_become_dead_and_retry_brings_them_back(
    seeded: Store, receiver: str, tmp_path: Path, clock: FakeClock
) -> None:
    configure(seeded, receiver, tmp_path)
    Receiver.mode = "fail"
    Service(seeded, "servers").open("x")
    send = sender(seeded, dead_after=timedelta(hours=1))
    send.run_once()
    clock.advance(hours=2)
    send.run_once()
    dead = outbox(seeded, "dead")
    assert len(dead) == 3
    Receiver.mode = "ok"
    Service(seeded, "servers").retry_message(dead[0]["id"])
    send.run_once()
    assert len(outbox(seeded, "sent")) == 1


def test_secrets_never_show(seeded: Store, receiver: str, tmp_path: Path, cli: Callable[..., Any]) -> None:  # type: ignore[no-untyped-def]
    configure(seeded, receiver, tmp_path)
    Receiver.mode = "fail"
    Service(seeded, "servers").open("x")
    sender(seeded).run_once()
    with seeded.read() as session:
        shown = json.dumps(queries.outbox(session)) + json.dumps(queries.audit_trail(session, None))
    assert "s3cr3t-token" not in shown and "sig=abc" not in shown
    from opsdeck.backend import notify_plan

    with seeded.read() as session:
        [channel] = notify_plan.load(session).channels
    assert "s3cr3t" not in channel.shown and channel.shown.startswith("http://127.0.0.1:")


def test_a_bad_channels_file_is_refused_without_echoing_its_url(seeded: Store, tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_text('[[channel]]\nname = "x"\nkind = "webhook"\nurl = "ftp://user:pw@host/secret"\n')
    with pytest.raises(InvalidInput) as error:
        Service(seeded, "lead").apply_channels(path)
    assert "channel[0].url" in str(error.value) and "pw" not in str(error.value)


def test_two_senders_racing_never_send_a_message_twice(seeded: Store, receiver: str, tmp_path: Path) -> None:
    configure(seeded, receiver, tmp_path)
    for n in range(15):
        Service(seeded, "servers").open(f"incident {n}")
    senders = [sender(seeded), sender(seeded)]

    def drain(s: Sender) -> None:
        for _ in range(40):
            s.run_once()

    threads = [threading.Thread(target=drain, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [m["idempotency_key"] for m in Receiver.received]
    assert len(keys) == len(set(keys)) == 45


def test_new_store_routes_follow_the_plan(seeded: Store) -> None:
    Service(seeded, "servers").open("x", category="network_fault", level="II")
    with seeded.read() as session:
        rows = queries.outbox(session)
    assert {(r["event"], r["recipient"]) for r in rows} >= {
        ("new_incident", "dns"),
        ("level_iii", "lead"),
        ("level_iii", "director"),
        ("level_iii", "dept-benefits"),
    }


def test_apprise_delivers_through_its_json_plugin(seeded: Store, receiver: str, tmp_path: Path) -> None:
    """apprise (the optional extra) with its json:// URL, against the same local server."""
    apprise_url = receiver.replace("http://", "json://").split("?")[0]
    path = tmp_path / "channels.toml"
    path.write_text(f'[[channel]]\nname = "hook"\nkind = "apprise"\nurl = "{apprise_url}"\n')
    configure(seeded, receiver, tmp_path)
    Service(seeded, "lead").apply_channels(path)
    Service(seeded, "servers").open("via apprise")
    assert sender(seeded).run_once().sent == 3
    assert len(Receiver.received) == 3 and "new_incident" in json.dumps(Receiver.received[0])


@pytest.mark.slow
def test_a_sender_killed_mid_delivery_loses_nothing(
    seeded: Store, store_url: str, url_as: Callable[[str], str], receiver: str, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from opsdeck.backend.schema import open_store
    from opsdeck.backend.timeutil import utcnow

    configure(seeded, receiver, tmp_path)
    now_store = open_store(store_url)  # the worker runs on the real clock: so do these incidents
    for n in range(4):
        Service(now_store, "servers").open(f"incident {n}")
    now_store.dispose()
    Receiver.mode = "hang"
    opsdeck = str(Path(sys.executable).with_name("opsdeck"))
    worker = subprocess.Popen(
        [opsdeck, "--db", url_as(worker_actor()), "worker", "--duties", "notify"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OPSDECK_CONFIG": "/nonexistent"},
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not outbox(seeded, "sending"):
            time.sleep(0.1)
        assert outbox(seeded, "sending"), "the worker never started sending"
        worker.send_signal(signal.SIGKILL)  # mid-delivery: a message leased, its POST hanging
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    Receiver.mode = "ok"
    later = open_store(store_url, clock=lambda: utcnow() + timedelta(minutes=5))  # the lease has expired
    for _ in range(3):
        Sender(later, WORKER, SenderSettings(timeout=1)).run_once()
    later.dispose()
    keys = {m["idempotency_key"] for m in Receiver.received}
    assert keys == {m["key"] for m in outbox(seeded) if m["recipient_kind"] == "member"}
    assert len(keys) == 12  # 4 incidents x 3 operators on duty: none lost


def test_the_demo_delivers_to_its_own_pager(seeded: Store, tmp_path: Path) -> None:
    """`opsdeck --demo`: the demo roster and contacts name the demo pager, a receiver on
    127.0.0.1 the demo starts, so its escalations show as sent, not failed."""
    import threading

    from opsdeck.backend.demo_pager import DemoPager

    pager = DemoPager()
    stop = threading.Event()
    serving = threading.Thread(target=pager.run, args=(stop,), daemon=True)
    serving.start()
    try:
        Service(seeded, "lead").apply_channels(pager.channels_file(tmp_path))
        Service(seeded, "servers").open("DB down", category="server_fault", level="II")
        counts = sender(seeded).run_once()
        assert counts.failed == counts.dead == 0, counts.errors
        assert counts.sent == pager.count > 0
        assert {m["state"] for m in outbox(seeded)} == {"sent"}
        assert {b["event"] for b in pager.received} >= {"new_incident", "level_iii"}
        assert any(b["recipient"]["kind"] == "contact" for b in pager.received)  # leadership, departments
    finally:
        stop.set()
        serving.join(timeout=5)


def test_delivery_outcomes_are_counters_that_never_go_down(
    seeded: Store, receiver: str, tmp_path: Path, clock: FakeClock
) -> None:
    """failed -> dead -> retried -> sent: the outbox's states come and go, the counters
    of attempts by outcome (opsdeck_notification_deliveries_total) only grow."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from opsdeck.backend.metrics import registry_for

    def deliveries() -> dict[str, float]:
        text = generate_latest(registry_for(seeded, clock())).decode()
        return {
            s.labels["outcome"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "opsdeck_notification_deliveries_total"
        }

    configure(seeded, receiver, tmp_path)
    Receiver.mode = "fail"
    Service(seeded, "servers").open("x")
    send = sender(seeded, dead_after=timedelta(hours=1))
    send.run_once()
    assert deliveries() == {"failed": 3}
    clock.advance(hours=2)
    send.run_once()
    assert deliveries() == {"failed": 3, "dead": 3}
    Receiver.mode = "ok"
    Service(seeded, "servers").retry_message(outbox(seeded, "dead")[0]["id"])
    send.run_once()
    assert deliveries() == {"failed": 3, "dead": 3, "sent": 1}  # dead in the outbox now: 2; counted: 3
    assert len(outbox(seeded, "dead")) == 2
