"""The deadline engine's two costs over a big open store: the states the board shows at
`now` (stored clock rows read, `deadlines.state` per clock) and `deadlines.derive`, which
every write runs; each against plain Python doing the least the same job needs."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from opsdeck.backend import clocks, deadlines, queries
from opsdeck.backend.models import Incident, IncidentDeadline
from opsdeck.backend.schema import open_store
from opsdeck.backend.store import Store

from .figure import Figure
from .fill import OpenStore, open_incidents
from .harness import Run, gc_paused, thousands
from .raw import sqlite_time

RUNS = 3  # timed passes of each; the fastest counts (noise only ever adds time)
BATCH = 5000  # ORM rows fetched at a time: the identity map lets go of each batch

# The clocks the board reads: every current (not superseded) clock of an open incident.
RAW_STATES = """
    SELECT d.due_at, d.met_at FROM incident_deadlines d JOIN incidents i ON i.id = d.incident_id
    WHERE i.status != 'closed' AND d.superseded_at IS NULL
"""


@dataclass(frozen=True)
class States:
    incidents: int
    clocks: int
    read_s: float  # best pass, reading the rows
    state_s: float  # best pass, deadlines.state on them
    total_s: float  # best pass, both
    board_s: float  # best pass, queries.open_clocks + state of what it returns
    raw_s: float  # best pass of the baseline
    kinds: dict[str, int]  # state -> clocks in it at `now`


@dataclass(frozen=True)
class Derived:
    incidents: int
    clocks: int
    seconds: float
    raw_s: float


# -- states at now -----------------------------------------------------------------------


def state_per_incident(run: Run) -> Figure:
    """Stored clocks read through the ORM and judged at `now`, as `queries` does per incident."""
    states = run.once("deadlines.states", lambda: _time_states(run))
    per = 1e6 / states.incidents
    kinds = ", ".join(f"{kind} {states.kinds.get(kind, 0):,}" for kind in deadlines.STATES)
    return Figure(
        name=f"deadline state for {thousands(states.incidents)} open incidents (per incident)",
        value=states.total_s * per,
        unit="us/incident",
        baseline=states.raw_s * per,
        baseline_label="raw sqlite3 SELECT due_at, met_at of the same clocks + a text comparison with now each",
        note=(
            f"best of {RUNS}; {states.clocks:,} current clocks ({states.clocks / states.incidents:.1f} per incident): "
            f"reading them (ORM, select(IncidentDeadline)) {states.read_s * per:.1f} us + deadlines.state() "
            f"{states.state_s * per:.1f} us per incident; at now: {kinds}. The board's own read "
            f"(queries.open_clocks, the earliest unmet clock per incident, ids in lists of 500) + state(): "
            f"{states.board_s * per:.1f} us per incident"
        ),
    )


@dataclass(frozen=True)
class Pass:
    """One timed pass over every current clock."""

    read_s: float
    judge_s: float
    kinds: Counter[str]  # state -> clocks in it at `now`

    @property
    def total_s(self) -> float:
        return self.read_s + self.judge_s


def _time_states(run: Run) -> States:
    filled = open_incidents(run)
    store = open_store(f"sqlite:///{filled.path}", clock=lambda: filled.now)
    try:
        ids = _open_ids(store)
        tick = run.progress.stage("reading the clocks and judging them at now", 2 * RUNS)
        passes = []
        for index in range(RUNS):
            passes.append(_read_and_judge(store, filled.now))
            tick(index + 1)
        board = []
        for index in range(RUNS):
            board.append(_board_pass(store, ids, filled.now))
            tick(RUNS + index + 1)
    finally:
        store.dispose()
    raw_s, raw_clocks = min(_raw_pass(filled) for _ in range(RUNS))
    judged = sum(passes[0].kinds.values())
    if raw_clocks != judged:
        raise RuntimeError(f"bench: the baseline read {raw_clocks} clocks, opsdeck {judged}")
    return States(
        incidents=len(ids),
        clocks=judged,
        read_s=min(p.read_s for p in passes),
        state_s=min(p.judge_s for p in passes),
        total_s=min(p.total_s for p in passes),
        board_s=min(board),
        raw_s=raw_s,
        kinds=dict(passes[0].kinds),
    )


def _read_and_judge(store: Store, now: datetime) -> Pass:
    """Rows streamed in batches (yield_per), each batch judged as it arrives."""
    i = Incident.__table__.c
    d = IncidentDeadline.__table__.c
    query = (
        select(IncidentDeadline)
        .join(Incident.__table__, i.id == d.incident_id)
        .where(i.status != "closed", d.superseded_at.is_(None))
        .execution_options(yield_per=BATCH)
    )
    kinds: Counter[str] = Counter()
    judging = 0.0
    started = time.perf_counter()
    with store.read() as session:
        for batch in session.execute(query).scalars().partitions():
            began = time.perf_counter()
            kinds.update(deadlines.state(row, now).state for row in batch)
            judging += time.perf_counter() - began
    total = time.perf_counter() - started
    return Pass(total - judging, judging, kinds)


def _board_pass(store: Store, ids: list[int], now: datetime) -> float:
    started = time.perf_counter()
    with store.read() as session:
        for row, _pressing in queries.open_clocks(session, ids, now).values():
            deadlines.state(row, now)
    return time.perf_counter() - started


def _open_ids(store: Store) -> list[int]:
    with store.read() as session:
        return list(session.execute(select(Incident.id).where(Incident.status != "closed")).scalars())


def _raw_pass(filled: OpenStore) -> tuple[float, int]:
    """The same clocks' due and met times, compared with now as the text SQLite keeps."""
    now = sqlite_time(filled.now)
    conn = sqlite3.connect(filled.path)
    try:
        started = time.perf_counter()
        rows = late = 0
        for due_at, met_at in conn.execute(RAW_STATES):
            rows += 1
            late += met_at is None and due_at < now
        return time.perf_counter() - started, rows
    finally:
        conn.close()


