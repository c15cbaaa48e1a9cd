"""The receiver over real HTTP on 127.0.0.1, on SQLite and PostgreSQL: what a sender
gets back (codes, bodies), what the store holds afterwards (incidents, notes, probes,
counters), and that a retried payload counts once."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text

from opsdeck.backend import audit
from opsdeck.backend.alerts import server, sources
from opsdeck.backend.models import ProbeResult
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import FakeClock
from ..receive_helpers import add_source, alerts, am_alert, am_body, incidents, notes, pd_event, probe, running

pytestmark = pytest.mark.postgres


def test_an_alertmanager_alert_opens_one_incident_and_its_repeats_add_nothing(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path) as rx:
        first = rx.post("/sources/prom", am_body(am_alert()), token)
        again = rx.post("/sources/prom", am_body(am_alert()), token)  # a retry, or Alertmanager's repeat
    assert first.status_code == 200 and first.json()["alerts"] == 1
    assert again.status_code == 200 and again.json() == {
        "status": "success",
        "alerts": 0,
        "duplicates": 1,
        "opened": [],
    }
    [incident] = incidents(store)
    assert incident.title == "prom/InstanceDown CRITICAL: InstanceDown: db1:9100 is down"
    assert incident.reporter.startswith("system:receiver@")
    assert probe(store, "prom/InstanceDown").kind == "alert"


def test_later_alerts_of_the_group_attach_and_resolutions_add_recovered_notes(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    db1, db2 = am_alert(instance="db1:9100"), am_alert(instance="db2:9100")
    with running(store, tmp_path) as rx:
        rx.post("/sources/prom", am_body(db1), token)
        rx.post("/sources/prom", am_body(db1, db2), token)
        rx.post("/sources/prom", am_body(am_alert(instance="db1:9100", status="resolved"), db2), token)
        assert probe(store, "prom/InstanceDown").state == "CRITICAL"  # db2 still fires
        rx.post("/sources/prom", am_body(am_alert(instance="db2:9100", status="resolved")), token)
    [incident] = incidents(store)
    assert incident.status == "reported"  # a person resolves (no auto_resolve)
    assert notes(store, incident.id or 0) == [
        "recovered at the source: InstanceDown (1 alert(s) of the group still firing)",
        "recovered at the source: InstanceDown (no alert of the group is firing; consider resolving this incident)",
    ]
    assert probe(store, "prom/InstanceDown").state == "OK"
    assert [a.firing for a in alerts(store)] == [False, False]


def test_each_result_of_a_group_is_the_worst_state_firing_after_its_alert(store: Store, tmp_path: Path) -> None:
    """Within a POST and across POSTs, the group probe's result for each alert is the
    worst state of the group's alerts still firing once that alert is counted."""
    token = add_source(store, "prom", "alertmanager")
    db = {n: am_alert(instance=f"db{n}:9100") for n in (1, 2, 3)}
    warn = {n: am_alert(instance=f"db{n}:9100", severity="warning") for n in (1, 2, 3)}
    gone = {n: am_alert(instance=f"db{n}:9100", status="resolved") for n in (1, 2, 3)}
    later = "2026-11-28T04:00:00Z"  # db1 fires again: a new startsAt is news
    again, again_gone = am_alert(starts=later), am_alert(starts=later, status="resolved")
    with running(store, tmp_path) as rx:
        for body in (
            am_body(warn[2], db[1], warn[3]),  # WARNING, then CRITICAL, CRITICAL
            am_body(gone[1]),  # db2 and db3 warn on: WARNING
            am_body(gone[2], gone[3]),  # db3 still warns after db2 goes: WARNING, then OK
            am_body(again, again_gone),  # CRITICAL, then nothing left: OK
        ):
            assert rx.post("/sources/prom", body, token).status_code == 200
    group = probe(store, "prom/InstanceDown")
    with store.read() as session:
        states = session.execute(
            select(ProbeResult.state).where(ProbeResult.probe_id == group.id).order_by(ProbeResult.id)
        ).scalars()
        assert list(states) == ["WARNING", "CRITICAL", "CRITICAL", "WARNING", "WARNING", "OK", "CRITICAL", "OK"]
    assert group.state == "OK"


