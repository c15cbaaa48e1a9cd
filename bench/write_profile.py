"""Where an action's time goes: a profile of opens and acks through the unit of work,
on a store of its own (after a warm-up), summed into the parts the write path is made of.

The parts nest (an ORM flush runs inside the clock sync or the audit record that asked
for it), so each share is of the whole action and they do not add up to 100 %.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service

from .harness import Run

PROFILED = 100  # actions of each kind under the profiler
WARMUP = 20

_SQLITE = "<method 'execute' of 'sqlite3.Cursor' objects>|<method 'executemany' of 'sqlite3.Cursor' objects>|<method 'commit' of 'sqlite3.Connection' objects>"
# (what the note calls it, the file the function is in, the function's names, | between)
PARTS: tuple[tuple[str, str, str], ...] = (
    ("ORM flush", "sqlalchemy/orm/session.py", "_flush"),
    ("write lock and time", "backend/store.py", "_transaction_time"),
    ("permission", "backend/actions/base.py", "actor"),
    ("policy lookups", "backend/clocks.py", "load_policy"),
    ("clock derivation", "backend/clocks.py", "sync"),
    ("audit record", "backend/store.py", "record"),
    ("of which hashing", "backend/audit.py", "event_hash"),
    ("routing", "backend/notify_plan.py", "after"),
    ("feed and outbox at commit", "backend/store.py", "_finish"),
    ("COMMIT", "sqlalchemy/engine/base.py", "_commit_impl"),
    ("SQLite itself (sqlite3 execute, executemany, commit)", "~", _SQLITE),
)


@dataclass(frozen=True)
class Profile:
    ms_per_action: float  # under the profiler: slower than the timed figure, shares are what count
    statements: float  # SQL statements sent per action
    shares: dict[str, float]  # part -> share of the action's time

    def note(self) -> str:
        parts = ", ".join(f"{name} {share:.0%}" for name, share in self.shares.items())
        return f"profile: {self.statements:g} statements an action; {parts} (shares nest)"


def profiles(run: Run) -> dict[str, Profile]:
    """{"open": ..., "ack": ...}, measured once per run."""
    return run.once("write_profile", lambda: _measure(run))


def _measure(run: Run) -> dict[str, Profile]:
    from .store import LOGIN, _import_roster, _title

    store = open_store(f"sqlite:///{run.path('profiled-writes.db')}")
    try:
        _import_roster(store)
        service = Service(store, LOGIN)
        for index in range(WARMUP):
            service.ack(_id(service.open(title=f"warm-up {index}")))
        sent = [0]

        @event.listens_for(store.engine, "before_cursor_execute")
        def count(*_args: Any) -> None:
            sent[0] += 1

        run.progress.stage(f"profiling {PROFILED} opens and {PROFILED} acks")
        ids: list[int] = []
        opened = _profile(lambda index: ids.append(_id(service.open(title=_title(index)))), sent)
        acked = _profile(lambda index: service.ack(ids[index]), sent)
        return {"open": opened, "ack": acked}
    finally:
        store.dispose()


def _profile(act: Callable[[int], Any], sent: list[int]) -> Profile:
    profiler = cProfile.Profile()
    before = sent[0]
    profiler.enable()
    for index in range(PROFILED):
        act(index)
    profiler.disable()
    statements = (sent[0] - before) / PROFILED
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in stats.values())
    shares = {}
    for name, path, function in PARTS:
        spent = sum(
            ct
            for (filename, _, funcname), (_, _, _, ct, _) in stats.items()
            if funcname in function.split("|") and filename.endswith(path)
        )
        shares[name] = spent / total
    return Profile(total / PROFILED * 1000, statements, shares)


def _id(incident: Any) -> int:
    assert incident.id is not None
    return int(incident.id)
