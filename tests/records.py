"""A post-incident record a person wrote: every required section filled (issue #17); the
scripted incident the record tests draft it from."""

from __future__ import annotations

from datetime import timedelta

from opsdeck.backend.escalation import sweep
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from .board_fixtures import seeded_store
from .conftest import FakeClock

RECORD = """# Post-incident record

## Summary

Payments failed at every branch for two hours.

## Cause

The connection pool ran out after a config push.

## Resolution

Config rolled back, pool resized, runs re-queued.

## Lessons

Review pool settings before a config push goes out.
"""

PLACEHOLDERS = {
    "(What happened and its impact, in your words.)": "Payments failed at every branch.",
    "(not recorded: say what caused it)": "The connection pool ran out.",
    "(What to change so it does not happen again.)": "Review pool settings before a push.",
}


def filled(draft: str) -> str:
    """The draft with every placeholder replaced by a person's words."""
    for placeholder, words in PLACEHOLDERS.items():
        draft = draft.replace(placeholder, words)
    return draft


def scripted(store: Store, clock: FakeClock) -> int:
    """A level III server fault, handled over two hours by the demo roster."""
    servers, lead = Service(store, "servers"), Service(store, "lead")
    incident = servers.open(
        "Benefits DB refuses connections",
        description="Payment runs fail for every branch.",
        system="db-cluster",
        outage_start=clock.now,
    )
    assert incident.id is not None
    i = incident.id
    clock.advance(minutes=4)
    servers.ack(i)
    lead.classify(i, category="server_fault", level="IV")
    clock.advance(minutes=9)
    lead.classify(i, category="server_fault", level="III", reason="every branch affected")
    clock.advance(minutes=2)
    lead.attest(i, "leadership_informed", via="phone", note="director on the line", who="Director Huang")
    servers.step(i, "inspect")
    servers.step(i, "image_backup", skip=True, reason="no spare disk on site")
    servers.note(i, "vendor engineer on the way, <b>ETA</b> 40 min")
    desk = Service(store, "web")
    desk.add_call(i, caller="Branch 7 counter", contact="+86 10 5550 7777", need="cannot pay benefits", callback=True)
    desk.add_call(
        i,
        caller="Ms Chen",
        contact="chen.li@example.org",
        need="asks when it is back",
        callback=False,
        at=clock.now - timedelta(minutes=10),  # from the paper log, entered later
    )
    clock.advance(minutes=70)  # past the ack lease and more: the worker escalates
    sweep(store, "system:worker@test")
    clock.advance(minutes=5)
    servers.cause(i, note="connection pool exhausted after a config push")
    clock.advance(minutes=10)
    servers.resolve(i, resolution="config rolled back, pool resized, runs re-queued")
    clock.advance(minutes=20)
    desk.called_back(1, note="told them payments run again")
    return i


def resolved_store(sqlite_url: str, clock: FakeClock) -> tuple[str, int]:
    """A seeded SQLite store holding the scripted incident, resolved: its URL and the id."""
    store = seeded_store(sqlite_url, clock)
    try:
        return sqlite_url, scripted(store, clock)
    finally:
        store.dispose()
