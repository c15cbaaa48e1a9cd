"""The board's status line, always there: the filter and how many it shows, the sort,
the marked rows, the operator's duty state, the store; or what was wrong with the
filter just typed. Short below 100 columns. A pure function draws it; the widget
only holds the text."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean

SHORT_BELOW = 100


@dataclass(frozen=True)
class Status:
    filter_text: str = ""  # BoardFilter.describe(), "" when none
    matched: int = 0  # incidents the list holds
    total: int | None = None  # every one in scope (None: not known)
    scope: str = ""  # "open" (translated): "all 9 open"
    sort: str = ""  # its name, translated
    marked: int = 0
    duty: str = ""  # "on duty", "off duty", "viewer: read-only", ...
    where: str = ""  # the store
    error: str = ""  # the filter just typed was refused: why and how to fix it


def status_text(status: Status, width: int) -> Text:
    short = width < SHORT_BELOW
    if status.error:
        return Text.assemble(("! ", "bold"), (clean(status.error), "bold"), no_wrap=True, overflow="ellipsis")
    parts: list[tuple[str, str]] = []
    total = "?" if status.total is None else str(status.total)
    if status.filter_text:
        text = (
            _("{filter} {matched}/{total} esc").format(filter=status.filter_text, matched=status.matched, total=total)
            if short
            else _("filter {filter} — {matched} of {total}, esc clears").format(
                filter=status.filter_text, matched=status.matched, total=total
            )
        )
        parts.append((text, "bold reverse"))
    else:
        scope = status.scope
        parts.append(
            (
                _("{total} {scope}").format(total=total, scope=scope)
                if short
                else _("all {total} {scope}").format(total=total, scope=scope),
                "",
            )
        )
    parts.append(((_("by {sort}") if short else _("sort: {sort}")).format(sort=status.sort), ""))
    if status.marked:
        parts.append((_("{count} marked").format(count=status.marked), "bold"))
    if status.duty:
        parts.append((status.duty, ""))
    if status.where:
        parts.append((clean(status.where), "dim"))
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for n, (text, style) in enumerate(parts):
        if n:
            out.append(" · ", "dim")
        out.append(clean(text), style)
    return out


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; }
    StatusLine.-error { background: $error; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.status = Status()
        self._shown: Text | None = None

    def show(self, status: Status) -> None:
        self.status = status
        self.set_class(bool(status.error), "-error")
        text = status_text(status, self.size.width or self.app.size.width)
        if text != self._shown:  # the same line again is not sent again (a 100k board re-ranks ~1/s)
            self._shown = text
            self.update(text, layout=False)  # one line, always

    def on_resize(self) -> None:
        self.show(self.status)
