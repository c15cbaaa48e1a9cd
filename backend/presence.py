"""Who else has an incident open: "Also viewing: LOGIN" on the detail screen.

A detail screen touches its row every PRESENCE_EVERY_S while open and removes it on
leaving; a row not touched for PRESENCE_TTL_S (a crashed laptop, a dropped SSH
session) is ignored and swept. Rows live outside the audit trail and the change feed:
looking is not a change, and no dashboard reloads for it. Read-only sessions (the
wall, viewers) write none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import col

from .models import Presence
from .store import Store

PRESENCE_EVERY_S = 10.0
PRESENCE_TTL_S = 30.0


def touch(store: Store, login: str, incident_id: int) -> None:
    """`login` is looking at `incident_id` now; expired rows of anyone are swept."""
    with store.write(f"presence:{login}") as uow:
        now = uow.now
        uow.session.execute(delete(Presence).where(col(Presence.seen_at) < now - timedelta(seconds=PRESENCE_TTL_S)))
        row = uow.session.get(Presence, (login, incident_id))
        if row is None:
            uow.session.add(Presence(login=login, incident_id=incident_id, seen_at=now))
        else:
            row.seen_at = now


def leave(store: Store, login: str, incident_id: int) -> None:
    with store.write(f"presence:{login}") as uow:
        uow.session.execute(
            delete(Presence).where(col(Presence.login) == login, col(Presence.incident_id) == incident_id)
        )


def viewers(store: Store, incident_id: int, now: datetime, *, besides: str) -> list[str]:
    """The other logins looking at `incident_id` within the TTL, by name."""
    since = now - timedelta(seconds=PRESENCE_TTL_S)
    with store.read() as session:
        return list(
            session.scalars(
                select(col(Presence.login))
                .where(
                    col(Presence.incident_id) == incident_id,
                    col(Presence.seen_at) >= since,
                    col(Presence.login) != besides,
                )
                .order_by(col(Presence.login))
            )
        )
