"""`python -m bench.board_writer URL`: another operator's process, changing incidents one
at a time through the service layer while a board watches the same store.

Prints `ready` once the store is open and its statements warm; then for each line
`ID LOGIN` on stdin assigns incident ID to LOGIN (as the demo roster's lead) and
answers one JSON line: `{"started": ..., "committed": ..., "version": ...}`, the times
on CLOCK_MONOTONIC (`time.monotonic`), which every process on the machine shares.
"""

from __future__ import annotations

import json
import sys
import time

from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service

ACTOR = "lead"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.board_writer URL", file=sys.stderr)
        return 2
    store = open_store(argv[0])
    try:
        service = Service(store, ACTOR)
        with store.read() as session:
            service.actor(session)  # the roster read and the session machinery, before the first change
        print("ready", flush=True)
        for line in sys.stdin:
            incident_id, login = line.split()
            started = time.monotonic()
            incident = service.assign(int(incident_id), login)
            committed = time.monotonic()
            print(json.dumps({"started": started, "committed": committed, "version": incident.version}), flush=True)
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
