"""The outbox sender: delivers what the plan says must be told, at least once.

A duty of the worker. Each message is claimed under a lease (so two workers never send
it at once), sent with its idempotency key on every attempt, and then marked sent; a
failure is retried with exponential backoff and jitter until `dead_after`. Messages of
one incident go out in order. A crash between the receiver's 200 and the commit can
resend, with the same key; nothing is ever lost.

States: pending -> sending -> sent | failed (retried) -> dead.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult

from . import counters, messages, notify_plan, routing, templates
from .errors import OpsdeckError
from .models import Contact, OutboxMessage, RosterMember, table_of
from .store import Store
from .timeutil import rfc3339

log = logging.getLogger("opsdeck.notify")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


@dataclass(frozen=True)
class SenderSettings:
    timeout: float = 10.0  # seconds a channel may take to answer
    lease: timedelta = timedelta(seconds=60)  # must outlast a delivery
    base_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=10)
    dead_after: timedelta = timedelta(hours=24)
    batch: int = 20


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    event: str
    incident_id: int | None
    recipient_kind: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class DeliveryError(Exception):
    """One channel refused or did not answer; the message says which and why (redacted)."""


def scrub(message: str) -> str:
    """Errors quote URLs (httpx does): never let a secret through."""
    return _URL.sub(lambda m: routing.redact(m.group(0)), message)[:500]


class Sender:
    def __init__(
        self, store: Store, actor: str, settings: SenderSettings | None = None, client: httpx.Client | None = None
    ) -> None:
        self.store = store
        self.actor = actor
        self.settings = settings or SenderSettings()
        self.owner = f"{socket.gethostname()}:{threading.get_ident()}:{id(self)}"
        self.client = client or httpx.Client(timeout=self.settings.timeout, follow_redirects=False)
        self.random = random.Random()

    # -- claiming ---------------------------------------------------------------------------

    def claim(self) -> list[Claimed]:
        """Up to `batch` messages due now, leased to us. A recipient gets an incident's
        messages in order: a later one waits while an earlier one to them is unsent (one
        recipient without a channel holds up nobody else)."""
        with self.store.write(self.actor) as uow:
            o = table_of(OutboxMessage).alias("o")
            p = table_of(OutboxMessage).alias("p")
            earlier_unsent = (
                select(p.c.id)
                .where(
                    p.c.incident_id == o.c.incident_id,
                    p.c.recipient_kind == o.c.recipient_kind,
                    p.c.recipient == o.c.recipient,
                    p.c.id < o.c.id,
                    p.c.state.not_in(("sent", "dead")),
                )
                .exists()
            )
            query = (
                select(o.c.id)
                .where(
                    o.c.state.in_(("pending", "failed", "sending")),
                    or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= uow.now),
                    or_(o.c.state != "sending", o.c.lease_until < uow.now),
                    ~earlier_unsent,
                )
                .order_by(o.c.id)
                .limit(self.settings.batch)
            )
            if uow.dialect == "postgresql":
                query = query.with_for_update(of=o, skip_locked=True)
            ids = list(uow.session.execute(query).scalars())
            if not ids:
                return []
            c = table_of(OutboxMessage).c
            uow.session.execute(
                update(table_of(OutboxMessage))
                .where(c.id.in_(ids))
                .values(
                    state="sending",
                    lease_owner=self.owner,
                    lease_until=uow.now + self.settings.lease,
                    attempts=c.attempts + 1,
                )
            )
            rows = uow.session.execute(table_of(OutboxMessage).select().where(c.id.in_(ids)).order_by(c.id)).all()
            return [
                Claimed(
                    r.id,
                    r.idempotency_key,
                    r.event,
                    r.incident_id,
                    r.recipient_kind,
                    r.recipient,
                    r.payload,
                    r.attempts,
                    r.created_at,
                )
                for r in rows
            ]

    # -- delivering -------------------------------------------------------------------------

    def run_once(self, rounds: int = 10) -> Counts:
        """Claim and deliver until nothing is due (or `rounds` batches went out)."""
        counts = Counts()
        for _ in range(rounds):
            claimed = self.claim()
            if not claimed:
                break
            self._deliver_all(claimed, counts)
        return counts

    def _deliver_all(self, claimed: list[Claimed], counts: Counts) -> None:
        for message in claimed:
            try:
                self.deliver(message)
            except DeliveryError as error:
                state = self._finish(message, scrub(str(error)))
                counts.dead += state == "dead"
                counts.failed += state == "failed"
                counts.errors.append(f"{message.key}: {scrub(str(error))}")
            else:
                self._finish(message, None)
                counts.sent += 1

    def deliver(self, message: Claimed) -> None:
        with self.store.read() as session:
            config = notify_plan.load(session)
            words = templates.load(session)
            recipient = _recipient(session, message.recipient_kind, message.recipient)
        if recipient is None:
            raise DeliveryError(
                f"no channel for {message.recipient_kind}:{message.recipient} (not in the roster or contacts)"
            )
        names = [name for name in recipient["channels"] if config.channel(name) is not None]
        if not names:
            raise DeliveryError(
                f"no channel for {message.recipient_kind}:{message.recipient}: give them "
                "channels (roster/contacts file) that `opsdeck channels apply` defines"
            )
        body = self.body(message, recipient)
        failures = []
        for name in names:
            channel = config.channel(name)
            assert channel is not None
            text = words.message(message.event, channel.format, body, recipient["lang"], recipient["name"])
            try:
                send(self.client, channel, body, message.key, self.settings.timeout, text)
            except DeliveryError as error:
                failures.append(f"{name}: {error}")
        if failures:
            raise DeliveryError("; ".join(failures))

    @staticmethod
    def body(message: Claimed, recipient: dict[str, Any]) -> dict[str, Any]:
        """The documented webhook payload (the sender adds the rendered `title` and `text`)."""
        return {
            "idempotency_key": message.key,
            "event": message.event,
            "recipient": {"kind": message.recipient_kind, "id": message.recipient, "name": recipient["name"]},
            "attempt": message.attempts,
            "created_at": rfc3339(message.created_at),
            **message.payload,
        }

    def _finish(self, message: Claimed, error: str | None) -> str:
        """Record the outcome, but only if the lease is still ours (else another sender
        took over after it expired and owns the message now)."""
        with self.store.write(self.actor) as uow:
            o = table_of(OutboxMessage).c
            if error is None:
                values: dict[str, Any] = {
                    "state": "sent",
                    "sent_at": uow.now,
                    "last_error": None,
                    "lease_owner": None,
                    "lease_until": None,
                }
                state = "sent"
            else:
                dead = uow.now - message.created_at >= self.settings.dead_after
                state = "dead" if dead else "failed"
                values = {
                    "state": state,
                    "last_error": error,
                    "lease_owner": None,
                    "lease_until": None,
                    "next_attempt_at": None if dead else uow.now + self.backoff(message.attempts),
                }
            result: CursorResult[Any] = uow.session.execute(  # type: ignore[assignment]
                update(table_of(OutboxMessage)).where(o.id == message.id, o.lease_owner == self.owner).values(**values)
            )
            if result.rowcount == 1:  # the lease was still ours: this attempt's outcome stands
                counters.add(uow.session, counters.DELIVERIES, state)
            if state != "sent":
                uow.changed("outbox", message.id, state)
        return state

    def backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter, so a recovering endpoint is not stampeded."""
        base = min(self.settings.max_backoff, self.settings.base_backoff * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=base.total_seconds() * self.random.uniform(0.5, 1.5))