def test_a_mapping_sets_system_category_and_may_resolve_on_its_own(store: Store, tmp_path: Path) -> None:
    Service(store, "lead").import_records("systems", _systems(tmp_path))
    _policy(
        store,
        tmp_path,
        """
[[probes.route]]
name = "db"
matchers = ['severity="critical"', 'instance=~"db[0-9]+:.*"']
system = "core-db"
category = "server_fault"
level = "III"
owner_duty = "servers"
auto_resolve = true

[[probes.route]]
name = "web-classified"
matchers = ['alertname="HttpDown"']
category = "software_fault"
level = "IV"
classify = true
""",
    )
    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path) as rx:
        rx.post("/sources/prom", am_body(am_alert()), token)
        rx.post("/sources/prom", am_body(am_alert(name="HttpDown", instance="web1"), group="HttpDown"), token)
        rx.post("/sources/prom", am_body(am_alert(status="resolved")), token)
    db, web = incidents(store)
    assert (db.category, db.level, db.classified_at) == ("server_fault", None, None)  # a person classifies
    assert "suggested level III, owner duty servers" in db.description
    assert db.status == "resolved" and "every alert of the group resolved at source prom" in (db.resolution or "")
    assert (web.category, web.level, web.status) == ("software_fault", "IV", "acknowledged")
    assert web.classified_at is not None


def test_wrong_or_missing_token_gets_401_and_stores_nothing(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    add_source(store, "pd", "events")
    with running(store, tmp_path) as rx:
        missing = rx.post("/sources/prom", am_body(am_alert()))
        other = "1" if token.endswith("0") else "0"  # a token ending in 0 stayed right 1 time in 64
        wrong = rx.post("/sources/prom", am_body(am_alert()), token[:-1] + other)
        pd_wrong = rx.post("/v2/enqueue", pd_event(token))  # an alertmanager source's token is no routing key
        rx.receiver._flush()
    assert missing.status_code == wrong.status_code == pd_wrong.status_code == 401
    assert "Bearer TOKEN" in missing.json()["fix"]
    assert pd_wrong.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key"],
    }
    assert incidents(store) == [] and alerts(store) == []
    [_pd, prom] = sources.listing(store)
    assert prom["rejected"] == {"401": 2} and prom["accepted"] == 0


def test_basic_auth_with_the_token_as_password_is_accepted(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "grafana", "alertmanager")
    basic = base64.b64encode(f"opsdeck:{token}".encode()).decode()
    with running(store, tmp_path) as rx:
        reply = rx.post("/sources/grafana", am_body(am_alert()), headers={"Authorization": f"Basic {basic}"})
    assert reply.status_code == 200


def test_bad_requests_get_their_codes_and_a_fix(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path, max_bytes=10_000) as rx:
        import httpx

        assert rx.post("/nowhere", {}, token).status_code == 404
        got = httpx.get(rx.base + "/sources/prom", timeout=10)
        assert (got.status_code, got.headers["Allow"]) == (405, "POST")
        bad = rx.post("/sources/prom", b"{not json", token)
        assert bad.status_code == 400 and bad.json()["error"] == "bad_payload" and bad.json()["fix"]
        big = rx.post("/sources/prom", b" " * 10_001, token)
        assert big.status_code == 413 and "max_alerts" in big.json()["fix"]
        with httpx.Client() as client:  # chunked: no Content-Length
            chunked = client.post(
                rx.base + "/sources/prom", content=iter([b"{}"]), headers={"Authorization": f"Bearer {token}"}
            )
        assert chunked.status_code == 411
        assert httpx.get(rx.base + "/-/healthy", timeout=10).json() == {"status": "ok"}
    assert incidents(store) == []
    kept = sorted(p.name for p in rx.quarantine.iterdir())
    assert len(kept) == 2 and kept[1].endswith(".reason")  # the malformed body, with its reason


