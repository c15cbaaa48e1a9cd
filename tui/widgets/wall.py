"""The wall's widgets: read from across the room.

Big numbers are Textual `Digits`; everything else is a `Static` fed a Rich `Text`
built from sanitized values (never markup). Each widget repaints only when what it
shows changed: the clock and the countdowns once a second, the rest when the store did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Digits, Static

from opsdeck.backend.board_page import Panels, ProbeLine, Row
from opsdeck.backend.domain import CATEGORY_TERMS, LEVEL_TERMS, Level
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.ranking import Clock
from opsdeck.backend.rows import RosterRow
from opsdeck.backend.sanitize import clean

from ..text import LEVEL_LABEL, STATE_LABEL
from .incident_list import status_short
from .panels import LEVEL_STYLE, STATE_STYLE

LEVELS = ("I", "II", "III", "IV", "none")
COUNTDOWN_W = 29  # "-HH:MM:SS" in 3-cell digits (27), and a gap


def alert_label(alert: str) -> str:
    return {"NEW": _("NEW"), "LATE": _("LATE")}.get(alert, alert)


def wall_countdown(seconds: float) -> str:
    """[-]MM:SS under an hour, [-]H:MM:SS under 100 hours, then [-]D d HH h. `Digits`
    draws digits, `-` and `:` big and any other character small on its bottom line, so
    the units of the last form read as small letters after big numbers."""
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours == 0:
        return f"{sign}{minutes:02d}:{secs:02d}"
    if hours < 100:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    days, hours = divmod(hours, 24)
    return f"{sign}{min(days, 9999)}d {hours:02d}h"


def level_term(level: str | None) -> str:
    return LEVEL_TERMS[Level(level)].shown.partition(" (")[0] if level in ("I", "II", "III", "IV") else _("no level")


class Counter(Vertical):
    """A label over a big number: open incidents at one level, probes in one state."""

    DEFAULT_CSS = """
    Counter { width: 1fr; height: 4; padding-right: 1; }
    Counter > Static { height: 1; color: $text-muted; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    Counter > Digits { color: $text-muted; }
    Counter.-some > Static { color: $text; }
    Counter.-some > Digits { color: $text; }
    Counter.-some.-lvl-i > Digits, Counter.-some.-crit > Digits { color: $error; text-style: bold; }
    Counter.-some.-lvl-ii > Digits { color: $error; }
    Counter.-some.-lvl-iii > Digits, Counter.-some.-warn > Digits { color: $warning; }
    Counter.-some.-lvl-iv > Digits, Counter.-ok > Digits { color: $success; }
    Counter.-some.-lvl-i > Static { color: $error; text-style: bold reverse; }
    """

    def __init__(self, label: str, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self._value: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(self.label, no_wrap=True, overflow="ellipsis"))
        yield Digits("0")

    def show(self, value: int) -> None:
        if value == self._value:
            return
        self._value = value
        self.set_class(value > 0, "-some")
        self.query_one(Digits).update(str(min(value, 9999)))


class LevelCounters(Horizontal):
    """Open incidents per level, I first; `?` is not yet classified."""

    DEFAULT_CSS = "LevelCounters { height: 4; width: 1fr; }"

    def compose(self) -> ComposeResult:
        for level in LEVELS:
            label = f"{level} {level_term(level)}" if level != "none" else "? " + _("no level")
            yield Counter(label, id=f"count-{level.lower()}", classes=f"-lvl-{level.lower()}")

    def show(self, counts: Mapping[str, int]) -> None:
        for level in LEVELS:
            self.query_one(f"#count-{level.lower()}", Counter).show(counts.get(level, 0))


class WallClock(Vertical):
    """The date over the time, in the center's time zone."""

    DEFAULT_CSS = """
    WallClock { width: 25; height: 4; }
    WallClock > Static { height: 1; color: $text-muted; text-style: bold; text-wrap: nowrap; }
    WallClock > Digits { text-style: bold; }
    """

    def __init__(self, zone: tzinfo) -> None:
        super().__init__()
        self.zone = zone
        self._shown = ("", "")

    def compose(self) -> ComposeResult:
        yield Static("")
        yield Digits("--:--:--")

    def show(self, now: datetime) -> None:
        local = now.astimezone(self.zone)
        date, time = local.strftime("%Y-%m-%d %a %Z").strip(), local.strftime("%H:%M:%S")
        if (date, time) == self._shown:
            return
        if date != self._shown[0]:
            self.query_one(Static).update(Text(date, no_wrap=True, overflow="ellipsis"))
        self._shown = (date, time)
        self.query_one(Digits).update(time)


@dataclass(frozen=True)
class RowView:
    """What one wall row shows besides its countdown."""

    row: Row
    alert: str | None  # "NEW" (a new incident at III or above), "LATE" (a breach), None
    rule: tuple[str, str] | None  # the ranking clock's name, in English and Chinese
    clock: Clock | None = None  # the clock that ranks the row (backend/ranking.py)


class WallRow(Horizontal):
    """One incident: level (text, never colour alone), a big countdown to its next
    deadline, then the title, category, owner and what is due. An unacknowledged
    alert says NEW or LATE and flashes (the screen sets `-flash`)."""

    DEFAULT_CSS = f"""
    WallRow {{ height: 3; }}
    WallRow > Static {{ text-wrap: nowrap; text-overflow: ellipsis; }}
    WallRow > .badge {{ width: 9; height: 3; }}
    WallRow > Digits {{ width: {COUNTDOWN_W}; height: 3; text-align: right; padding: 0 2 0 0; }}
    WallRow > .body {{ width: 1fr; height: 3; }}
    WallRow > Digits.-none {{ color: $text-muted; }}
    WallRow > Digits.-warning {{ color: $warning; text-style: bold; }}
    WallRow > Digits.-breached {{ color: $error; text-style: bold reverse; }}
    WallRow.-flash {{ background: $error; color: $text; }}
    WallRow.-flash > Digits.-breached, WallRow.-flash > Digits.-warning {{ color: $text; }}
    """

    def __init__(self) -> None:
        super().__init__()
        self.view: RowView | None = None
        self._countdown: tuple[str, str] = ("", "")

    def compose(self) -> ComposeResult:
        yield Static("", classes="badge")
        yield Digits("", classes="-none")
        yield Static("", classes="body")

    def show(self, view: RowView, now: datetime) -> None:
        if view != self.view:
            self.view = view
            self.query_one(".badge", Static).update(_badge(view))
            self.query_one(".body", Static).update(_body(view))
        self.tick(now)

    def tick(self, now: datetime) -> None:
        """Once a second: the countdown, repainted only when its text or band changed."""
        clock = self.view.row.clock(now) if self.view else None
        if clock is None:
            value, band = "--:--", "-none"
        else:
            value = wall_countdown((clock.due_at - now).total_seconds())
            if now > clock.due_at:
                band = "-breached"
            elif clock.warn_at is not None and now >= clock.warn_at:
                band = "-warning"
            else:
                band = "-pending"
        if (value, band) == self._countdown:
            return
        digits = self.query_one(Digits)
        if band != self._countdown[1]:
            digits.remove_class("-none", "-pending", "-warning", "-breached")
            digits.add_class(band)
        self._countdown = (value, band)
        digits.update(value)


def _badge(view: RowView) -> Text:
    row = view.row
    style = LEVEL_STYLE.get(row.level or "none", "")
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f" {LEVEL_LABEL.get(row.level, '--')} ", style)
    text.append(f"\n {level_term(row.level)}")
    if view.alert:
        text.append("\n ")
        text.append(f"{alert_label(view.alert)}!", "bold reverse")
    return text


