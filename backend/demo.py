"""Seed a store with the demo roster, contacts, systems and incidents (fixtures/demo).

Incidents are replayed through the service layer with the clock set back by their
age, so the audit trail, ages and (later) deadlines look like a real shift.
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from .i18n import _
from .schema import SEED_ACTOR, open_store
from .service import Service
from .store import Store
from .timeutil import parse_duration

DEMO_LEAD = "lead"


def fixture(name: str) -> Any:
    return files("opsdeck.fixtures").joinpath("demo", name)


def temporary_store_url() -> str:
    folder = Path(tempfile.mkdtemp(prefix="opsdeck-demo-"))
    return f"sqlite:///{folder / 'opsdeck.db'}"


def seed(store: Store) -> dict[str, int]:
    """Import the demo directory and replay the demo incidents; returns counts."""
    counts: dict[str, int] = {}
    # The first import bootstraps the roster (nobody leads yet); the demo lead does the rest.
    for actor, kind in ((SEED_ACTOR, "roster"), (DEMO_LEAD, "contacts"), (DEMO_LEAD, "systems")):
        with as_file(fixture(f"{kind}.toml")) as path:
            counts[kind] = len(Service(store, actor).import_records(kind, path).added)
    plan = tomllib.loads(fixture("incidents.toml").read_text("utf-8"))["incident"]
    now = store.clock()
    for item in sorted(plan, key=lambda i: -parse_duration(i["age"]).total_seconds()):
        _replay(store, item, now - parse_duration(item["age"]))
    counts["incidents"] = len(plan)
    return counts


def _replay(store: Store, item: dict[str, Any], at: datetime) -> None:
    past = Store(store.engine, store.url, clock=lambda: at)
    reporter = Service(past, item.get("owner") or "dns")
    incident = reporter.open(item["title"], description=item.get("description", ""), system=item.get("system"))
    assert incident.id is not None
    lead = Service(past, DEMO_LEAD)
    if "category" in item:
        lead.classify(incident.id, category=item["category"], level=item["level"], reason="initial assessment")
    if item.get("owner") and item["owner"] != incident.owner:
        lead.assign(incident.id, item["owner"])
    if "resolve" in item:
        lead.resolve(incident.id, resolution=item["resolve"])
    if item.get("close"):
        lead.close(incident.id, record=_record(past, incident.id, item))


def _record(store: Store, incident_id: int, item: dict[str, Any]) -> str:
    """The draft with its sections written, as the demo's operator would have."""
    from . import record

    with store.read() as session:
        text = record.markdown(record.draft(session, incident_id, store.clock()), UTC)
    written = {
        _("(What happened and its impact, in your words.)"): item["summary"],
        _("(not recorded: say what caused it)"): item["cause"],
        _("(What to change so it does not happen again.)"): item["lessons"],
    }
    for placeholder, words in written.items():
        text = text.replace(placeholder, words)
    return text


def open_demo_store(url: str | None = None) -> Store:
    store = open_store(url or temporary_store_url())
    seed(store)
    return store
