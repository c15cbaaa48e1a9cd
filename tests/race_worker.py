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
    lost = False
    for i in range(rounds):
        # Every write on PostgreSQL first takes one advisory lock, so two tight loops fall
        # into a convoy: the one that lost waits on the lock while the other commits, then
        # reads just before the other's next write, and loses again, a thousand times. A
        # pause of up to a millisecond between rounds, as between two people's keystrokes,
        # breaks the lockstep; each write still races the other process's. With database
        # roles a write holds the lock longer than that pause, and once in a few CI runs
        # one process lost all 1,000: after a refusal it also waits up to 10 ms, as a
        # person reads the refusal before trying again.
        time.sleep(jitter.uniform(0, 0.001) + (jitter.uniform(0, 0.01) if lost else 0.0))
        with store.read() as session:
            seen = queries.get_incident(session, incident_id)
        candidates = [o for o in OWNERS if o != seen["owner"]]
        target = candidates[(i + len(login)) % len(candidates)]
        try:
            service.assign(incident_id, target, expected_version=seen["version"])
            ok, lost = ok + 1, False
        except StaleWrite:
            stale, lost = stale + 1, True
    store.dispose()
    print(json.dumps({"ok": ok, "stale": stale}))


if __name__ == "__main__":
    main()
