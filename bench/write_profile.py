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

from .harness import Run

PROFILED = 100  # actions of each kind under the profiler

_SQLITE = "<method 'execute' of 'sqlite3.Cursor' objects>|<method 'executemany' of 'sqlite3.Cursor' objects>|<method 'commit' of 'sqlite3.Connection' objects>"
# (what the note calls it, the file the function is in, the function's names, | between)
PARTS: tuple[tuple[str, str, str], ...] = (
    ("ORM flush", "sqlalchemy/orm/session.py", "_flush"),
    # UnitOfWork.flush: incident and clock rows through Core statements, anything else by the ORM's flush.
    ("the unit of work's flush", "backend/store.py", "flush"),
    ("write lock and time", "backend/store.py", "_transaction_time|_kept"),
    ("permission", "backend/actions/base.py", "actor"),
    ("policy lookups", "backend/clocks.py", "load_policy"),
    ("clock derivation", "backend/clocks.py", "sync|first_clocks"),
    ("building ORM rows (SQLModel's __init__)", "sqlmodel/_compat.py", "sqlmodel_init"),
    ("building incident and clock rows (models.columns.construct)", "backend/models/columns.py", "construct"),
    ("audit record", "backend/store.py", "record"),
    ("of which hashing", "backend/audit.py", "event_hash"),
    ("routing", "backend/notify_plan.py", "after"),
    ("feed and outbox at commit", "backend/store.py", "_finish"),
    ("COMMIT", "sqlalchemy/engine/base.py", "_commit_impl"),
    ("SQLite itself (sqlite3 execute, executemany, commit)", "~", _SQLITE),
)


# Where the time is spent by layer, each function's own time (these do not nest): what
# bounds the action once opsdeck's own Python is out of the way.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQLAlchemy and SQLModel", ("/sqlalchemy/", "/sqlmodel/", "/pydantic/", "/pydantic_core/")),
    ("opsdeck", ("/backend/",)),
    ("SQLite", ()),  # the sqlite3 module's C methods (filename "~")
)


@dataclass(frozen=True)
class Profile:
    ms_per_action: float  # under the profiler: slower than the timed figure, shares are what count
    statements: float  # SQL statements sent per action
    shares: dict[str, float]  # part -> share of the action's time
    layers: dict[str, float]  # layer -> share of the action's own time (these add up, with "other")

    def note(self) -> str:
        parts = ", ".join(f"{name} {share:.0%}" for name, share in self.shares.items())
        layers = ", ".join(f"{name} {share:.0%}" for name, share in self.layers.items())
        return f"profile: {self.statements:g} statements an action; {parts} (shares nest); own time by layer: {layers}"


def profiles(run: Run) -> dict[str, Profile]:
    """{"open": ..., "ack": ...}, measured once per run."""
    return run.once("write_profile", lambda: _measure(run))


def _measure(run: Run) -> dict[str, Profile]:
    from .store import _title, warmed_up

    store, service = warmed_up(run.path("profiled-writes.db"))
    try:
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


def profile_burst(store: Any, count: int) -> Profile:
    """`count` opens in one unit of work on `store` (warmed up), under the profiler:
    where a burst's time goes, as `profiles` says it for single opens."""
    from opsdeck.backend.actions.incidents import IncidentActions

    from .store import LOGIN, _title

    sent = [0]

    def counted(*_args: Any) -> None:
        sent[0] += 1

    def burst() -> None:  # the whole unit of work: its end writes most of a burst's rows
        with store.write(LOGIN) as uow:
            uow.defer_events()  # as bench/burst.py
            for index in range(count):
                IncidentActions.open_in(uow, _title(index))

    event.listen(store.engine, "before_cursor_execute", counted)
    try:
        return _profiled(burst, sent, count)
    finally:
        event.remove(store.engine, "before_cursor_execute", counted)


def _profile(act: Callable[[int], Any], sent: list[int]) -> Profile:
    return _profiled(lambda: [act(index) for index in range(PROFILED)], sent, PROFILED)


def _profiled(run: Callable[[], Any], sent: list[int], count: int) -> Profile:
    """`run` (`count` actions) under the profiler."""
    profiler = cProfile.Profile()
    before = sent[0]
    profiler.enable()
    run()
    profiler.disable()
    statements = (sent[0] - before) / count
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
    return Profile(total / count * 1000, statements, shares, _layers(stats))


def _layers(stats: dict[Any, Any]) -> dict[str, float]:
    own = sum(tt for (_, _, tt, _, _) in stats.values())
    found = dict.fromkeys([name for name, _ in LAYERS], 0.0)
    for (filename, _, funcname), (_, _, tt, _, _) in stats.items():
        for name, paths in LAYERS:
            if any(path in filename for path in paths) or (
                not paths and filename == "~" and funcname in _SQLITE.split("|")
            ):
                found[name] += tt
                break
    shares = {name: spent / own for name, spent in found.items()}
    shares["other (json, hashing, datetime, the profiler's own)"] = max(0.0, 1 - sum(shares.values()))
    return shares


def _id(incident: Any) -> int:
    assert incident.id is not None
    return int(incident.id)
