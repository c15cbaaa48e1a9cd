"""`F` on the board (and "Statistics" in the palette): the figures of `opsdeck stats` for a
month, as charts drawn in the terminal (textual-plotext) or as a table. `[` and `]` turn
the month, `g` changes the grouping, `c` the chart, `t` shows the table instead.
Definitions: docs/stats.md. Every chart has its numbers beside it: never colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from opsdeck.backend import clocks, stats, stats_series
from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.backend.stats import Stats
from opsdeck.backend.timeutil import format_duration, parse_period
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

GROUPINGS = (None, "category", "level", "system", "owner", "duty")
CHARTS = ("per_day", "classify", "compliance")


@dataclass(frozen=True)
class Loaded:
    month: str
    figures: Stats
    series: stats_series.Series
    classify_target_min: float


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


class StatsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="stats.back"),
        Binding("left_square_bracket", "previous_month", _("Previous month"), id="stats.previous"),
        Binding("right_square_bracket", "next_month", _("Next month"), id="stats.next"),
        Binding("g", "grouping", _("Grouping"), id="stats.grouping"),
        Binding("c", "chart", _("Chart"), id="stats.chart"),
        Binding("t", "table", _("Table/charts"), id="stats.table"),
    ]
    DEFAULT_CSS = """
    StatsScreen #stats-title { height: 1; text-style: bold; padding: 0 1; }
    StatsScreen #stats-numbers { height: auto; max-height: 6; padding: 0 1; }
    StatsScreen PlotextPlot { height: 1fr; }
    StatsScreen DataTable { height: 1fr; display: none; }
    StatsScreen.tabular DataTable { display: block; }
    StatsScreen.tabular PlotextPlot { display: none; }
    """

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.ctx = context
        local = context.clock().astimezone(context.zone)
        self.month = f"{local.year:04d}-{local.month:02d}"
        self.grouping: str | None = None
        self.chart = CHARTS[0]
        self.loaded: Loaded | None = None

    def compose(self) -> ComposeResult:
        yield Static(_("loading…"), id="stats-title")
        yield Static("", id="stats-numbers")
        yield PlotextPlot(id="stats-chart")
        yield DataTable(id="stats-table", zebra_stripes=True, cursor_type="row")
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def load(self) -> Loaded:
        since, until = parse_period(self.month, self.ctx.zone)
        now = self.ctx.clock()
        with self.ctx.store.read() as session:
            figures = stats.compute(session, since, until, now, self.grouping, self.ctx.zone)
            series = stats_series.daily(session, since, until, self.ctx.zone)
            rule = clocks.load_policy(session).deadlines.rule("classify")
        target = rule.after.total_seconds() / 60 if rule is not None and rule.after is not None else 30.0
        return Loaded(self.month, figures, series, target)

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "stats" and event.worker.state == WorkerState.SUCCESS:
            self.loaded = event.worker.result
            self.show()

    # -- drawing -----------------------------------------------------------------------

    def show(self) -> None:
        loaded = self.loaded
        if loaded is None:
            return
        by = _("by {grouping}").format(grouping=self.grouping) if self.grouping else _("all incidents")
        self.query_one("#stats-title", Static).update(
            Text(_("Statistics {month} ({by})").format(month=loaded.month, by=by))
        )
        total = loaded.figures["total"]
        per_level = "  ".join(f"{level} {sum(v)}" for level, v in loaded.series.by_level.items() if sum(v))
        numbers = Text()
        numbers.append(
            _("opened {opened}, closed {closed}, false alarms {false_alarms}, reopened {reopened}").format(**total)
        )
        numbers.append("\n" + (per_level or _("no incidents reported")))
        numbers.append(
            "\n"
            + _("median time to classify {classify} (target {target:.0f} min), to resolve {resolve}").format(
                classify=format_duration(total["time_to_classify"]["median_s"]),
                target=loaded.classify_target_min,
                resolve=format_duration(total["time_to_resolve"]["median_s"]),
            )
        )
        self.query_one("#stats-numbers", Static).update(numbers)
        self._draw_chart(loaded)
        self._fill_table(loaded)

    def _draw_chart(self, loaded: Loaded) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        plt.theme("clear" if self.ctx.ascii else "textual-design-dark")
        days = loaded.series.days
        labels = [f"{d.day:02d}" for d in days]
        if self.chart == "per_day":
            plt.title(_("Incidents reported per day, by level"))
            shown = [(level, list(v)) for level, v in loaded.series.by_level.items() if sum(v)]
            if shown:
                positions: list[float] = [*range(1, len(days) + 1)]
                # plotext's stacked_bar takes `labels` (one per series); textual-plotext's stub says `label`
                plt.stacked_bar(positions, [v for _level, v in shown], labels=[level for level, _v in shown])  # type: ignore[call-arg]
                plt.xticks(positions[::5], labels[::5])  # chosen here: the same picture at every draw
                most = max(sum(day) for day in zip(*(v for _level, v in shown), strict=True))
                step = max(1, -(-most // 5))
                plt.yticks(list(range(0, most + 1, step)))  # whole incidents
        elif self.chart == "classify":
            plt.title(_("Median time to classify per day (minutes), and the target"))
            points = [(n, m) for n, m in enumerate(loaded.series.classify_median_min) if m is not None]
            if points:
                plt.scatter([n for n, _m in points], [m for _n, m in points], label=_("median"), marker="x")
            plt.hline(loaded.classify_target_min)
            ticks: list[float] = [*range(len(days))]
            plt.xticks(ticks[::5], labels[::5])
        else:
            plt.title(_("Deadlines met on time, per rule (%)"))
            rules = [(rule, c["on_time_share"]) for rule, c in loaded.figures["total"]["clocks"].items()]
            # the share in the label too: a bar's length is not a number
            decided = [(f"{clean(rule)} {share * 100:.0f}%", share * 100) for rule, share in rules if share is not None]
            if decided:
                plt.bar([r for r, _s in decided], [s for _r, s in decided], orientation="horizontal")
                plt.xlim(0, 100)
        plot.refresh()

    def _fill_table(self, loaded: Loaded) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for title in (
            self.grouping or _("group"),
            _("opened"),
            _("closed"),
            _("false alarms"),
            _("classify (median)"),
            _("resolve (median)"),
            _("deadlines on time"),
        ):
            table.add_column(title)
        groups = loaded.figures["groups"] if self.grouping else []
        for group in [*groups, loaded.figures["total"]]:
            clocks_ = group["clocks"].values()
            met = sum(c["met"] for c in clocks_)
            decided = sum(c["met"] + c["met_late"] + c["breached"] for c in clocks_)
            table.add_row(
                Text(_("Total") if group["key"] == "total" else clean(group["key"])),
                str(group["opened"]),
                str(group["closed"]),
                str(group["false_alarms"]),
                format_duration(group["time_to_classify"]["median_s"]),
                format_duration(group["time_to_resolve"]["median_s"]),
                _share(met / decided if decided else None),
            )

    # -- keys --------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def _turn(self, months: int) -> None:
        year, month = int(self.month[:4]), int(self.month[5:7]) + months
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        self.month = f"{year:04d}-{month:02d}"
        self.load()

    def action_previous_month(self) -> None:
        self._turn(-1)

    def action_next_month(self) -> None:
        self._turn(1)

    def action_grouping(self) -> None:
        self.grouping = GROUPINGS[(GROUPINGS.index(self.grouping) + 1) % len(GROUPINGS)]
        self.load()

    def action_chart(self) -> None:
        self.chart = CHARTS[(CHARTS.index(self.chart) + 1) % len(CHARTS)]
        self.remove_class("tabular")
        self.show()

    def action_table(self) -> None:
        self.toggle_class("tabular")
