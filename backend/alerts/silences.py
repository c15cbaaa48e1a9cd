"""Two-way silences with Alertmanager (its API v2, with httpx).

`opsdeck probe silence` on a group probe of an `alertmanager` source that has an
`alertmanager_url` also creates the silence there, with equality matchers on the labels
every alert of the group shares, until the same end; lifting it (`--for 0`) expires it
there. The silence's id is kept on the group's alerts, so lifting finds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from ..models import Alert, AlertSource, Probe
from ..store import Store
from ..timeutil import rfc3339

log = logging.getLogger("opsdeck.receive")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Synced:
    probe: str
    url: str
    silence_id: str | None = None  # created (or expired, when lifting)
    error: str | None = None


def sync(store: Store, actor: str, probe_names: list[str], until: datetime | None, reason: str) -> list[Synced]:
    """Mirror a silence set (or lifted) on these probes into Alertmanager, where a source says where."""
    done = []
    for name, source, group in _groups(store, probe_names):
        assert source.alertmanager_url is not None
        url = source.alertmanager_url.rstrip("/")
        try:
            if until is not None:
                silence_id = _create(url, group, until, reason, actor, store.clock())
                _remember(store, actor, group, silence_id)
                done.append(Synced(name, url, silence_id))
            else:
                for silence_id in sorted({a.silence_id for a in group if a.silence_id}):
                    _expire(url, silence_id)
                    done.append(Synced(name, url, silence_id))
                _remember(store, actor, group, None)
        except (httpx.HTTPError, ValueError) as error:
            log.warning("silence of %s in Alertmanager at %s failed: %s", name, url, error)
            done.append(Synced(name, url, error=_short(error)))
    return done


def _groups(store: Store, names: list[str]) -> list[tuple[str, AlertSource, list[Alert]]]:
    found = []
    with store.read() as session:
        for name in names:
            probe_id = session.execute(select(col(Probe.id)).where(col(Probe.name) == name)).scalar_one_or_none()
            group = list(session.execute(select(Alert).where(col(Alert.probe_id) == probe_id)).scalars())
            if not group:
                continue
            source = session.execute(
                select(AlertSource).where(col(AlertSource.name) == group[0].source)
            ).scalar_one_or_none()
            if source is not None and source.kind == "alertmanager" and source.alertmanager_url:
                found.append((name, source, group))
    return found


def matchers_for(group: list[Alert]) -> list[dict[str, Any]]:
    """Equality matchers on the labels every alert of the group shares (its group labels at least)."""
    common = dict(group[0].labels)
    for alert in group[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(common.items()) if v]


def _create(url: str, group: list[Alert], until: datetime, reason: str, actor: str, now: datetime) -> str:
    matchers = matchers_for(group)
    if not matchers:
        raise ValueError("the group's alerts share no label to match on")
    body = {
        "matchers": matchers,
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(until),
        "createdBy": f"opsdeck ({actor})",
        "comment": reason,
    }
    reply = httpx.post(f"{url}/api/v2/silences", json=body, timeout=TIMEOUT_S)
    reply.raise_for_status()
    silence_id = reply.json().get("silenceID")
    if not isinstance(silence_id, str) or not silence_id:
        raise ValueError("Alertmanager answered without a silenceID")
    return silence_id


def _expire(url: str, silence_id: str) -> None:
    reply = httpx.delete(f"{url}/api/v2/silence/{silence_id}", timeout=TIMEOUT_S)
    if reply.status_code != 404:  # already gone there: nothing to expire
        reply.raise_for_status()


def _remember(store: Store, actor: str, group: list[Alert], silence_id: str | None) -> None:
    with store.write(actor) as uow:
        for row in uow.session.execute(select(Alert).where(col(Alert.id).in_([a.id for a in group]))).scalars():
            row.silence_id = silence_id


def _short(error: Exception) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}: {error.response.text[:200]}"
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
