"""Why a row is urgent (issue #19, item 1), seen from other processes at the real time:
`incident show --json`'s next deadline, the text board and the replay rank the pressing
report first, as the board does (tests/ui/test_board_clocks.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from opsdeck.backend.timeutil import utcnow

from ..board_fixtures import reporting_scenario, seeded_store
from ..cli_process import opsdeck
from ..conftest import FakeClock


def test_json_text_board_and_replay_use_the_same_rule(sqlite_url: str) -> None:
    """Other processes, at the real time: the scenario ends now."""
    clock = FakeClock(utcnow() - timedelta(minutes=45, seconds=6))
    store = seeded_store(sqlite_url, clock)
    ids = reporting_scenario(store, clock)
    store.dispose()

    shown = {}
    for name, incident_id in ids.items():
        result = opsdeck(sqlite_url, "incident", "show", str(incident_id), "--json")
        assert result.returncode == 0, result.stderr
        shown[name] = json.loads(result.stdout)["next_deadline"]
    assert (shown["B"]["key"], shown["B"]["state"], shown["B"]["pressing"]) == ("leadership_report", "warning", True)
    assert (shown["A"]["key"], shown["A"]["state"], shown["A"]["pressing"]) == ("ack_lease", "breached", False)
    assert (shown["C"]["key"], shown["C"]["pressing"]) == ("classify", False)

    for args in (["board"], ["board", "--at", "-1s"]):
        result = opsdeck(sqlite_url, *args)
        assert result.returncode == 0, result.stderr
        lines = [line for line in result.stdout.splitlines() if "#" in line]
        assert [int(line.split("#")[1].split()[0]) for line in lines] == [ids["B"], ids["A"], ids["C"]], result.stdout
        assert "leadership" in lines[0] and "leadership_report" not in lines[0], result.stdout  # the board's name
        assert " -" in lines[1] and "ack lease" in lines[1], result.stdout  # overdue: a negative countdown
