"""A separate process for the concurrency tests: N × (read → assign with the version
read). Prints JSON counts. Run as `python -m tests.race_worker URL INCIDENT N LOGIN GO`."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from opsdeck.backend import queries
from opsdeck.backend.errors import StaleWrite
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service

OWNERS = ["dns", "servers", "telecom", "lead"]


def main() -> None:
    url, incident_id, rounds, login, go = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        sys.argv[4],
        Path(sys.argv[5]),
    )
    store = open_store(url)
    service = Service(store, login)
    while not go.exists():  # start together
        time.sleep(0.001)
    ok = stale = 0
    jitter = random.Random(login)
    streak = 0  # refusals in a row
    write_s = 0.001  # how long this process's last write took
    for i in range(rounds):
        # Every write on PostgreSQL first takes one advisory lock, so two tight loops fall
        # into a convoy: the one that lost waits on the lock while the other commits, then
        # reads just before the other's next write, and loses again, a thousand times. A
        # pause of up to a millisecond between rounds, as between two people's keystrokes,
        # breaks the lockstep; each write still races the other process's. After a
        # refusal it also waits, as a person reads the refusal before trying again: a
        # random part of what a write takes here, more after each refusal in a row. A
        # fixed pause did not do: with database roles on a slow machine a write takes
        # longer than any fixed pause, and one process lost all 1,000.
        backoff = jitter.uniform(0, write_s * min(2**streak, 16)) if streak else 0.0
        time.sleep(jitter.uniform(0, 0.001) + backoff)
        with store.read() as session:
            seen = queries.get_incident(session, incident_id)
        candidates = [o for o in OWNERS if o != seen["owner"]]
        target = candidates[(i + len(login)) % len(candidates)]
        started = time.monotonic()
        try:
            service.assign(incident_id, target, expected_version=seen["version"])
            ok, streak = ok + 1, 0
        except StaleWrite:
            stale, streak = stale + 1, streak + 1
        write_s = time.monotonic() - started
    store.dispose()
    print(json.dumps({"ok": ok, "stale": stale}))


if __name__ == "__main__":
    main()
