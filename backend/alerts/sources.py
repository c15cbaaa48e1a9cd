"""Alert sources: who may post to the receiver, with what token, and their counters.

A source's token is shown once, when it is made or rotated, and stored only as its
SHA-256: a copy of the store gives nobody a token. Adding, rotating and removing are
for leads and audited (never with the token).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import select
from sqlmodel import col

from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import AlertSource
from ..service import Service
from ..store import Store
from ..timeutil import rfc3339
from .formats import KINDS

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EVENTS_PATH = "/v2/enqueue"


def url_path(name: str, kind: str) -> str:
    """Where the source posts: PagerDuty's own path for events (the routing key says
    which source), else a path of its own."""
    return EVENTS_PATH if kind == "events" else f"/sources/{name}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def new_token() -> str:
    """32 hex characters: as long as a PagerDuty integration key, which some senders check."""
    return secrets.token_hex(16)


def default_critical_after(kind: str) -> int | None:
    """Alerts open an incident at their first firing; JSON results count like probe files
    (None: the policy's `[probes] critical_after`)."""
    return None if kind == "json" else 1


@dataclass(frozen=True)
class Created:
    name: str
    kind: str
    url_path: str
    token: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "url_path": self.url_path, "token": self.token}


def add(
    store: Store,
    login: str,
    name: str,
    kind: str,
    *,
    critical_after: int | None = None,
    alertmanager_url: str | None = None,
) -> Created:
    if not NAME.match(name or ""):
        raise InvalidInput(
            "bad_source_name",
            _("{name!r} is not a source name").format(name=name),
            _("use up to 64 lower-case letters, digits, - and _, starting with a letter or digit"),
        )
    if kind not in KINDS:
        raise InvalidInput(
            "bad_source_kind",
            _("{kind!r} is not a kind of source").format(kind=kind),
            _("use one of {kinds}").format(kinds=", ".join(KINDS)),
        )
    if critical_after is not None and not 1 <= critical_after <= 100:
        raise InvalidInput(
            "bad_critical_after", _("--critical-after must be from 1 to 100"), _("give e.g. 1 (the first firing)")
        )
    if alertmanager_url is not None:
        _check_url(alertmanager_url, kind)
    token = new_token()
    with store.write(login) as uow:
        Service(store, login)._lead(uow.session, "sources add", shown=_("adding an alert source"), bootstrap=True)
        if uow.session.execute(select(AlertSource).where(col(AlertSource.name) == name)).first():
            raise DomainError(
                "source_exists",
                _("a source named {name!r} exists").format(name=name),
                _("pick another name, or `opsdeck sources rotate {name}` for a new token").format(name=name),
            )
        uow.session.add(
            AlertSource(
                name=name,
                kind=kind,
                token_hash=token_hash(token),
                created_at=uow.now,
                created_by=login,
                critical_after=critical_after,
                alertmanager_url=alertmanager_url,
                rejected={},
            )
        )
        details = {"name": name, "kind": kind, "critical_after": critical_after, "alertmanager_url": alertmanager_url}
        uow.record("source_add", details, entity="source", entity_id=name)
    return Created(name, kind, url_path(name, kind), token)


def _check_url(url: str, kind: str) -> None:
    if kind != "alertmanager":
        raise InvalidInput(
            "am_url_kind",
            _("--alertmanager-url is for alertmanager sources"),
            _("leave it out, or add the source with --kind alertmanager"),
        )
    if not re.match(r"^https?://[^\s/]+", url):
        raise InvalidInput(
            "bad_am_url",
            _("{url!r} is not an http(s) URL").format(url=url),
            _("give Alertmanager's base URL, e.g. http://127.0.0.1:9093"),
        )


def rotate(store: Store, login: str, name: str) -> Created:
    token = new_token()
    with store.write(login) as uow:
        Service(store, login)._lead(uow.session, "sources rotate", shown=_("rotating a source's token"), bootstrap=True)
        row = _get(uow.session, name)
        row.token_hash, row.rotated_at = token_hash(token), uow.now
        uow.record("source_rotate", {"name": name}, entity="source", entity_id=name)
    return Created(name, row.kind, url_path(name, row.kind), token)


