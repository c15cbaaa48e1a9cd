"""The board's keys that open another screen or change the shift (a part of BoardScreen,
screens/board.py). Each imports its screen, form or read when pressed: the board draws its
first page before any of them load (issue #26)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import work

from opsdeck.backend.i18n import _

ASK_AGAIN_WITHIN = timedelta(seconds=8)  # q or T again within this answers "yes" to its question

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.screen import Screen

    from opsdeck.backend.board_page import Panels
    from opsdeck.backend.service import Service
    from opsdeck.tui.context import BoardContext

    class _Board(Screen[Any]):
        """What of BoardScreen these keys use."""

        ctx: BoardContext
        panels: Panels | None

        @property
        def service(self) -> Service: ...
        def _read_then(self, read: Callable[[Any], Any], then: Callable[[Any], None]) -> None: ...
        def _form(self, form: Any) -> None: ...
else:
    _Board = object


class BoardKeys(_Board):
    """History, handover, warnings, statistics, the schedule, the shift and a new incident:
    each opens its screen or form."""

    def action_history(self) -> None:
        if self.ctx.history is not None:  # given by the app layer (history is a BoardScreen itself)
            self.app.push_screen(self.ctx.history(self.ctx))

    def action_handover(self) -> None:
        from opsdeck.screens.handover import HandoverScreen  # on H: not before the board's first frame

        self.app.push_screen(HandoverScreen(self.ctx))

    def action_warnings(self) -> None:
        from opsdeck.screens.warnings import WarningsScreen  # on the key: not before the board's first frame

        self.app.push_screen(WarningsScreen(self.ctx))  # 预警 (docs/plan.md#warnings)

    def action_statistics(self) -> None:
        # Imported here: its charts (plotext) cost ~40 ms of every board's start.
        from opsdeck.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.ctx))  # the month's figures (docs/stats.md)

    def action_schedule(self) -> None:
        from opsdeck.screens.schedule import ScheduleScreen  # on the key: not before the board's first frame

        self.app.push_screen(ScheduleScreen(self.ctx))  # the week grid (排班)

    def action_shift(self) -> None:
        """Take the shift (on duty) or end it: audited, as `opsdeck roster duty LOGIN on|off`.
        Ending it is asked once when it leaves your open incidents, or nobody, on duty."""
        roster = self.panels.roster if self.panels else ()
        me = next((m for m in roster if m["login"] == self.ctx.login), None)
        if me is not None and me["on_duty"] and not self._confirmed("shift"):
            others = [m for m in roster if m["on_duty"] and m["login"] != self.ctx.login]
            owned = int(me.get("open_incidents", 0))
            if owned or not others:
                reason = (
                    _("you own {count} open incidents").format(count=owned) if owned else _("nobody else is on duty")
                )
                self._ask("shift", _("Ending your shift: {reason}. Press T again to end it.").format(reason=reason))
                return
        self._shift()

    @work(thread=True, group="action", exit_on_error=False)
    def _shift(self) -> str:
        from opsdeck.backend import queries

        with self.ctx.store.read() as session:
            member = next((m for m in queries.roster(session) if m["login"] == self.ctx.login), None)
        if member is None:
            return f"{self.ctx.login} is not on the roster: ask a lead to add you"
        on = not member["on_duty"]
        self.service.roster_duty(self.ctx.login, on)
        return f"{self.ctx.login} {'took the shift: on duty' if on else 'ended the shift: off duty'}"

    def action_new_incident(self) -> None:
        from opsdeck.backend import queries

        self._read_then(lambda session: [s["name"] for s in queries.systems(session)], self._new_incident_form)

    def _new_incident_form(self, systems: list[str]) -> None:
        from opsdeck.screens.forms import NewIncidentForm

        def perform(values: dict[str, Any], seen: int | None) -> str:
            incident = self.service.open(
                values["title"], description=values["description"], system=values["system"].strip() or None
            )
            return f"#{incident.id} reported"

        self._form(NewIncidentForm(_("Report an incident (an external warning)"), perform, systems=systems))

    def action_quit(self) -> None:
        """Quitting stops the embedded worker: asked once when it is the one escalating."""
        runs_worker = any(  # the embedded worker's thread, still running (it ends at once when another escalates)
            getattr(b, "thread", None) and b.thread.name == "opsdeck-worker" and b.thread.is_alive()
            for b in self.ctx.background
        )
        if runs_worker and not self._confirmed("quit"):
            self._ask(
                "quit",
                _(
                    "This board runs the worker: quitting stops escalating deadlines "
                    "(run opsdeck worker elsewhere first). Press q again to quit."
                ),
            )
            return
        self.app.exit()

    def _ask(self, what: str, message: str) -> None:
        self._asked: tuple[str, datetime | None] = (what, self.ctx.clock() + ASK_AGAIN_WITHIN)
        self.notify(message, severity="warning", timeout=ASK_AGAIN_WITHIN.total_seconds())
        if self.ctx.bell:
            self.app.bell()

    def _confirmed(self, what: str) -> bool:
        """The same key again, soon after the question: the answer is yes."""
        asked, until = getattr(self, "_asked", ("", None))
        self._asked = ("", None)
        return asked == what and until is not None and self.ctx.clock() <= until
