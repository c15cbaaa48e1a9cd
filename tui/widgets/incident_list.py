"""The incident list: a Line API widget that draws only the visible rows.

It holds the board order (ids) and a page cache of row snapshots; it asks for the
rows it is missing with a message. The countdown is computed from the stored due time
at draw time, and one timer repaints only the countdown cells. Textual sends a changed
line from the start of its widget's stretch of the line (a "chop"), so the countdown
must start one; and it draws a widget's whole line before cropping it to the changed
cells. So the level column and the countdown column are widgets of their own
(`LevelColumn`, `CountdownColumn`) to the list's left, drawn from the list's state: each
second the terminal gets the countdown cells and nothing else, and drawing them draws
nine cells a line, not the line.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Self

from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.color import Color
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from opsdeck.backend import words
from opsdeck.backend.board_page import Row
from opsdeck.backend.domain import Category
from opsdeck.backend.i18n import _
from opsdeck.backend.i18n import current as current_language
from opsdeck.backend.ranking import Clock, clock_label
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import COUNTDOWN_WIDTH, format_age, format_countdown

from ..text import LEVEL_LABEL, cell, rcell

LEVEL_W, CAT_W, OWNER_W, STATUS_W, AGE_W = 5, 14, 10, 9, 6
COUNTDOWN_X = LEVEL_W + 1  # the level column's width: level, a mark for bulk actions, a gap
LIST_X = COUNTDOWN_X + COUNTDOWN_WIDTH  # where the list itself starts: after the countdown column
CATEGORY_SHORT = words.CATEGORY_SHORT_EN


def category_short(category: str) -> str:
    """The category as the board's narrow column shows it, in the chosen language."""
    return _short_names(current_language()).get(category) or clean(words.category_short(category))


@cache
def _short_names(language: str) -> dict[str, str]:
    # Once per language, looked up after it is chosen at start.
    return {
        **{c.value: words.category_short(c.value) for c in Category},
        "reported": _("NEW"),
        "acknowledged": _("ack"),
        "resolved": _("resolved"),
    }


def status_short(status: str) -> str:
    return _short_names(current_language()).get(status, clean(status))


CURSOR_CONTRAST = 2.0  # the cursor row's background against the list's, as a 256-colour terminal shows them


def contrast_256(one: Color, other: Color) -> float:
    """WCAG contrast of two colours after a 256-colour terminal rounds them."""

    def luminance(color: Color) -> float:
        rich = color.rich_color.downgrade(ColorSystem.EIGHT_BIT)
        red, green, blue = rich.get_truecolor()

        def channel(value: int) -> float:
            v = value / 255
            return v / 12.92 if v <= 0.03928 else float(((v + 0.055) / 1.055) ** 2.4)

        return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)

    a, b = luminance(one), luminance(other)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


STATUS_SHORT = {"reported": "NEW", "acknowledged": "ack", "resolved": "resolved"}


CLOCK_W, CLOCK_WIDE_W, WIDE_AT = 6, 11, 90  # the clock's name after the countdown: short below WIDE_AT


def clock_width(width: int) -> int:
    """The clock name's cells on a board `width` columns wide (the level column included)."""
    return CLOCK_WIDE_W if width >= WIDE_AT else CLOCK_W


def title_width(width: int) -> int:
    """What is left for the title once the fixed columns and their gaps are placed."""
    fixed = LEVEL_W + 1 + COUNTDOWN_WIDTH + 1 + clock_width(width) + 1 + CAT_W + 1 + 1 + OWNER_W + 1 + STATUS_W + 1
    return max(8, width - fixed - AGE_W)