def remove(store: Store, login: str, name: str) -> None:
    with store.write(login) as uow:
        Service(store, login)._lead(uow.session, "sources remove", shown=_("removing an alert source"), bootstrap=True)
        row = _get(uow.session, name)
        uow.session.delete(row)
        details = {"name": name, "kind": row.kind, "accepted": row.accepted}
        uow.record("source_remove", details, entity="source", entity_id=name)


def _get(session: Any, name: str) -> AlertSource:
    row = session.execute(select(AlertSource).where(col(AlertSource.name) == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(
            "no_source",
            _("no source named {name!r}").format(name=name),
            _("see `opsdeck sources list`"),
        )
    return row  # type: ignore[no-any-return]


class SourceRow(TypedDict):
    """One source as `sources list --json` prints it: its counters, never its token."""

    name: str
    kind: str  # alertmanager, events, json
    url_path: str
    critical_after: int | None  # None: the policy's `[probes] critical_after`
    alertmanager_url: str | None
    accepted: int
    rejected: dict[str, int]  # by HTTP code
    last_accepted_at: str | None
    last_rejected_at: str | None
    created_at: str
    created_by: str


def listing(store: Store) -> list[SourceRow]:
    """Every source with its counters, as `sources list --json` prints it (no token)."""
    with store.read() as session:
        rows = list(session.execute(select(AlertSource).order_by(col(AlertSource.name))).scalars())
    return [
        {
            "name": r.name,
            "kind": r.kind,
            "url_path": url_path(r.name, r.kind),
            "critical_after": r.critical_after or default_critical_after(r.kind),
            "alertmanager_url": r.alertmanager_url,
            "accepted": r.accepted,
            "rejected": {code: int(n) for code, n in sorted(r.rejected.items())},
            "last_accepted_at": rfc3339(r.last_accepted_at),
            "last_rejected_at": rfc3339(r.last_rejected_at),
            "created_at": rfc3339(r.created_at),
            "created_by": r.created_by,
        }
        for r in rows
    ]


UNKNOWN_SOURCE = "-"  # a request no source could be named for (wrong path, unknown routing key)


class Counters:
    """The receiver's requests by source and HTTP code, in memory: one object, easy to
    read (`snapshot()`), for `sources list`, the board and metrics. Rejections reach the
    store every few seconds (`flush`), so a flood of bad requests costs one write per
    flush, not one per request; acceptances are counted in the store in the very
    transaction that stored the alerts."""

    def __init__(self) -> None:
        self.started = time.time()  # Unix seconds: Prometheus spots a restart by it
        self._lock = threading.Lock()
        self._total: Counter[tuple[str, int]] = Counter()
        self._unflushed: Counter[tuple[str, int]] = Counter()

    def count(self, source: str | None, code: int) -> None:
        key = (source or UNKNOWN_SOURCE, code)
        with self._lock:
            self._total[key] += 1
            if code >= 300:
                self._unflushed[key] += 1

    def snapshot(self) -> dict[tuple[str, int], int]:
        """(source, code) -> requests since the receiver started."""
        with self._lock:
            return dict(self._total)

    def flush(self, store: Store, actor: str) -> None:
        """Add the rejections counted since the last flush to the sources' rows."""
        with self._lock:
            pending, self._unflushed = self._unflushed, Counter()
        by_source: dict[str, Counter[str]] = {}
        for (source, code), n in pending.items():
            by_source.setdefault(source, Counter())[str(code)] += n
        known = {s: c for s, c in by_source.items() if s != UNKNOWN_SOURCE}
        if not known:
            return
        try:
            with store.write(actor) as uow:
                rows = uow.session.execute(
                    select(AlertSource)
                    .where(col(AlertSource.name).in_(sorted(known)))
                    .with_for_update(of=AlertSource)  # two receivers add to the same row
                    if uow.dialect == "postgresql"
                    else select(AlertSource).where(col(AlertSource.name).in_(sorted(known)))
                ).scalars()
                for row in rows:
                    merged = Counter({k: int(v) for k, v in row.rejected.items()})
                    merged.update(known[row.name])
                    row.rejected, row.last_rejected_at = dict(merged), uow.now
                    uow.changed("source", row.name, "counters")
        except Exception:
            with self._lock:  # not lost: counted again at the next flush
                self._unflushed.update(pending)
            raise
