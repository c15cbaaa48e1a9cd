"""The receiver: an HTTP server Alertmanager, Grafana, PagerDuty-style senders, Zabbix,
Icinga and scripts post alerts to (`opsdeck receive`, or the worker with `[receive]
listen`).

Built on the standard library's `ThreadingHTTPServer`: it listens on the loopback by
default and TLS, client certificates and exposure beyond the host are a reverse
proxy's job (docs/probes.md), so what it needs is small (a body limit, a read timeout, a thread
per connection) and a framework would add a dependency for nothing the proxy does not
already do.

Durable before acknowledged: a 2xx is sent only after the transaction holding the
alerts committed (on SQLite with `synchronous=FULL`, so the commit is on disk, not in
the page cache). A crash before the commit leaves the sender without a 2xx, and it
retries; the result keys (`intake`) make the retry count once.

Codes: 200 (alertmanager, json) or 202 (events) stored; 400 malformed; 401 wrong or
missing token; 404 unknown path; 405 wrong method; 411 no Content-Length; 413 over
the body limit; 503 with Retry-After (alertmanager, json: Alertmanager retries only
5xx) or 429 with Retry-After (events, as PagerDuty answers) when a source sends too
fast or the store cannot commit just now.

GET /metrics answers the receiver's own live counters in Prometheus text format
(requests by source and code since it started); the store's figures are the worker's
/metrics and `opsdeck metrics` (backend/metrics.py).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from .. import clocks
from ..errors import OpsdeckError
from ..models import AlertSource
from ..sanitize import clean
from ..store import Store, receiver_actor
from . import formats, intake
from .sources import EVENTS_PATH, Counters, token_hash, token_matches

log = logging.getLogger("opsdeck.receive")
DEFAULT_LISTEN = ("127.0.0.1", 9181)  # not 9093/9094: Alertmanager's
RETRY_AFTER_S = 5
QUARANTINE_CAP = 200  # bad bodies kept per source per run: a flood does not fill the disk


@dataclass(frozen=True)
class ReceiveSettings:
    listen: tuple[str, int] = DEFAULT_LISTEN
    max_bytes: int = 1 << 20
    rate: float = 50.0  # requests per second per source, sustained
    burst: int = 200
    quarantine: Path | None = None  # where bad bodies from known sources are kept, with a .reason
    read_timeout_s: float = 30.0


@dataclass
class Reply:
    code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    summary: str = ""
    close: bool = False
    raw: bytes | None = None  # a body that is not JSON (/metrics), sent as it is
    content_type: str = "application/json"
    counted: bool = True  # an alert request (not a health check or a scrape)


class _Limiter:
    """A token bucket per source."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[name] = (tokens, now)
                return False
            self._buckets[name] = (tokens - 1, now)
            return True