def _body(view: RowView) -> Text:
    row = view.row
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"#{row.id} ", "dim")
    text.append(clean(row.title), "bold")
    term = next((t.shown for c, t in CATEGORY_TERMS.items() if c.value == row.category), clean(row.category))
    text.append("\n" + _("owner") + " ", "dim")
    text.append(clean(row.owner) if row.owner else _("nobody"), "bold" if row.owner else "dim")
    text.append(f"  {term}")
    text.append(f"  {status_short(row.status)}", "bold" if row.status == "reported" else "dim")
    if row.system:
        text.append(f"  {clean(row.system)}", "dim")
    text.append("\n")
    clock = view.clock
    if clock is None:
        text.append(_("no clock running"), "dim")
    else:
        text.append(_("due:") + " ", "dim")
        name, name_zh = view.rule or (clock.rule or _("deadline"), "")
        text.append(clean(pick(name, name_zh)))
        if clock.next_level:
            text.append(" " + _("(level {level})").format(level=clean(clock.next_level)), "bold")
    return text


class WallRows(Vertical):
    """The rows' column; says when its height changed (a banner came or went), so the
    screen can fit another number of rows on a page."""

    class Resized(Message):
        pass

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())


# -- probes and who is on duty ----------------------------------------------------------


@dataclass(frozen=True)
class ProbeCounts:
    ok: int
    warn: int
    crit: int
    stale: int
    unknown: int
    failing: tuple[ProbeLine, ...]  # critical first, then warning; silenced ones left out

    @classmethod
    def of(cls, probes: tuple[ProbeLine, ...]) -> ProbeCounts:
        fresh = [p for p in probes if not p.stale]

        def count(state: str) -> int:
            return sum(1 for p in fresh if p.state == state)

        failing = sorted(
            (p for p in fresh if p.state in ("CRITICAL", "WARNING") and not p.silenced_until),
            key=lambda p: (p.state != "CRITICAL", p.name),
        )
        return cls(
            count("OK"), count("WARNING"), count("CRITICAL"), len(probes) - len(fresh), count("UNKNOWN"), tuple(failing)
        )