def test_too_many_requests_get_503_or_429_with_retry_after(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    key = add_source(store, "pd", "events")
    with running(store, tmp_path, rate=0.001, burst=1) as rx:
        assert rx.post("/sources/prom", am_body(am_alert()), token).status_code == 200
        slow = rx.post("/sources/prom", am_body(am_alert(instance="db2")), token)
        assert rx.post("/v2/enqueue", pd_event(key)).status_code == 202
        pd_slow = rx.post("/v2/enqueue", pd_event(key, dedup_key="other"))
    assert (slow.status_code, slow.headers["Retry-After"]) == (503, "5")
    assert (pd_slow.status_code, pd_slow.headers["Retry-After"]) == (429, "5")
    assert pd_slow.json()["status"] == "throttle event"


@pytest.fixture
def sqlite_store(sqlite_url: str, clock: FakeClock) -> Iterator[Store]:
    s = open_store(sqlite_url, clock=clock)
    yield s
    s.dispose()


def test_a_store_that_cannot_commit_gets_503_and_the_retry_stores_it_once(sqlite_store: Store, tmp_path: Path) -> None:
    """SQLite only: holding its write lock from another connection is how the store is made busy."""
    import sqlite3

    store = sqlite_store

    import opsdeck.backend.engines as engines

    token = add_source(store, "prom", "alertmanager")
    assert store.path is not None
    holder = sqlite3.connect(store.path, timeout=0)
    old = engines.BUSY_TIMEOUT_MS
    engines.BUSY_TIMEOUT_MS = 300
    try:
        with running(store, tmp_path) as rx:
            holder.execute("BEGIN IMMEDIATE")
            busy = rx.post("/sources/prom", am_body(am_alert()), token)
            holder.rollback()
            retried = rx.post("/sources/prom", am_body(am_alert()), token)
    finally:
        engines.BUSY_TIMEOUT_MS = old
        holder.close()
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "5")
    assert retried.status_code == 200 and retried.json()["alerts"] == 1
    assert len(incidents(store)) == 1


def test_pagerduty_events_answer_as_pagerduty_and_follow_its_dedup_rules(store: Store, tmp_path: Path) -> None:
    key = add_source(store, "pd", "events")
    with running(store, tmp_path) as rx:
        trigger = rx.post("/v2/enqueue", pd_event(key))
        retry = rx.post("/v2/enqueue", pd_event(key))
        worse = rx.post("/v2/enqueue", pd_event(key, severity="warning"))  # same dedup_key, other severity: news
        ack = rx.post("/v2/enqueue", pd_event(key, "acknowledge"))
        resolve = rx.post("/v2/enqueue", pd_event(key, "resolve"))
        resolve_again = rx.post("/v2/enqueue", pd_event(key, "resolve"))
        unknown = rx.post("/v2/enqueue", pd_event(key, "resolve", dedup_key="never-triggered"))
        again = rx.post("/v2/enqueue", pd_event(key))  # after the resolve: the next episode
        no_key = rx.post("/v2/enqueue", pd_event(key, dedup_key=None, component="mysql"))
        no_key_retry = rx.post("/v2/enqueue", pd_event(key, dedup_key=None, component="mysql"))
        invalid = rx.post("/v2/enqueue", {"routing_key": key, "event_action": "trigger", "payload": {"summary": "x"}})
    assert trigger.status_code == 202
    assert trigger.json() == {"status": "success", "message": "Event processed", "dedup_key": "db1-disk"}
    for reply in (retry, worse, ack, resolve, resolve_again, unknown, again):
        assert reply.status_code == 202
    assert no_key.json()["dedup_key"] == no_key_retry.json()["dedup_key"]
    assert invalid.status_code == 400
    assert invalid.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'payload.source' is missing or blank"],
    }
    first, mysql = incidents(store)  # the re-trigger attached to the open incident of its group
    assert "mysql" in mysql.title
    texts = notes(store, first.id or 0)
    assert texts[0].startswith("acknowledged at the source: disk 97% full on db1")
    assert texts[1].startswith("recovered at the source")
    with store.read() as session:
        results = session.execute(text("SELECT count(*) FROM probe_results")).scalar_one()
    assert results == 6  # trigger, warning, acknowledge, resolve, trigger again, one keyless trigger
    [db1, _mysql] = sorted(alerts(store), key=lambda a: a.key)
    assert (db1.episode, db1.firing) == (2, True)