class Dispatch:
    """One request's answer, away from the socket (tests and the bench call it too)."""

    def __init__(self, store: Store, settings: ReceiveSettings, counters: Counters, actor: str) -> None:
        self.store, self.settings, self.counters, self.actor = store, settings, counters, actor
        self.limiter = _Limiter(settings.rate, settings.burst)
        self._kept: dict[str, int] = {}
        self._kept_lock = threading.Lock()

    # -- routing -------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, read: Callable[[int], bytes]) -> Reply:
        path = path.split("?", 1)[0]
        if path in ("/-/healthy", "/-/ready"):
            reply = Reply(200, {"status": "ok"}) if method in ("GET", "HEAD") else _allow("GET")
            reply.counted = False
            return reply
        if path == "/metrics":
            reply = self._metrics() if method in ("GET", "HEAD") else _allow("GET")
            reply.counted = False
            return reply
        if path == EVENTS_PATH:
            return self._events(method, headers, read)
        if path.startswith("/sources/") and path.count("/") == 2:
            return self._source_post(method, path.removeprefix("/sources/"), headers, read)
        return _error(404, "not_found", "no such path", "post to the URL path `opsdeck sources add` printed")

    def _metrics(self) -> Reply:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        from prometheus_client.registry import CollectorRegistry

        requests = CounterMetricFamily(
            "opsdeck_receiver_requests",
            "Alert requests answered since the receiver started, by source and HTTP code.",
            labels=["source", "code"],
        )
        for (source, code), n in sorted(self.counters.snapshot().items()):
            requests.add_metric([source, str(code)], n)
        started = GaugeMetricFamily(
            "opsdeck_receiver_start_time_seconds", "When the receiver started, in seconds since the Unix epoch."
        )
        started.add_metric([], self.counters.started)

        class _Live:
            def collect(self) -> Any:
                return [requests, started]

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Live())
        return Reply(200, {}, raw=generate_latest(registry), content_type=CONTENT_TYPE_LATEST, counted=False)

    # -- alertmanager and json ------------------------------------------------------------

    def _source_post(self, method: str, name: str, headers: Any, read: Callable[[int], bytes]) -> Reply:
        source = self._source(name=name)
        if source is None or source.kind == "events":
            fix = "events sources post to /v2/enqueue" if source else "see `opsdeck sources list` for the paths"
            return _error(404, "not_found", "no such source", fix)
        if method != "POST":
            return _named(_allow("POST"), name)
        if not token_matches(_bearer(headers.get("Authorization", "")), source.token_hash):
            reply = _error(
                401,
                "unauthorized",
                "wrong or missing token",
                "send Authorization: Bearer TOKEN with the source's token (opsdeck sources rotate NAME for a new one)",
            )
            reply.headers["WWW-Authenticate"] = 'Bearer realm="opsdeck"'
            return _named(reply, name)
        if not self.limiter.allow(name):
            return _named(self._busy(503, "too many requests from this source"), name)
        body = self._body(headers, read)
        if isinstance(body, Reply):
            return _named(body, name)
        try:
            document = formats.decode(body)
            if source.kind == "alertmanager":
                events = formats.alertmanager(document, self._grouping(name))
            else:
                events = formats.json_results(document)
        except formats.BadPayload as error:
            self._quarantine(name, body, str(error))
            fix = (
                "send Alertmanager's webhook body (webhook_configs) unchanged"
                if source.kind == "alertmanager"
                else "send one result object or an array: probe, status, output, time, id"
            )
            return _named(_error(400, "bad_payload", str(error), fix), name)
        key = headers.get("Idempotency-Key")
        taken = self._commit(name, events, idempotency=key[:200] if key else None)
        if isinstance(taken, Reply):
            return _named(taken, name)
        reply = Reply(
            200,
            {"status": "success", "alerts": taken.alerts, "duplicates": taken.duplicates, "opened": taken.opened},
        )
        reply.summary = f"{taken.alerts} stored, {taken.duplicates} duplicates"
        return _named(reply, name)

    # -- PagerDuty Events API v2 ------------------------------------------------------------

    def _events(self, method: str, headers: Any, read: Callable[[int], bytes]) -> Reply:
        if method != "POST":
            return _pd(405, "invalid request", "Method not allowed", ["only POST is accepted"], {"Allow": "POST"})
        body = self._body(headers, read, pagerduty=True)
        if isinstance(body, Reply):
            return body
        try:
            document = formats.decode(body)
        except formats.BadPayload as error:
            return _pd(400, "invalid event", "Event object is invalid", [str(error)])
        if not isinstance(document, dict):
            return _pd(400, "invalid event", "Event object is invalid", ["the body must be one JSON object (an event)"])
        routing_key = document.get("routing_key")
        source = self._source(token=routing_key) if isinstance(routing_key, str) and routing_key else None
        if source is None:
            return _pd(401, "invalid event", "Event object is invalid", ["Invalid routing key"])
        name = source.name
        if not self.limiter.allow(name):
            return _named(self._busy(429, "too many requests from this source", pagerduty=True), name)
        try:
            parsed = formats.events(document, self._grouping(name))
        except formats.BadPayload as error:
            self._quarantine(name, _scrubbed(document, name), str(error))
            return _named(_pd(400, "invalid event", "Event object is invalid", [str(error)]), name)
        taken = self._commit(name, [parsed.event], pagerduty=True)
        if isinstance(taken, Reply):
            return _named(taken, name)
        reply = Reply(202, {"status": "success", "message": "Event processed", "dedup_key": parsed.event.key})
        reply.summary = (
            f"{parsed.event.action} {'duplicate' if taken.duplicates else 'dropped' if taken.dropped else 'stored'}"
        )
        return _named(reply, name)

    # -- shared --------------------------------------------------------------------------

    def _source(self, *, name: str | None = None, token: str | None = None) -> AlertSource | None:
        query = select(AlertSource)
        if name is not None:
            query = query.where(col(AlertSource.name) == name)
        else:
            query = query.where(
                col(AlertSource.token_hash) == token_hash(token or ""), col(AlertSource.kind) == "events"
            )
        with self.store.read() as session:
            return session.execute(query).scalar_one_or_none()

    def _grouping(self, name: str) -> Callable[[dict[str, str]], tuple[tuple[str, ...], tuple[str, ...]] | None]:
        with self.store.read() as session:
            policy = clocks.load_policy(session).probes

        def group_by(labels: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
            route = policy.route_for(name, labels)
            if not route.group_by:
                return None
            return route.group_by, tuple(labels.get(label, "") for label in route.group_by)

        return group_by

    def _body(self, headers: Any, read: Callable[[int], bytes], *, pagerduty: bool = False) -> bytes | Reply:
        length_text = headers.get("Content-Length")
        if headers.get("Transfer-Encoding") or length_text is None or not length_text.strip().isdigit():
            what, fix = "no Content-Length", "send the body with a Content-Length header (not chunked)"
            reply = _pd(411, "invalid event", what, [fix]) if pagerduty else _error(411, "length_required", what, fix)
            reply.close = True
            return reply
        length = int(length_text)
        if length > self.settings.max_bytes:
            what = f"the body is {length} bytes, over the limit of {self.settings.max_bytes}"
            fix = (
                "send a smaller event: cut its custom_details"
                if pagerduty
                else "send fewer alerts per request (Alertmanager: max_alerts in webhook_configs)"
            )
            reply = _pd(413, "invalid event", what, [fix]) if pagerduty else _error(413, "too_large", what, fix)
            reply.close = True
            return reply
        return read(length)

    def _commit(
        self, name: str, events: list[formats.AlertEvent], *, idempotency: str | None = None, pagerduty: bool = False
    ) -> intake.Taken | Reply:
        for attempt in (1, 2):
            try:
                with self.store.write(self.actor) as uow:
                    uow.defer_events()  # a POST's alerts: nothing reads an event back before the commit
                    source = uow.session.execute(
                        select(AlertSource).where(col(AlertSource.name) == name)
                    ).scalar_one_or_none()
                    if source is None:  # removed between the check and now
                        return _error(404, "not_found", "no such source", "see `opsdeck sources list`")
                    policy = clocks.load_policy(uow.session).probes
                    return intake.take(uow, source, events, policy, idempotency_key=idempotency)
            except IntegrityError:
                # Another receiver stored the same news at the same moment: the second
                # attempt sees it and counts it as a duplicate.
                if attempt == 2:
                    log.warning("%s: conflicting writes twice; the sender will retry", name)
            except OpsdeckError as error:
                log.warning("%s: store could not commit: %s", name, error)
                break
        return self._busy(429 if pagerduty else 503, "the store cannot commit just now", pagerduty=pagerduty)

    @staticmethod
    def _busy(code: int, what: str, *, pagerduty: bool = False) -> Reply:
        fix = f"retry after {RETRY_AFTER_S} s"
        if pagerduty:
            reply = _pd(code, "throttle event", what, [fix])
        else:
            reply = _error(code, "busy", what, fix)
        reply.headers["Retry-After"] = str(RETRY_AFTER_S)
        return reply

    def _quarantine(self, name: str, body: bytes, reason: str) -> None:
        """Keep a refused body from a known source to look at later, as the spool keeps
        bad files: NAME.json and NAME.json.reason, never through an existing name."""
        folder = self.settings.quarantine
        if folder is None:
            return
        with self._kept_lock:
            kept = self._kept.get(name, 0)
            if kept >= QUARANTINE_CAP:
                return
            self._kept[name] = kept + 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        base = f"receive-{name}-{stamp}-{os.getpid()}-{threading.get_ident()}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for file_name, data in ((base, body[: self.settings.max_bytes]), (base + ".reason", reason.encode())):
                fd = os.open(folder / file_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data + (b"\n" if file_name.endswith(".reason") else b""))
        except OSError as error:
            log.warning("%s: could not keep the refused body: %s", name, error.strerror)


def _bearer(header: str) -> str:
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":  # senders that only do basic auth: the password is the token
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
    return ""


def _scrubbed(document: Any, name: str) -> bytes:
    """The body as stored or quarantined: the routing key (a secret) replaced by the source's name."""
    if isinstance(document, dict) and "routing_key" in document:
        document = {**document, "routing_key": f"<source {name}>"}
    return json.dumps(document, ensure_ascii=False).encode()


def _error(code: int, error: str, what: str, fix: str) -> Reply:
    return Reply(code, {"status": "error", "error": error, "message": what, "fix": fix}, summary=what)


def _pd(code: int, status: str, message: str, errors: list[str], headers: dict[str, str] | None = None) -> Reply:
    return Reply(code, {"status": status, "message": message, "errors": errors}, dict(headers or {}), summary=errors[0])


def _allow(methods: str) -> Reply:
    reply = _error(405, "method_not_allowed", "wrong method", f"use {methods}")
    reply.headers["Allow"] = methods
    return reply


def _named(reply: Reply, name: str) -> Reply:
    reply.source = name
    return reply


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Alertmanager reuses its connections
    # TCP_NODELAY: the headers (flushed by end_headers) and the body go out as two writes.
    # With Nagle's algorithm on, a kept-alive connection held the body back until the
    # sender acknowledged the headers, which a sender delays by up to 40 ms (delayed ACK):
    # every POST waited ~40 ms after its commit (bench receive.alerts_rate).
    disable_nagle_algorithm = True
    server_version = "opsdeck-receiver"
    sys_version = ""
    dispatch: Dispatch

    def setup(self) -> None:
        self.connection = self.request
        self.request.settimeout(self.dispatch.settings.read_timeout_s)  # a sender that stalls mid-body is cut off
        super().setup()

    def _serve(self) -> None:
        taken = [0]

        def read(size: int) -> bytes:
            data = self.rfile.read(size)
            taken[0] += len(data)
            return data

        try:
            reply = self.dispatch.handle(self.command, self.path, self.headers, read)
        except Exception:  # a bug: the sender retries, the log says what
            log.exception("receiver error on %s", clean(self.path)[:200])
            reply = _error(500, "internal", "internal error", "retry; the receiver's log has the details")
        if self._body_unread(taken[0]):
            # Answered before its body was read (a wrong token, a rate limit): the next
            # bytes on this connection are that body, not a request. Close it.
            reply.close = True
        if reply.counted:
            self.dispatch.counters.count(reply.source, reply.code)
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.code)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        level = logging.INFO if reply.code < 400 else logging.WARNING
        log.log(
            level,
            "%s %s %s -> %d %s",
            reply.source or "-",
            self.command,
            clean(self.path)[:120],
            reply.code,
            clean(reply.summary)[:200],
        )

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def _body_unread(self, taken: int) -> bool:
        if self.headers.get("Transfer-Encoding"):
            return True  # never read (411)
        length = (self.headers.get("Content-Length") or "0").strip()
        return not length.isdigit() or taken < int(length)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request line or headers the server cannot parse: the JSON error every other
        answer uses, and the connection closed (what follows cannot be trusted)."""
        what = clean(message or self.responses.get(code, ("error",))[0])[:200]
        reply = _error(
            code, "bad_request", what, "send an HTTP/1.1 POST with a JSON body, as the sender's webhook does"
        )
        data = json.dumps(reply.body).encode()
        self.close_connection = True
        self.request_version = self.protocol_version  # unparsed: the status line and headers still go out
        try:
            self.send_response(code)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(data)
        except OSError:
            return
        log.warning("- %s -> %d %s", clean(getattr(self, "requestline", ""))[:120], code, what)

    def log_message(self, format: str, *args: Any) -> None:  # the request line is logged by _serve, sanitized
        return


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that hangs up mid-answer is one log line, not a traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.info("%s: connection ended: %s", client_address[0], error.__class__.__name__)
            return
        log.exception("receiver error from %s", client_address[0])


class Receiver:
    """The server and its counters' flush; `serve()` in the foreground or `start()` a thread."""

    def __init__(
        self, store: Store, settings: ReceiveSettings, *, actor: str | None = None, counters: Counters | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor or receiver_actor()
        self.counters = counters or Counters()
        durable_commits(store)
        self.dispatch = Dispatch(store, settings, self.counters, self.actor)
        handler = type("Handler", (_Handler,), {"dispatch": self.dispatch})
        self.server = _Server(settings.listen, handler)
        self.server.daemon_threads = True
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def serve(self, stop: threading.Event | None = None) -> None:
        """Serve until `stop` is set (or `shutdown()`); flush the counters every 2 s."""
        flusher = threading.Thread(target=self._flush_loop, name="opsdeck-receive-counters", daemon=True)
        flusher.start()
        if stop is not None:
            threading.Thread(target=self._stop_on, args=(stop,), daemon=True).start()
        log.info("receiving alerts on http://%s:%d", *self.address)
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._stop.set()
            flusher.join(timeout=5)
            self.server.server_close()

    def start(self, stop: threading.Event | None = None) -> threading.Thread:
        thread = threading.Thread(target=self.serve, args=(stop,), name="opsdeck-receive", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _stop_on(self, stop: threading.Event) -> None:
        stop.wait()
        self.shutdown()

    def shutdown(self) -> None:
        self._stop.set()
        self.server.shutdown()

    def _flush_loop(self) -> None:
        while not self._stop.wait(2.0):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        try:
            self.counters.flush(self.store, self.actor)
        except Exception as error:  # the store is away: the counts wait for the next flush
            log.warning("counters not saved yet: %s", error)


def durable_commits(store: Store) -> None:
    """SQLite in WAL with `synchronous=NORMAL` may lose the last commits on power loss;
    the receiver acknowledges only what is on disk, so its connections sync each commit."""
    if store.dialect != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(store.engine, "connect")
    def _full(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous = FULL")

    store.engine.dispose()  # connections opened before use NORMAL: open them again


def start_receiver(store: Store, settings: ReceiveSettings, stop: threading.Event) -> Receiver:
    """The worker's receiver (`[receive] listen`): a thread serving until `stop`, on a
    store connection pool of its own (its commits sync to disk; the duties' need not)."""
    from ..engines import make_engine

    own = Store(make_engine(store.url), store.url, store.clock)
    receiver = Receiver(own, settings)
    receiver.start(stop)
    return receiver
