"""The board speaks the board's language (issue #19, item 7): a refusal names the key or
the field to use, never a CLI option or command; its times are the center's local time
in whole seconds; a stale write says what changed; notes show local times. The real
app, headless, read off the screen as drawn and off the store."""

from __future__ import annotations

from textual.widgets import Static

from opsdeck.backend import queries
from opsdeck.backend.errors import DomainError, InvalidInput, OpsdeckError, StaleWrite
from opsdeck.backend.service import Service
from opsdeck.screens.forms import ActionForm
from opsdeck.screens.incident import IncidentScreen
from opsdeck.tui.board_words import board_text, has_cli_words

from ..board_fixtures import make_app, until
from .test_board_ux import on, screen


def incident(store, incident_id: int) -> dict:  # type: ignore[no-untyped-def]
    with store.read() as session:
        return queries.get_incident(session, incident_id)


def form_error(app) -> str:  # type: ignore[no-untyped-def]
    """The form's error line as the operator reads it (however it wraps)."""
    if not isinstance(app.screen, ActionForm):
        return ""
    return str(app.screen.query_one("#error", Static).content)


async def test_a_level_change_without_a_reason_names_the_reason_field(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await on(pilot, app, ids["portal"])
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("down", "enter", "ctrl+s")
        await until(pilot, lambda: "saying why" in form_error(app) or "Reason field" in form_error(app))
        shown = form_error(app)
        assert "write why in the Reason field" in shown, shown
        assert "--reason" not in shown and "--level" not in shown
        assert incident(store, ids["portal"])["level"] == "II"


async def test_a_stale_write_says_what_changed_in_local_time(board) -> None:  # type: ignore[no-untyped-def]
    """The level form was opened on #portal at II; meanwhile `servers` raised it to I and
    gave it to `web`. The form says who, when (Asia/Shanghai, whole seconds) and what."""
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await on(pilot, app, ids["portal"])
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        store.clock.advance(minutes=3, microseconds=654321)  # 03:38:00.654321 UTC
        Service(store, "servers").set_level(ids["portal"], level="I", reason="whole site down")
        Service(store, "lead").assign(ids["portal"], "web")
        await pilot.press("down", "enter", "tab", *"worse", "ctrl+s")
        await until(pilot, lambda: "changed by" in form_error(app))
        shown = form_error(app)
        assert "changed by lead at 2026-11-28 11:38:00 CST" in shown, shown
        assert "level I -> II" not in shown and "level II -> I" in shown, shown
        assert "owner - -> web" in shown, shown
        assert "opsdeck incident show" not in shown and ".654321" not in shown and "T03:38" not in shown
        assert "Submit again to apply on version" in shown
        assert incident(store, ids["portal"])["level"] == "I"  # nothing written over it
        await pilot.press("ctrl+s")  # on purpose, on what is there now
        await until(pilot, lambda: not isinstance(app.screen, ActionForm))
        assert incident(store, ids["portal"])["level"] == "III"


async def test_notes_and_timeline_show_the_centers_local_time(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    store.clock.advance(microseconds=250000)
    Service(store, "servers").note(ids["switch"], "uplink 1 back")
    app = make_app(store, store.clock)
    async with app.run_test(size=(120, 80)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen) and "uplink 1 back" in screen(app))
        line = next(line for line in screen(app).splitlines() if "uplink 1 back" in line)
        assert "11-28 11:35:00 servers: uplink 1 back" in line, line
        assert "Z" not in line.split("servers")[0]


def test_every_board_fix_is_in_the_boards_words() -> None:
    """Each refusal the board can meet, with the service's CLI fix: the board's text has
    no CLI option or command, and an unknown refusal drops a CLI fix rather than show it."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    cli_fixes = {
        "missing_reason": "changing a level needs --reason saying why",
        "half_classified": "give both --category and --level, or neither (classify later)",
        "stale": "reload: opsdeck incident show 4, then act on what is there now",
        "closed": "to work on it again, `opsdeck incident reopen 4 --reason R` opens a new incident linked to it",
        "resolved": "close it (opsdeck incident close 4) or reopen it",
        "below_iii": "if it is III or worse, raise it first: opsdeck incident level 4 --level III --reason R",
        "regrade_not_due": "to change the level now: opsdeck incident level 4 --level L --reason R",
        "no_member": "assign to a roster member (opsdeck roster list); contacts are never owners",
        "missing_who": "give --who NAME",
        "no_system": "see `opsdeck systems list`, or add it with `opsdeck systems import FILE`",
        "record_incomplete": "write them: opsdeck report edit 4 (or w on the board), then close it",
        "duplicate_chain": "use --duplicate-of 2",
        "draft_stale": "reload it (opsdeck report edit 4) and write your part again",
        "promoted": "work on the incident: opsdeck incident show 4",
        "passed": "if it is back, raise a new warning: opsdeck warning add",
        "no_incident": "list incidents with `opsdeck incident list --status all`",
        "read_only": "run without --read-only",
        "something_new": "see `opsdeck probe list`",
    }
    kinds: dict[str, type[OpsdeckError]] = {"stale": StaleWrite, "missing_reason": InvalidInput}
    for code, fix in cli_fixes.items():
        error = kinds.get(code, DomainError)(
            code, "#4 was resolved at 2026-11-28T03:10:00.123456Z", fix, id=4, incident=4
        )
        text = board_text(error, zone)
        assert not has_cli_words(text), (code, text)
        assert " — " in text or code == "something_new", (code, text)  # a fix in the board's own words
        assert "2026-11-28 11:10:00 CST" in text and ".123456" not in text, text
