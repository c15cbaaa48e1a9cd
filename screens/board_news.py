"""What the board announces, not only counts: a new incident, a clock running out, a
probe critical again under a resolved incident, a shift that begins (a part of
BoardScreen, screens/board.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsdeck.backend import board_page as board
from opsdeck.backend.board_page import Row
from opsdeck.backend.i18n import _
from opsdeck.backend.ranking import clock_label
from opsdeck.backend.sanitize import clean
from opsdeck.tui.text import LEVEL_LABEL
from opsdeck.tui.widgets.incident_list import (
    IncidentList,
)

if TYPE_CHECKING:
    from textual.screen import Screen

    from opsdeck.backend.board_page import Panels
    from opsdeck.tui.context import BoardContext

    class _Board(Screen[Any]):
        """What of BoardScreen the announcements use."""

        ctx: BoardContext
        panels: Panels | None
        newest: int | None
        _was_on_duty: list[str] | None
else:
    _Board = object

FLASH_FOR = timedelta(seconds=6)  # an announced row blinks this long
ANNOUNCE_EACH = 3  # news of one kind at once: up to this many get a toast each, more one toast
NAMED_IN_SUMMARY = 5  # incidents that toast names by number


class BoardNews(_Board):
    """Toasts, a blinking row and the optional bell; the handover opened when a hand-off
    puts this login on duty."""

    def _arrivals(self, rows: dict[int, Row]) -> None:
        """A new incident, or a resolved one whose probe went CRITICAL again."""
        if self.newest is None:
            return
        before = self.query_one(IncidentList).rows
        new: list[tuple[int, str]] = []
        critical: list[tuple[int, str]] = []
        for incident_id in sorted(rows):
            row = rows[incident_id]
            if incident_id > self.newest:
                self.newest = incident_id
                level = LEVEL_LABEL.get(row.level, "--")
                new.append(
                    (
                        incident_id,
                        _("New incident #{id} {level}: {title}").format(
                            id=incident_id, level=level, title=clean(row.title)
                        ),
                    )
                )
            elif row.probe_critical and (old := before.get(incident_id)) is not None and not old.probe_critical:
                critical.append(
                    (
                        incident_id,
                        _("#{id} is resolved, but its probe is CRITICAL again: {title}").format(
                            id=incident_id, title=clean(row.title)
                        ),
                    )
                )
        self._announce(new, "warning", _("{count} new incidents: {which}"))
        self._announce(critical, "error", _("{count} resolved incidents have a CRITICAL probe again: {which}"))

    def _breaches(self, since: datetime, now: datetime) -> None:
        """Clocks of the rows at hand that ran out since the last tick."""
        incident_list = self.query_one(IncidentList)
        breached: list[tuple[int, str]] = []
        for incident_id in list(incident_list.rows.keys()):
            row = incident_list.rows.get(incident_id)
            if row is None:
                continue
            for clock in row.clocks:
                if since < clock.due_at <= now:
                    breached.append(
                        (
                            incident_id,
                            _("#{id} breached: {clock} — {title}").format(
                                id=incident_id, clock=clock_label(clock.rule), title=clean(row.title)
                            ),
                        )
                    )
        self._announce(breached, "error", _("{count} clocks ran out: {which}"))

    def _announce(self, news: list[tuple[int, str]], severity: str, many: str) -> None:
        """A toast for each piece of news, or one that counts them when more came at once
        (a receiver's burst of a thousand alerts opens a thousand incidents, whose report
        clocks then run out in the same second): its rows flash either way, the bell rings
        once."""
        if not news:
            return
        if len(news) <= ANNOUNCE_EACH:
            for _id, message in news:
                self.notify(message, severity=severity, timeout=10)  # type: ignore[arg-type]
        else:
            ids = sorted({incident_id for incident_id, _message in news})
            which = ", ".join(f"#{i}" for i in ids[:NAMED_IN_SUMMARY])
            if len(ids) > NAMED_IN_SUMMARY:
                which += " " + _("and {more} more").format(more=len(ids) - NAMED_IN_SUMMARY)
            self.notify(many.format(count=len(news), which=which), severity=severity, timeout=10)  # type: ignore[arg-type]
        self.query_one(IncidentList).flash(
            (incident_id for incident_id, _message in news), self.ctx.clock() + FLASH_FOR
        )
        if self.ctx.bell:
            self.app.bell()

    def _handed_over(self) -> None:
        """A hand-off put this login on duty: say which duties it inherits and open the
        handover (what is open, breached, owed) for them."""
        before, self._was_on_duty = getattr(self, "_was_on_duty", None), None
        if before is None or self.panels is None:
            return
        gained = [d for d in board.on_duty_for(self.panels, self.ctx.login) if d not in before]
        if not gained:
            return
        self.app.notify(
            _("Your shift begins: on duty for {duties}. The handover shows what you inherit.").format(
                duties=", ".join(gained)
            ),
            timeout=30,
        )
        from opsdeck.screens.handover import HandoverScreen  # a hand-off: long after the first frame

        if not isinstance(self.app.screen, HandoverScreen):
            self.app.push_screen(HandoverScreen(self.ctx))
