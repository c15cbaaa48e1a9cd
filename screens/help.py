"""`?`: every key, and a legend of every colour and symbol the board uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker

from opsdeck.backend import clocks, ranking
from opsdeck.backend.i18n import _
from opsdeck.backend.policy import Policy
from opsdeck.tui.context import BoardContext


@dataclass(frozen=True)
class Figures:
    """The policy's numbers the legend names: none is a literal of the legend's own."""

    classify_within: timedelta | None  # the classify clock (None: the policy has none)
    warning_band: float  # the fraction of a clock's time that is its warning band

    @classmethod
    def of(cls, policy: Policy) -> Figures:
        classify = policy.deadlines.rule("classify")
        band = classify.warning if classify else float(policy.document.get("deadlines", {}).get("warning_band", 0.2))
        return cls(classify.after if classify else None, band)


def legend(figures: Figures) -> list[tuple[str, str, str]]:
    """What the board shows, its style, what it means: looked up when drawn."""
    if figures.classify_within is None:
        unclassified = _("not classified yet")
    else:
        minutes = round(figures.classify_within.total_seconds() / 60)
        unclassified = _("not classified yet (due within {minutes} min of the report)").format(minutes=minutes)
    band = _("in its warning band (the last {percent} % of its time)").format(percent=round(figures.warning_band * 100))
    return [
        ("I!!!", "bold reverse red", _("level I 特别重大: outage over 24 h")),
        ("II!!", "bold red", _("level II 重大: 12-24 h")),
        ("III!", "bold yellow", _("level III 较大: 2-12 h")),
        ("IV", "blue", _("level IV 一般: up to 2 h")),
        ("--", "dim", unclassified),
        ("   12:34", "", _("next deadline, counting down (mm:ss under an hour, then 3h05m, then 2d04h)")),
        ("   12:34 lead.", "", _("the clock that ranks the row, by name (see the board order below)")),
        ("   03:10", "bold yellow", band),
        ("  -05:00", "bold reverse red", _("breached: overdue by that much; it was escalated")),
        (_("NEW"), "bold", _("reported, nobody has acknowledged it")),
        ("OK WARN CRIT UNKN", "", _("probe states (the last result); 'stale' when none came in twice its interval")),
        (_("CRIT parent"), "", _("critical, but its parent system is down: no incident of its own")),
        (_("SILENCED"), "bold blue", _("a maintenance window: results stored, no incident opens")),
        (". w C ?", "dim", _("a probe's recent results, oldest first: OK, warning, critical, unknown")),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", _("Close"), id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 110; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context
        self.figures: Figures | None = None  # the policy's, once read

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._keys())
            yield Static(id="legend")  # filled when the policy in force is read
            yield Static(self._order())

    def on_mount(self) -> None:
        self.read_policy()

    @work(thread=True, group="policy", exit_on_error=False)
    def read_policy(self) -> Figures:
        with self.ctx.store.read() as session:
            return Figures.of(clocks.load_policy(session))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "policy" and isinstance(event.worker.result, Figures):
            self.figures = event.worker.result
            self.query_one("#legend", Static).update(self._legend(self.figures))

    def _keys(self) -> Table:
        """Every binding with an id, of the screen below and its widgets, with all its keys,
        in two columns so that the legend fits below on a laptop's terminal."""
        table = Table(title=_("Keys"), title_justify="left", box=None, show_header=False, padding=(0, 1))
        for _column in range(2):
            table.add_column(min_width=10, no_wrap=True, style="bold")
            table.add_column(min_width=14, no_wrap=True)
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        seen: set[str] = set()
        cells: list[tuple[str, str]] = []
        for node in [below, *below.walk_children()]:
            for binding in getattr(type(node), "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.id or binding.id in seen:
                    continue
                seen.add(binding.id)
                remapped = self.ctx.keymap.get(binding.id)
                if remapped:
                    binding = binding.with_key(remapped)
                keys = " ".join(self.app.get_key_display(b) for b in Binding.make_bindings([binding]))
                cells.append((keys, binding.description))
        half = (len(cells) + 1) // 2
        for left, right in zip(cells[:half], [*cells[half:], ("", "")], strict=False):
            table.add_row(Text(left[0]), Text(left[1]), Text(right[0]), Text(right[1]))
        return table

    def _legend(self, figures: Figures) -> Table:
        table = Table(
            title="\n" + _("Legend: severity is never colour alone"),
            title_justify="left",
            box=None,
            show_header=False,
            padding=(0, 2),
        )
        for sample, style, meaning in legend(figures):
            table.add_row(Text.assemble((sample, style)), Text(meaning))
        return table

    def _order(self) -> Text:
        return Text("\n".join(["", _("Board order (due sort)"), *ranking.help_lines()]))