def test_tokens_never_reach_the_store_the_log_or_the_quarantine(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = add_source(store, "pd", "events")
    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path) as rx:
        rx.post("/v2/enqueue", pd_event(key))
        rx.post("/v2/enqueue", {"routing_key": key, "event_action": "trigger", "payload": []})
        rx.post("/sources/prom", b"[", token)
        rx.post("/sources/prom", am_body(am_alert()), token)
    dumped = _dump(store)
    assert key not in dumped and token not in dumped
    assert sources.token_hash(key) in dumped  # only the hash
    kept = "".join(p.read_text() for p in rx.quarantine.iterdir())
    assert "<source pd>" in kept and key not in kept and token not in kept
    assert key not in caplog.text and token not in caplog.text


def test_rotating_a_token_stops_the_old_one_and_removing_a_source_stops_it(store: Store, tmp_path: Path) -> None:
    old = add_source(store, "prom", "alertmanager")
    new = sources.rotate(store, "lead", "prom").token
    with running(store, tmp_path) as rx:
        assert rx.post("/sources/prom", am_body(am_alert()), old).status_code == 401
        assert rx.post("/sources/prom", am_body(am_alert()), new).status_code == 200
        sources.remove(store, "lead", "prom")
        assert rx.post("/sources/prom", am_body(am_alert(instance="db9")), new).status_code == 404


def test_json_results_for_scripts_dedupe_by_id_or_idempotency_key(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "scripts", "json", critical_after=1)
    one = {"probe": "backup-db", "status": "fail", "output": "pg_dump exit 1", "id": "run-42"}
    with running(store, tmp_path) as rx:
        assert rx.post("/sources/scripts", one, token).json()["alerts"] == 1
        assert rx.post("/sources/scripts", one, token).json()["duplicates"] == 1
        batch = [{"host": "web1", "check": "disk", "status": 1}, {"probe": "ntp", "state": 0}]
        keyed = {"Idempotency-Key": "cron-2026-11-28T03:00"}
        assert rx.post("/sources/scripts", batch, token, keyed).json()["alerts"] == 2
        assert rx.post("/sources/scripts", batch, token, keyed).json()["duplicates"] == 2
        wrong = rx.post("/sources/scripts", {"probe": "x", "status": [1]}, token)
    assert wrong.status_code == 400 and "item 0" in wrong.json()["message"]
    assert probe(store, "scripts/backup-db").state == "CRITICAL"
    assert probe(store, "scripts/web1/disk").state == "WARNING"
    [incident] = incidents(store)
    assert incident.title.startswith("scripts/backup-db CRITICAL")


def test_alert_probes_never_go_stale_by_silence(store: Store, tmp_path: Path, clock: object) -> None:
    from opsdeck.backend import clocks, probe_stale

    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path) as rx:
        rx.post("/sources/prom", am_body(am_alert()), token)
    clock.advance(days=3)  # type: ignore[attr-defined]
    with store.write("system:worker@test") as uow:
        changed = probe_stale.sweep_stale(uow, clocks.load_policy(uow.session).probes)
    assert changed == []
    assert probe(store, "prom/InstanceDown").stale is False


def _dump(store: Store) -> str:
    tables = ("alert_sources", "alerts", "probe_results", "probes", "audit_events", "incidents", "changes")
    with store.read() as session:
        return json.dumps(
            [[str(v) for v in row] for t in tables for row in session.execute(text(f"SELECT * FROM {t}"))]
        )