# -- derive --------------------------------------------------------------------------------


def derive_per_incident(run: Run) -> Figure:
    """`deadlines.derive(facts, policy)`: what every write pays to re-derive the clocks."""
    derived = run.once("deadlines.derive", lambda: _time_derive(run))
    per = 1e6 / derived.incidents
    return Figure(
        name=f"deadlines.derive(facts, policy) per incident ({thousands(derived.incidents)} open incidents)",
        value=derived.seconds * per,
        unit="us/incident",
        baseline=derived.raw_s * per,
        baseline_label="plain python: reported_at + the delay of each rule with a fixed one (the date arithmetic alone)",
        note=(
            f"best of {RUNS}, garbage collection paused as timeit does (one write derives one incident); "
            f"{derived.clocks:,} clocks derived ({derived.clocks / derived.incidents:.1f} per incident) "
            f"from the facts clocks.facts_of read for each template incident, shifted per copy"
        ),
    )


def _time_derive(run: Run) -> Derived:
    filled = open_incidents(run)
    store = open_store(f"sqlite:///{filled.path}", clock=lambda: filled.now)
    try:
        with store.read() as session:
            policy = clocks.load_policy(session).deadlines
    finally:
        store.dispose()
    facts = filled.facts()
    run.progress.stage(f"deriving the clocks of {len(facts):,} incidents", RUNS)
    timed = min(_derive_pass(facts, policy) for _ in range(RUNS))
    afters = [rule.after for rule in policy.rules if rule.after is not None]
    raw_s = min(_arithmetic_pass(facts, afters) for _ in range(RUNS))
    return Derived(len(facts), timed[1], timed[0], raw_s)


def _derive_pass(facts: list[deadlines.Facts], policy: deadlines.DeadlinePolicy) -> tuple[float, int]:
    with gc_paused():
        started = time.perf_counter()
        derived = [deadlines.derive(one, policy) for one in facts]
        seconds = time.perf_counter() - started
    return seconds, sum(map(len, derived))


def _arithmetic_pass(facts: list[deadlines.Facts], afters: list[timedelta]) -> float:
    with gc_paused():
        started = time.perf_counter()
        due = [[one.reported_at + after for after in afters] for one in facts]
        seconds = time.perf_counter() - started
    assert len(due) == len(facts)
    return seconds
