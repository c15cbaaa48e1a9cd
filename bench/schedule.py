"""`on_duty` from the duty schedule: every duty at 10k random moments over a year of a
schedule with 6 duties, 20 members, rotations on two layers and 200 overrides, against a
plain interval lookup (the year cut into stretches once, then a bisect per moment)."""

from __future__ import annotations

import bisect
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsdeck.backend.schedule import DUTIES, Rotation, Schedule, Slot

from .figure import Figure
from .harness import Run

RUNS = 3
YEAR = timedelta(days=365)
START = datetime(2026, 1, 1, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")  # two DST changes inside the year


@dataclass(frozen=True)
class Timed:
    moments: int
    schedule_s: float
    baseline_s: float
    precompute_s: float
    stretches: int
    checked: int


def build(seed: int = 22) -> Schedule:
    rng = random.Random(seed)
    members = [f"m{i:02d}" for i in range(20)]
    rotations: list[Rotation] = []
    slots: list[Slot] = []
    early = START - timedelta(days=1)
    for index, duty in enumerate(DUTIES):
        crew = tuple(rng.sample(members, 4))
        rotations.append(
            Rotation(
                2 * index,
                f"{duty}-week",
                duty,
                1,
                crew,
                timedelta(weeks=1),
                datetime(2026, 1, 5, 9),
                ZONE,
                recorded_at=early,
            )
        )
        rotations.append(
            Rotation(
                2 * index + 1,
                f"{duty}-office",
                duty,
                2,
                (crew[0], crew[1]),
                timedelta(hours=12),
                datetime(2026, 1, 5, 9),
                ZONE,
                frozenset(range(1, 6)),
                (datetime(2026, 1, 1, 9).time(), datetime(2026, 1, 1, 18).time()),
                recorded_at=early,
            )
        )
    for number in range(200):
        duty = rng.choice(DUTIES)
        start = START + timedelta(minutes=rng.randrange(0, int(YEAR.total_seconds() // 60)))
        length = timedelta(hours=rng.choice((2, 4, 8, 12, 24, 48)))
        slots.append(
            Slot(number, "override", duty, rng.choice(members), None, start, start + length, recorded_at=early)
        )
    return Schedule(rotations, slots, now=early)


def _time(run: Run) -> Timed:
    rng = random.Random(7)
    moments = [START + timedelta(seconds=rng.randrange(0, int(YEAR.total_seconds()))) for _ in range(10_000)]
    tick = run.progress.stage("on_duty at 10k moments", 2 * RUNS + 1)
    schedule_best = baseline_best = float("inf")
    done = 0
    answers: list[list[str]] = []
    for _ in range(RUNS):
        sched = build()  # a fresh one: its per-version index is built inside the timing
        began = time.perf_counter()
        answers = [sched.logins(duty, at) for at in moments for duty in DUTIES]
        schedule_best = min(schedule_best, time.perf_counter() - began)
        done += 1
        tick(done)
    began = time.perf_counter()
    sched = build()
    table = {duty: sched.segments(duty, START, START + YEAR + timedelta(days=1)) for duty in DUTIES}
    starts = {duty: [a for a, _b, _c in rows] for duty, rows in table.items()}
    precompute = time.perf_counter() - began
    done += 1
    tick(done)
    expected: list[list[str]] = []
    for _ in range(RUNS):
        began = time.perf_counter()
        expected = [
            [login for login, _s in table[duty][bisect.bisect_right(starts[duty], at) - 1][2]]
            for at in moments
            for duty in DUTIES
        ]
        baseline_best = min(baseline_best, time.perf_counter() - began)
        done += 1
        tick(done)
    if answers != expected:
        raise SystemExit("bench schedule: on_duty and the interval table disagree")
    return Timed(len(moments), schedule_best, baseline_best, precompute, sum(map(len, table.values())), len(answers))


def on_duty_per_moment(run: Run) -> Figure:
    timed = run.once("schedule.on_duty", lambda: _time(run))
    per = 1e6 / timed.moments
    return Figure(
        name="on_duty for all 6 duties at a random moment of a year (per moment)",
        value=timed.schedule_s * per,
        unit="us/moment",
        baseline=timed.baseline_s * per,
        baseline_label="bisect into the year's coverage cut into stretches beforehand",
        note=(
            f"best of {RUNS}; 20 members, 12 rotations on two layers (weekly; weekday office hours), "
            f"200 overrides, New York time (two DST changes); both answers equal at all {timed.checked:,} "
            f"duty-moments; the baseline's table ({timed.stretches:,} stretches) took "
            f"{timed.precompute_s:.2f} s to build, not counted"
        ),
    )