def _systems(tmp_path: Path) -> Path:
    path = tmp_path / "systems.toml"
    path.write_text('[[system]]\nname = "core-db"\nduty_area = "servers"\n', "utf-8")
    return path


def _policy(store: Store, tmp_path: Path, body: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f"[probes]\n{body}", "utf-8")
    Service(store, "lead").apply_policy(path)


def test_the_receivers_metrics_count_requests_by_source_and_code_live(store: Store, tmp_path: Path) -> None:
    """GET /metrics, read by prometheus_client's parser: every alert request counted by
    source and code as it is answered; health checks and scrapes are not alert requests."""
    from prometheus_client.parser import text_string_to_metric_families

    token = add_source(store, "am", "alertmanager")
    with running(store, tmp_path) as r:
        assert r.post("/sources/am", am_body(am_alert()), token).status_code == 200
        assert r.post("/sources/am", am_body(am_alert()), "wrong").status_code == 401
        assert r.post("/sources/am", b"{not json", token).status_code == 400
        assert r.post("/sources/nobody", am_body(am_alert()), token).status_code == 404
        httpx.get(r.base + "/-/healthy", timeout=10)
        answer = httpx.get(r.base + "/metrics", timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        again = httpx.get(r.base + "/metrics", timeout=10).text
    requests = {
        (s.labels["source"], s.labels["code"]): s.value
        for family in text_string_to_metric_families(again)
        for s in family.samples
        if s.name == "opsdeck_receiver_requests_total"
    }
    assert requests == {("am", "200"): 1, ("am", "401"): 1, ("am", "400"): 1, ("-", "404"): 1}
    assert "# TYPE opsdeck_receiver_requests_total counter" in again
    assert "opsdeck_receiver_start_time_seconds " in again


def test_a_post_of_many_alerts_leaves_every_chain_whole(store: Store, tmp_path: Path) -> None:
    """A POST's write holds its audit events until its end (`defer_events`): each opened
    incident's chain starts with its open event, in the order opened, and every chain
    and head checks out."""
    token = add_source(store, "scripts", "json", critical_after=1)
    batch = [{"probe": f"backup-{index}", "status": "fail", "output": "exit 1"} for index in range(5)]
    sent: list[tuple[int, bool]] = []  # each INSERT of audit events: its rows, whether an executemany

    def count(_conn: object, _cursor: object, sql: str, params: Any, _context: object, many: bool) -> None:
        if sql.startswith("INSERT INTO audit_events"):
            sent.append((len(params) if many else 1, many))

    event.listen(store.engine, "before_cursor_execute", count)
    with running(store, tmp_path) as rx:
        reply = rx.post("/sources/scripts", batch, token)
        event.remove(store.engine, "before_cursor_execute", count)
        again = rx.post("/sources/scripts", [{"probe": "backup-0", "status": "ok"}], token)
    assert reply.status_code == 200 and len(reply.json()["opened"]) == 5 and again.status_code == 200
    if store.dialect == "sqlite":  # the POST's events in one executemany at its end (PostgreSQL: each as recorded)
        assert sent == [(5, True)]
    opened = sorted(incident.id or 0 for incident in incidents(store))
    with store.read() as session:
        _chains, _events, problems = audit.verify(session)
        firsts = session.execute(
            text(
                "SELECT incident_id, seq, action FROM audit_events WHERE seq = 1 AND incident_id IS NOT NULL ORDER BY id"
            )
        ).all()
    assert problems == []
    assert [tuple(row) for row in firsts] == [(incident_id, 1, "open") for incident_id in opened]


def test_answers_on_a_kept_alive_connection_are_not_held_back(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alertmanager keeps its connection to the receiver. The answer's headers and body
    are two writes: with Nagle's algorithm on, the body waited for the sender to
    acknowledge the headers, which a sender delays by up to 40 ms, on every POST. Every
    connection the receiver accepts sends at once (TCP_NODELAY), and 21 POSTs on one
    kept-alive connection are answered on it."""
    nodelay: list[int] = []
    setup = server._Handler.setup

    def recording(handler: server._Handler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server._Handler, "setup", recording)
    token = add_source(store, "prom", "alertmanager")
    body = json.dumps(am_body(am_alert())).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    with running(store, tmp_path) as rx, httpx.Client(timeout=30) as client:
        for _ in range(21):
            reply = client.post(rx.base + "/sources/prom", content=body, headers=headers)
            assert reply.status_code == 200 and reply.headers.get("connection", "").lower() != "close"
    assert nodelay and all(nodelay), nodelay
    assert len(nodelay) == 1  # one connection, kept alive for every POST
    assert len(incidents(store)) == 1


def _exchange(address: tuple[str, int], data: bytes) -> bytes:
    """`data` sent on one connection, then everything the receiver answers until it closes it."""
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(data)
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
    return got


def _request(path: str, body: bytes, token: str | None, *, last: bool = False) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    close = "Connection: close\r\n" if last else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: opsdeck\r\nContent-Type: application/json\r\n{auth}{close}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_an_answer_given_before_the_body_is_read_closes_the_connection(store: Store, tmp_path: Path) -> None:
    """A wrong token (or a rate limit) is answered before the body is read. On a kept-alive
    connection the next bytes are then that body: read as a request, the POST after it
    was lost, and a body could smuggle a request of its own. The receiver closes the
    connection instead, and the sender sends its next POST on a new one."""
    token = add_source(store, "prom", "alertmanager")
    smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    good = json.dumps(am_body(am_alert())).encode()
    with running(store, tmp_path, rate=1e9, burst=10**9) as rx:
        address = rx.receiver.address
        got = _exchange(address, _request("/sources/prom", smuggled, None) + _request("/sources/prom", good, token))
        assert got.count(b"HTTP/1.1 ") == 1 and got.startswith(b"HTTP/1.1 401") and b"Connection: close" in got
        assert incidents(store) == []  # the POST after it was never read: its sender sends it again
        again = _exchange(address, _request("/sources/prom", good, token, last=True))
        assert again.startswith(b"HTTP/1.1 200")
    with running(store, tmp_path, rate=0.001, burst=1) as rx:  # the rate limit answers early too
        body = json.dumps(am_body(am_alert(instance="db2"))).encode()
        assert rx.post("/sources/prom", body, token).status_code == 200
        slow = _exchange(rx.receiver.address, _request("/sources/prom", body, token) * 2)
        assert slow.count(b"HTTP/1.1 ") == 1 and slow.startswith(b"HTTP/1.1 503") and b"Connection: close" in slow
    assert len(incidents(store)) == 1


def test_garbage_on_the_wire_and_huge_numbers_get_json_errors_not_500(store: Store, tmp_path: Path) -> None:
    token = add_source(store, "prom", "alertmanager")
    with running(store, tmp_path) as rx:
        huge = rx.post("/sources/prom", b'{"version": "4", "alerts": [], "x": ' + b"9" * 5000 + b"}", token)
        garbage = _exchange(rx.receiver.address, b"\x16\x03\x01 not http at all\r\n\r\n")
    assert huge.status_code == 400 and huge.json()["error"] == "bad_payload"
    head, _, body = garbage.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"] == "bad_request" and json.loads(body)["fix"]


def test_pagerduty_answers_name_what_is_wrong_for_its_sender(store: Store, tmp_path: Path) -> None:
    key = add_source(store, "pd", "events")
    with running(store, tmp_path, max_bytes=2_000) as rx:
        listed = rx.post("/v2/enqueue", [pd_event(key)])
        big = rx.post("/v2/enqueue", {**pd_event(key), "padding": "x" * 3_000})
    assert listed.status_code == 400 and listed.json()["errors"] == ["the body must be one JSON object (an event)"]
    assert big.status_code == 413 and "custom_details" in big.json()["errors"][0] and "max_alerts" not in big.text