def on_duty(roster: tuple[RosterRow, ...]) -> list[RosterRow]:
    return [member for member in roster if member.get("on_duty")]


class ProbeSummary(Vertical):
    """Probes ok / warn / crit / stale in big numbers, then the failing ones by name."""

    DEFAULT_CSS = """
    ProbeSummary { height: auto; }
    ProbeSummary > .heading { height: 1; text-style: bold; }
    ProbeSummary > Horizontal { height: 4; }
    ProbeSummary > Static { text-wrap: nowrap; text-overflow: ellipsis; }
    ProbeSummary > .failing { height: auto; max-height: 14; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: ProbeCounts | None = None

    def compose(self) -> ComposeResult:
        yield Static(_("PROBES"), classes="heading")
        with Horizontal():
            yield Counter(_("OK"), id="probes-ok", classes="-ok")
            yield Counter(_("WARN"), id="probes-warn", classes="-warn")
            yield Counter(_("CRIT"), id="probes-crit", classes="-crit")
            yield Counter(_("STALE"), id="probes-stale", classes="-warn")
        yield Static("", classes="failing")

    def show(self, panels: Panels) -> None:
        counts = ProbeCounts.of(panels.probes)
        if counts == self._shown:
            return
        self._shown = counts
        for name, value in (("ok", counts.ok), ("warn", counts.warn), ("crit", counts.crit), ("stale", counts.stale)):
            self.query_one(f"#probes-{name}", Counter).show(value)
        heading = Text(_("PROBES") + " ", "bold", no_wrap=True, overflow="ellipsis")
        heading.append(f"{len(panels.probes)}", "bold")
        if counts.unknown:
            heading.append("  " + _("{count} unknown").format(count=counts.unknown), "dim")
        self.query_one(".heading", Static).update(heading)
        failing = Text(no_wrap=True, overflow="ellipsis", end="")
        if not counts.failing:
            failing.append(_("nothing failing"), "green")
        for n, probe in enumerate(counts.failing):
            failing.append("\n" if n else "")
            failing.append(f"{STATE_LABEL.get(probe.state, '?'):<5}", STATE_STYLE.get(probe.state, ""))
            failing.append(clean(probe.name), "bold")
            if output := clean(probe.output.split("\n")[0]):
                failing.append(f"  {output}", "dim")
        self.query_one(".failing", Static).update(failing)


class OnDuty(Static):
    """Who is on duty now: login, name, duties, phone."""

    DEFAULT_CSS = "OnDuty { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"

    def show(self, panels: Panels) -> None:
        members = on_duty(panels.roster)
        text = Text(_("ON DUTY"), "bold", no_wrap=True, overflow="ellipsis", end="")
        if not members:
            text.append("\n" + _("nobody is on duty"), "bold reverse red")
        for member in members:
            text.append("\n")
            text.append(clean(member["login"]), "bold")
            if member.get("name"):
                text.append(f" {clean(member['name'])}")
            if member.get("duties"):
                text.append(f"  {clean(','.join(member['duties']))}", "dim")
            if member.get("phone"):
                text.append(f"  {clean(member['phone'])}")
        self.update(text)


def status_line(panels: Panels) -> Text:
    """The probes and who is on duty in one line, for a screen with no room for the side."""
    members = on_duty(panels.roster)
    text = Text(" " + _("on duty") + " ", "bold", no_wrap=True, overflow="ellipsis", end="")
    text.append(
        ", ".join(clean(m["login"]) for m in members) if members else _("nobody"), "bold" if members else "bold red"
    )
    counts = ProbeCounts.of(panels.probes)
    text.append("  " + _("probes") + " ", "bold")
    for label, value, style in (
        (_("ok"), counts.ok, "green"),
        (_("warn"), counts.warn, "bold yellow"),
        (_("crit"), counts.crit, "bold red"),
        (_("stale"), counts.stale, "magenta"),
    ):
        text.append(f"{value} {label} ", style if value else "dim")
    if counts.failing:
        text.append("· " + _("failing") + " ", "dim")
        text.append(", ".join(clean(p.name) for p in counts.failing), "bold")
    return text