def send(
    client: httpx.Client,
    channel: routing.Channel,
    body: dict[str, Any],
    key: str,
    timeout: float,
    text: messages.Message,
) -> None:
    """One message to one channel: a webhook gets the JSON with the rendered `title` and
    `text`; an apprise service gets the title and body a person reads, in its format."""
    if channel.kind == "webhook":
        try:
            response = client.post(
                channel.url,
                json={**body, "title": text.title, "text": text.body},
                timeout=timeout,
                headers={"Idempotency-Key": key, "User-Agent": "opsdeck"},
            )
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer from {channel.shown} within {timeout:g} s") from None
        except httpx.HTTPError as error:
            raise DeliveryError(f"{channel.shown}: {type(error).__name__}: {scrub(str(error))}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"{channel.shown} answered HTTP {response.status_code}")
        return
    _send_apprise(channel, text)


def _send_apprise(channel: routing.Channel, text: messages.Message) -> None:
    """Slack, DingTalk (with its signing), Feishu, WeCom, e-mail, SMS: apprise knows them.
    `body_format` tells apprise the body is Markdown, so services that render it do."""
    try:
        import apprise  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise DeliveryError("apprise is not installed: pip install 'opsdeck[apprise]'") from None
    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        raise DeliveryError(f"{channel.shown}: apprise does not understand this URL")
    markdown = messages.FAMILY[text.format] == "markdown"
    body_format = apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT
    if not notifier.notify(title=text.title, body=text.body, body_format=body_format):
        raise DeliveryError(f"{channel.shown}: apprise could not deliver")


def _recipient(session: Any, kind: str, ident: str) -> dict[str, Any] | None:
    if kind == "member":
        found = session.execute(table_of(RosterMember).select().where(table_of(RosterMember).c.login == ident)).first()
    else:
        found = session.execute(table_of(Contact).select().where(table_of(Contact).c.key == ident)).first()
    return None if found is None else {"name": found.name, "channels": list(found.channels), "lang": found.lang or None}


class NotifyDuty:
    """While this worker leads `notify`, a thread sends: a hanging endpoint holds up only it."""

    def __init__(self, store: Store, actor: str, stop: threading.Event, settings: SenderSettings | None = None) -> None:
        self.sender = Sender(store, actor, settings)
        self.stop = stop
        self.thread: threading.Thread | None = None

    def __call__(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self.run, name="opsdeck-notify", daemon=True)
            self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                counts = self.sender.run_once()
            except OpsdeckError as error:
                log.warning("notify: %s", error)
                counts = Counts()
            for line in counts.errors:
                log.warning("notify: %s", line)
            if not (counts.sent or counts.failed or counts.dead):
                self.stop.wait(1.0)
