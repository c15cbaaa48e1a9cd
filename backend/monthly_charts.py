"""The monthly report's charts, as SVG images for its HTML page (`report month --format
html`): incidents reported per day by level, and deadlines met on time per rule.

Drawn with matplotlib (the `report` extra: `pip install 'opsdeck[report]'`); without it
the page says how to get them and keeps every number in its tables. Text stays text in
the SVG (`svg.fonttype = none`), escaped by matplotlib, so the browser draws Chinese with
its own fonts; the only words in a chart are level names, rule keys and our own labels.
"""

from __future__ import annotations

import io
from datetime import tzinfo
from typing import Any

from sqlmodel import Session

from . import stats_series
from .i18n import _
from .stats import Figures
from .timeutil import parse_period

LEVEL_COLOURS = {"I": "#8b0000", "II": "#d62728", "III": "#ff7f0e", "IV": "#1f77b4", "-": "#7f7f7f"}
LEVEL_HATCHES = {"I": "xx", "II": "//", "III": "..", "IV": "", "-": "--"}  # shape, not colour alone


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def charts(session: Session, month: str, figures: Figures, zone: tzinfo) -> list[tuple[str, str]]:
    """`[(title, svg)]` for the month; `figures` is stats.compute(...)['total'] of it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["font.family"] = ["Noto Sans CJK SC", "DejaVu Sans", "sans-serif"]
    since, until = parse_period(month, zone)
    series = stats_series.daily(session, since, until, zone)
    out = [(_("Incidents reported per day, by level"), _per_day(plt, series))]
    rules = [(rule, c["on_time_share"]) for rule, c in figures["clocks"].items() if c["on_time_share"] is not None]
    if rules:
        out.append((_("Deadlines met on time, per rule (%)"), _compliance(plt, rules)))
    return out


def _svg(plt: Any, figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the element alone, inline in the page


def _per_day(plt: Any, series: stats_series.Series) -> str:
    figure, axes = plt.subplots(figsize=(9, 3.2))
    positions = list(range(1, len(series.days) + 1))
    bottom = [0] * len(positions)
    for level, counts in series.by_level.items():
        if not sum(counts):
            continue
        axes.bar(
            positions,
            counts,
            bottom=bottom,
            label=f"{level} ({sum(counts)})",
            color=LEVEL_COLOURS[level],
            hatch=LEVEL_HATCHES[level],
            edgecolor="white",
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_xticks(positions[::5], [f"{d:%m-%d}" for d in series.days][::5])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel(_("incidents"))
    if any(bottom):
        axes.legend(loc="upper left", frameon=False)
    return _svg(plt, figure)


def _compliance(plt: Any, rules: list[tuple[str, float]]) -> str:
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(rules) + 0.8))
    names = [rule for rule, _share in rules]
    shares = [share * 100 for _rule, share in rules]
    bars = axes.barh(names, shares, color="#4c72b0")
    axes.bar_label(bars, labels=[f"{s:.0f}%" for s in shares], padding=3)  # the number, not the length alone
    axes.set_xlim(0, 110)
    axes.invert_yaxis()
    return _svg(plt, figure)