class IncidentList(ScrollView, can_focus=True):
    """Open incidents in board order; j/k or arrows move, the cursor follows its incident."""

    BINDINGS = [
        Binding("j,down", "cursor(1)", _("Down"), id="list.down", show=False),
        Binding("k,up", "cursor(-1)", _("Up"), id="list.up", show=False),
        Binding("g,home", "cursor_to(0)", _("Top"), id="list.top", show=False),
        Binding("G,end", "cursor_to(-1)", _("Bottom"), id="list.bottom", show=False),
        Binding("pagedown,ctrl+f", "page(1)", _("Page down"), id="list.page_down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", _("Page up"), id="list.page_up", show=False),
        Binding("enter", "activate", _("Open"), id="list.open"),
        Binding("space", "mark", _("Mark"), id="list.mark", show=False),
    ]
    COMPONENT_CLASSES = {
        "incident-list--level-i",
        "incident-list--level-ii",
        "incident-list--level-iii",
        "incident-list--level-iv",
        "incident-list--level-none",
        "incident-list--due-pending",
        "incident-list--due-warning",
        "incident-list--due-breached",
        "incident-list--cursor",
        "incident-list--header",
        "incident-list--dim",
    }
    DEFAULT_CSS = """
    IncidentList { background: $surface; overflow-x: hidden; }
    IncidentList > .incident-list--level-i { color: $error; text-style: bold reverse; }
    IncidentList > .incident-list--level-ii { color: $error; text-style: bold; }
    IncidentList > .incident-list--level-iii { color: $warning; text-style: bold; }
    IncidentList > .incident-list--level-iv { color: $primary; }
    IncidentList > .incident-list--level-none { color: $text-muted; }
    IncidentList > .incident-list--due-pending { color: $text; }
    IncidentList > .incident-list--due-warning { color: $warning; text-style: bold; }
    IncidentList > .incident-list--due-breached { color: $error; text-style: bold reverse; }
    IncidentList > .incident-list--header { color: $text-muted; text-style: bold; }
    IncidentList > .incident-list--dim { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, incident_id: int | None) -> None:
            self.incident_id = incident_id
            super().__init__()

    class Activated(Message):
        def __init__(self, incident_id: int) -> None:
            self.incident_id = incident_id
            super().__init__()

    class Marked(Message):
        """The marked rows changed (space)."""

    class NeedRows(Message):
        """Rows to read from the store: the screen reads them in a worker."""

        def __init__(self, ids: list[int]) -> None:
            self.ids = ids
            super().__init__()

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.order: list[int] = []
        self.rows: LRUCache[int, Row] = LRUCache(4096)
        self._tails: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)  # a line after its countdown, styled
        self._asked: set[int] = set()
        self.marked: set[int] = set()  # space: rows for a bulk action
        self.flashing: dict[int, datetime] = {}  # an arrival announced: the row flashes until then
        # What each line last showed, by the line's y in the view: its countdown (drawn by
        # the countdown column) and its clock's name (drawn by the list), each with the
        # incident it was drawn for. The tick repaints only the cells that now read otherwise.
        self._counted: dict[int, tuple[int, Segment]] = {}
        self._named: dict[int, tuple[int, str]] = {}
        self._base_style: Style | None = None  # the widget's style, read once per render_lines
        self.paints = 0  # batches of lines rendered: a screen update drew the list (screens/board.py)
        self._styles_by_name: dict[str, Style] = {}  # likewise its components' (emptied per render_lines)
        self.level_column: LevelColumn | None = None  # set by the column itself
        self.countdown_column: CountdownColumn | None = None  # likewise
        self.empty_text = _("No open incidents.")

    # -- data in -------------------------------------------------------------------------

    def set_order(self, order: Sequence[int]) -> None:
        """New board order; the cursor stays on its incident and on its screen row."""
        selected, shown, scroll_y = self.selected_id, self.visible_ids(), int(self.scroll_offset.y)
        screen_row = self.cursor - scroll_y
        self.order = list(order)
        self.virtual_size = Size(0, len(self.order))  # as wide as the view: never a horizontal scrollbar
        if self.countdown_column is not None:  # an empty list's text starts beside the level column
            self.countdown_column.display = bool(self.order)
        # Mostly the cursor's incident kept its place (time alone re-ranks a 100k board about
        # once a second, far below the screen): no search of the whole order then.
        same_place = self.cursor < len(self.order) and self.order[self.cursor] == selected
        index = self.cursor if same_place else self._find(selected)
        if index is not None:
            self.scroll_to(y=max(0, index - screen_row), animate=False, immediate=True)
            self.set_reactive(IncidentList.cursor, index)
        else:
            self.set_reactive(IncidentList.cursor, min(self.cursor, max(0, len(self.order) - 1)))
        if int(self.scroll_offset.y) != scroll_y:
            self.refresh()
        else:  # the lines from the first that shows another incident down; none if none does
            now_shown = self.visible_ids()
            first = next((y for y, (a, b) in enumerate(zip(shown, now_shown, strict=False)) if a != b), None)
            if first is None and len(shown) != len(now_shown):
                first = min(len(shown), len(now_shown))
            if first is not None:
                self.refresh(Region(0, first, self.size.width, self.size.height - first))
        self.post_message(self.Highlighted(self.selected_id))

    def _find(self, incident_id: int | None) -> int | None:
        if incident_id is None:
            return None
        try:
            return self.order.index(incident_id)
        except ValueError:
            return None

    def update_rows(self, rows: dict[int, Row], *, stale: Sequence[int] = ()) -> None:
        for incident_id in stale:
            self.rows.discard(incident_id)
            self._asked.discard(incident_id)
        for incident_id, row in rows.items():
            self.rows.discard(incident_id)  # LRUCache.set keeps an existing value
            self.rows.set(incident_id, row)
            self._asked.discard(incident_id)
        self.refresh()

    @property
    def selected_id(self) -> int | None:
        return self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None

    # -- drawing -------------------------------------------------------------------------

    def line_width(self) -> int:
        """The cells a board line spans: the columns to the list's left and its own (not
        its scrollbar). The same whether the countdown column shows or not (it hides on an
        empty list, which then takes its cells): the header's columns stay put."""
        shown = self.countdown_column is not None and self.countdown_column.display
        return self.scrollable_content_region.width + (LIST_X if shown else COUNTDOWN_X)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style walks every ancestor and a component's style the CSS: once
        # per batch of lines, not per line (a theme or CSS change repaints a new batch).
        self._base_style = self.rich_style
        self._styles_by_name.clear()
        self.paints += 1
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base = self._base_style or self.rich_style
        scroll_y = int(self.scroll_offset.y)
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.order):
            self._named.pop(y, None)
            lines = self.empty_text.splitlines() if not self.order else []
            if 1 <= y <= len(lines):
                return Strip([Segment(cell(lines[y - 1], width), self._style("dim"))])
            return Strip.blank(width, base)
        incident_id = self.order[index]
        row = self.rows.get(incident_id)
        if row is None:
            self._named.pop(y, None)
            self._ask(scroll_y)
            return Strip([Segment(cell(f"#{incident_id} …", width), self._style("dim"))])
        now = self.clock()
        name = self._clock_name(row.clock(now), clock_width(self.line_width()))
        self._named[y] = (incident_id, name)
        # The widget's own style under every segment: also no segment is left without a
        # style (Textual's NO_COLOR filter cannot handle one). The line changes far less
        # often than the countdown beside it (a second): it is kept, styled, between ticks.
        cursor = self._cursor_mark() if index == self.cursor else None
        flash = self._flash_on(incident_id, now)
        age = format_age((now - row.reported_at).total_seconds())
        tail_key: tuple[object, ...] = (row.id, row.version, width, age, row.probe_critical, name, cursor, flash, base)
        tail = self._tails.get(tail_key)
        if tail is None:
            rest = [Segment(" " + name + " ", self._style("dim")), *self._rest(row, width, age)]
            if cursor is not None:  # over the row's own styles (the countdown keeps its band)
                rest = list(Segment.apply_style(rest, post_style=cursor))
            if flash:
                rest = list(Segment.apply_style(rest, post_style=Style(reverse=True, bold=True)))
            tail = Strip(rest).apply_style(base).crop(0, width)
            self._tails.set(tail_key, tail)
        return tail

    @staticmethod
    def _clock_name(clock: Clock | None, name_w: int) -> str:
        """The name of the clock a line counts down, as the line shows it."""
        return cell(clock_label(clock.rule if clock else None, short=name_w == CLOCK_W), name_w)

    def countdown_line(self, y: int) -> Strip:
        """Line `y` of the countdown column: the ranking clock's countdown in its band's
        style; blank for a row not read yet and below the last."""
        base = self._base_style or self.rich_style
        index = int(self.scroll_offset.y) + y
        row = self.rows.get(self.order[index]) if index < len(self.order) else None
        if row is None:
            self._counted.pop(y, None)
            return Strip.blank(COUNTDOWN_WIDTH, base)
        now = self.clock()
        countdown = self._countdown(row.clock(now), now)
        self._counted[y] = (row.id, countdown)
        return Strip([Segment(countdown.text, base + countdown.style if countdown.style else base)], COUNTDOWN_WIDTH)

    def level_line(self, y: int, width: int) -> Strip:
        """Line `y` of the level column: the level, `*` when marked for a bulk action."""
        base = self._base_style or self.rich_style
        index = int(self.scroll_offset.y) + y
        row = self.rows.get(self.order[index]) if index < len(self.order) else None
        if row is None:
            return Strip.blank(width, base)
        level = LEVEL_LABEL.get(row.level, "--")
        segments = [
            Segment(cell(level, LEVEL_W - 1), self._level_style(row.level)),
            Segment("*" if row.id in self.marked else " ", Style(bold=True)),
            Segment(" " * (width - LEVEL_W)),
        ]
        if index == self.cursor:
            segments = list(Segment.apply_style(segments, post_style=self._cursor_mark()))
        return Strip(segments, width).apply_style(base).crop(0, width)

    def _cursor_mark(self) -> Style:
        return self._cursor_style() if self.has_focus_within else Style(underline=True)

    def _rest(self, row: Row, width: int, age: str) -> list[Segment]:
        """The line after the clock's name: category, title, owner, status, age."""
        status = status_short(row.status)
        if row.probe_critical:  # its probe went CRITICAL again after the resolve
            status = "!" + status
        return [
            Segment(cell(category_short(row.category), CAT_W) + " ", self._style("dim")),
            Segment(cell(f"#{row.id} {row.title}", title_width(self.line_width())) + " "),
            Segment(cell(row.owner or "-", OWNER_W) + " ", self._style("dim") if not row.owner else Style()),
            Segment(
                cell(status, STATUS_W) + " ",
                Style(bold=row.status == "reported" or row.probe_critical, color="red" if row.probe_critical else None),
            ),
            Segment(rcell(age, AGE_W), self._style("dim")),
        ]

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Self:
        """Whatever repaints the list (data, cursor, scrolling, focus) repaints the level
        and countdown columns' same lines; the countdown tick does not come through here."""
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        if repaint:
            for column in (self.level_column, self.countdown_column):
                if column is not None:
                    # Not laid out yet (the countdown column shows once the list has rows):
                    # a region of its zero width would repaint nothing, and a line drawn
                    # blank would stay blank, so it repaints whole.
                    width = column.size.width
                    column.refresh(*(Region(0, r.y, width, r.height) for r in regions if width))
        return self

    def _countdown(self, clock: Clock | None, now: datetime) -> Segment:
        if clock is None:
            return Segment(" " * COUNTDOWN_WIDTH)
        remaining = (clock.due_at - now).total_seconds()
        if now > clock.due_at:
            band = "breached"
        elif clock.warn_at is not None and now >= clock.warn_at:
            band = "warning"
        else:
            band = "pending"
        return Segment(format_countdown(remaining), self._style(f"due-{band}"))

    def _cursor_style(self) -> Style:
        """The row under the cursor: `incident-list--cursor`'s background when the CSS or a
        theme sets one; else the list's background moved toward the text colour until the
        two differ by CURSOR_CONTRAST even at 256 colours (a step of 12 % was 236 on 234),
        so every column keeps its own colour and the row stands out in every theme."""
        own = self._style("cursor")
        base, text = self.rich_style.bgcolor, self.rich_style.color
        if own.bgcolor is not None:
            return Style(bgcolor=own.bgcolor, bold=True) + own
        if base is None or text is None or base.is_default or text.is_default:
            return Style(reverse=True, bold=True) + own  # an ANSI theme: the terminal's own colours
        background, foreground = Color.from_rich_color(base), Color.from_rich_color(text)
        for step in range(5, 13):  # at most 60 % of the way: the text must stay readable on it
            shifted = background.blend(foreground, step / 20)
            if contrast_256(background, shifted) >= CURSOR_CONTRAST:
                return Style(bgcolor=shifted.rich_color, bold=True) + own
        return Style(reverse=True, bold=True) + own  # a theme of little contrast (solarized-dark)

    def _style(self, name: str) -> Style:
        style = self._styles_by_name.get(name)
        if style is None:
            style = self._styles_by_name[name] = self.get_component_rich_style(f"incident-list--{name}", partial=True)
        return style

    def _level_style(self, level: str | None) -> Style:
        return self._style(f"level-{(level or 'none').lower()}")

    def _ask(self, scroll_y: int) -> None:
        """Ask for the visible page and a margin around it, once."""
        start = max(0, scroll_y - 50)
        wanted = [
            i
            for i in self.order[start : scroll_y + self.size.height + 50]
            if i not in self.rows and i not in self._asked
        ]
        if wanted:
            self._asked.update(wanted)
            self.post_message(self.NeedRows(wanted))

    def tick(self) -> None:
        """Once a second: repaint the countdown column's cells that now read differently,
        and the list's cells of a clock's name where the ranking clock changed (a reporting
        clock entered its warning band); nothing else (`super()` skips this class's
        refresh, which repaints the columns too). A countdown past an hour changes once a
        minute, so a board of far deadlines sends almost nothing; one under an hour sends
        its own cells."""
        if self.order:
            name_w = clock_width(self.line_width())
            now = self.clock()
            scroll_y = int(self.scroll_offset.y)
            countdowns: list[int] = []  # the lines whose countdown reads otherwise now
            for y, incident_id in enumerate(self.order[scroll_y : scroll_y + self.size.height]):
                counted, named = self._counted.get(y), self._named.get(y)
                row = self.rows.get(incident_id)
                if row is None:
                    continue  # drawn as a placeholder: its own refresh comes
                clock = row.clock(now)
                if counted is not None and counted[0] == incident_id and self._countdown(clock, now) != counted[1]:
                    countdowns.append(y)
                if named is not None and named[0] == incident_id and self._clock_name(clock, name_w) != named[1]:
                    super().refresh(Region(0, y, 1 + name_w, 1))  # the list's own cells: not the columns'
            # Runs of neighbouring lines as one region each: one batch of lines to draw, not
            # one per line (under an hour every countdown changes each second).
            column = self.countdown_column
            if column is not None and countdowns:  # (no region at all would repaint it whole)
                column.refresh(
                    *(Region(0, first, COUNTDOWN_WIDTH, last - first + 1) for first, last in _runs(countdowns))
                )
        if self.flashing:  # blinking rows on screen repaint whole; ended flashes once more, then go
            now = self.clock()
            self._refresh_shown(self.flashing)
            self.flashing = {i: until for i, until in self.flashing.items() if now < until}

    def flash(self, incident_ids: Iterable[int], until: datetime) -> None:
        """These rows blink until then: those on screen repaint now, the others when shown.
        (A storm of a thousand announced rows costs a look at the lines on screen, not a
        search of the whole order per row.)"""
        flashed = set(incident_ids)
        self.flashing.update(dict.fromkeys(flashed, until))
        self._refresh_shown(flashed)

    def _refresh_shown(self, incident_ids: Container[int]) -> None:
        scroll_y = int(self.scroll_offset.y)
        for y, incident_id in enumerate(self.visible_ids()):
            if incident_id in incident_ids:
                self.refresh_lines(scroll_y + y)

    def _flash_on(self, incident_id: int, now: datetime) -> bool:
        """Flashing rows blink once a second (1 Hz, below the 2 Hz limit) until their time."""
        until = self.flashing.get(incident_id)
        return until is not None and now < until and int(now.timestamp()) % 2 == 0

    def visible_ids(self) -> list[int]:
        scroll_y = int(self.scroll_offset.y)
        return self.order[scroll_y : scroll_y + self.size.height]

    # -- keys ------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_lines(old)
        self.refresh_lines(new)
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        self.post_message(self.Highlighted(self.selected_id))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.order) - 1)) if self.order else 0

    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_cursor_to(self, index: int) -> None:
        self.cursor = len(self.order) - 1 if index < 0 else index

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 1)

    def action_mark(self) -> None:
        """Mark or unmark the row (bulk acknowledge, assign, close as duplicate), then move on."""
        incident_id = self.selected_id
        if incident_id is None:
            return
        self.marked.symmetric_difference_update({incident_id})
        self.refresh_lines(self.cursor)
        self.post_message(self.Marked())
        self.cursor += 1

    def action_activate(self) -> None:
        if self.selected_id is not None:
            self.post_message(self.Activated(self.selected_id))

    def on_focus(self) -> None:
        self.refresh_lines(self.cursor)

    def on_blur(self) -> None:
        self.refresh_lines(self.cursor)


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """Ascending line numbers as (first, last) runs of neighbours: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for line in lines:
        if runs and runs[-1][1] == line - 1:
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return runs


class _Column(Widget):
    """A column to the list's left, drawn from the list's rows, cursor and scroll
    position; a widget of its own only so that the countdown starts a chop and is drawn
    alone (see the module docstring). A click picks the row, as on the list."""

    def __init__(self, incident_list: IncidentList) -> None:
        super().__init__()
        self.incident_list = incident_list

    def render_lines(self, crop: Region) -> list[Strip]:
        self.incident_list._styles_by_name.clear()  # a new batch reads the CSS afresh, as the list's does
        return super().render_lines(crop)

    def on_click(self, event: events.Click) -> None:
        incidents = self.incident_list
        index = int(incidents.scroll_offset.y) + event.y
        if index < len(incidents.order):
            incidents.focus()
            incidents.cursor = index


class LevelColumn(_Column):
    """The level and the bulk-action mark."""

    DEFAULT_CSS = f"LevelColumn {{ width: {COUNTDOWN_X}; height: 1fr; background: $surface; }}"

    def __init__(self, incident_list: IncidentList) -> None:
        super().__init__(incident_list)
        incident_list.level_column = self

    def render_line(self, y: int) -> Strip:
        return self.incident_list.level_line(y, self.size.width)


class CountdownColumn(_Column):
    """The countdown of each row's ranking clock: all the tick repaints."""

    DEFAULT_CSS = f"CountdownColumn {{ width: {COUNTDOWN_WIDTH}; height: 1fr; background: $surface; }}"

    def __init__(self, incident_list: IncidentList) -> None:
        super().__init__(incident_list)
        incident_list.countdown_column = self
        self.display = False  # until the list has rows (IncidentList.set_order)

    def render_line(self, y: int) -> Strip:
        return self.incident_list.countdown_line(y)
