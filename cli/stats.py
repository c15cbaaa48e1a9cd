"""`opsdeck stats`: incidents, response times and deadline compliance for a period."""

from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from opsdeck.backend import monthly, monthly_charts
from opsdeck.backend import stats as figures_of
from opsdeck.backend.domain import STATS_GROUPINGS as GROUPINGS
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import N_, _, set_language
from opsdeck.backend.sanitize import clean
from opsdeck.backend.stats import Figure, Figures, StatsJson
from opsdeck.backend.timeutil import TimeFormatError, format_duration, format_local, parse_period, parse_time, rfc3339
from opsdeck.backend.words import message_state
from opsdeck.cli.output import emit_json, write_bytes
from opsdeck.cli.registry import arg, command

if TYPE_CHECKING:
    from opsdeck.cli.context import Context


def period_time(text: str, now: datetime, zone: tzinfo) -> datetime:
    """The CLI's time grammar; a period (`2026-11`, `2026-11-28`, `2026-W48`) is its start."""

    return parse_time(text, now, zone)


@command(
    "stats",
    args=(
        arg(
            "--since",
            metavar="TIME",
            help=N_(
                "the period's start: 2026-11 (a month), 2026-W48 (a week), 2026-11-01, RFC 3339 or -30d "
                "(default: this month's start)"
            ),
        ),
        arg("--until", metavar="TIME", help=N_("the period's end, not included (default: now)")),
        arg(
            "--by",
            choices=list(GROUPINGS),
            help=N_("one group per category, level, system, owner, the owner's duty, month or ISO week (2026-W48)"),
        ),
        arg("--explain", action="store_true", help=N_("print what each figure counts, and exit")),
        arg("--csv", action="store_true", help=N_("CSV for spreadsheets: UTF-8 with BOM, durations in minutes")),
        arg(
            "--lang",
            choices=["zh_CN", "en"],
            help=N_("the text's language, and the CSV's column names (default: keys scripts read)"),
        ),
    ),
)
def stats(ctx: Context) -> int:
    a = ctx.args
    if getattr(a, "lang", None):
        set_language(a.lang)
    if a.explain:
        print(explained())
        return 0
    now = ctx.store.clock()
    local = now.astimezone(ctx.zone)
    start_of_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    times: dict[str, datetime] = {}
    for flag, text, default in (("--since", a.since, start_of_month), ("--until", a.until, now)):
        try:
            times[flag] = period_time(text, now, ctx.zone) if text is not None else default
        except TimeFormatError as error:
            raise InvalidInput(
                "bad_time",
                f"{flag}: {error}",
                _("write 2026-11, 2026-W48, 2026-11-01, 2026-11-01 08:00, 2026-11-01T08:00:00+08:00 or -30d"),
            ) from None
    since, until = times["--since"], times["--until"]
    if since >= until:
        raise InvalidInput(
            "empty_period",
            _("the period is empty: --since {since} is not before --until {until}").format(
                since=rfc3339(since), until=rfc3339(until)
            ),
            _("give a --since earlier than --until"),
        )
    with ctx.store.read() as session:
        computed = figures_of.compute(session, since, until, now, a.by, ctx.zone)
    found: StatsJson = {
        "since": rfc3339(since),
        "until": rfc3339(until),
        "by": computed["by"],
        "availability": computed["availability"],
        "groups": computed["groups"],
        "total": computed["total"],
    }
    if a.json and a.csv:
        raise InvalidInput("json_and_csv", _("--json and --csv exclude each other"), _("choose one"))
    if a.json:
        emit_json(found)
        return 0
    if a.csv:
        rows = figures_of.csv_rows(found)
        if a.lang:
            rows = [column_names(rows[0]), *rows[1:]]
        write_csv(rows)
        return 0
    print(render(found, ctx.zone))
    return 0


def explained() -> str:
    """The definitions, from docs/stats.md (shipped with the package as it is in the repository)."""

    return files("opsdeck.backend").joinpath("defaults", "stats.md").read_text(encoding="utf-8").rstrip()


def column_names(header: list[str]) -> list[str]:
    """The CSV's keys as a person reads them, in the language chosen (`--lang`)."""

    words = {
        "since": _("since"),
        "until": _("until"),
        "group": _("group"),
        "category": _("category"),
        "level": _("level"),
        "system": _("system"),
        "owner": _("owner"),
        "duty": _("duty"),
        "month": _("month"),
        "week": _("week"),
        "opened": _("opened"),
        "closed": _("closed"),
        "false_alarms": _("false alarms"),
        "duplicates": _("duplicates"),
        "reopened": _("reopened"),
        "past_level_bound": _("past the level's outage bound"),
        "records_filed": _("records filed"),
        "records_within_a_day": _("records filed within a day"),
        "calls_logged": _("calls logged"),
        "callbacks_owed": _("call-backs owed"),
    }
    figures = {
        "time_to_ack": _("time to acknowledge"),
        "time_to_classify": _("time to classify"),
        "time_to_cause": _("time to locate the cause"),
        "time_to_resolve": _("time to resolve"),
        "outage": _("outage length"),
    }
    stats_ = {
        "median_min": _("median (min)"),
        "p90_min": _("p90 (min)"),
        "max_min": _("max (min)"),
        "n": "n",
    }
    columns = {
        "met": _("met"),
        "met_late": _("late"),
        "breached": _("breached"),
        "waived": _("waived"),
        "open": _("open"),
        "superseded": _("superseded"),
        "on_time_share": _("on time"),
    }
    out = []
    for key in header:
        if key in words:
            out.append(words[key])
            continue
        figure = next((f for f in figures if key.startswith(f + "_") and key[len(f) + 1 :] in stats_), None)
        if figure is not None:
            out.append(f"{figures[figure]} {stats_[key[len(figure) + 1 :]]}")
        elif key.startswith("notifications_"):
            out.append(_("notifications {state}").format(state=message_state(key.removeprefix("notifications_"))))
        elif key.startswith("escalations_"):
            out.append(_("escalations {rule}").format(rule=key.removeprefix("escalations_")))
        else:
            rule, column = next(((key[: -len(c) - 1], c) for c in columns if key.endswith("_" + c)), (key, ""))
            out.append(f"{rule} {columns[column]}" if column else key)
    return out


def write_csv(rows: list[list[str]]) -> None:
    """UTF-8 with a byte order mark (so Excel reads Chinese right), CRLF line ends."""

    text = io.StringIO()
    csv.writer(text).writerows(rows)
    write_bytes(("\ufeff" + text.getvalue()).encode("utf-8"))


def render(found: StatsJson, zone: tzinfo) -> str:
    """The figures as plain text: one block per group, then the total."""
    # loads Rich's cell widths; only the text view pads
    from opsdeck.tui.text import pad, rpad

    since = parse_time(found["since"], datetime.now().astimezone(), zone)
    until = parse_time(found["until"], datetime.now().astimezone(), zone)
    lines = [
        _("Incidents reported from {since} to {until} (not included)").format(
            since=format_local(since, zone), until=format_local(until, zone)
        )
    ]
    blocks = found["groups"] if found["by"] else []
    for group in [*blocks, found["total"]]:
        title = _("Total") if group["key"] == "total" else clean(group["key"])
        if found["by"] and group["key"] != "total":
            title = f"{found['by']} = {title}"
        lines += ["", title]
        lines.append(
            "  "
            + _(
                "opened {opened}, closed {closed}, false alarms {false_alarms}, duplicates {duplicates}, "
                "reopened {reopened}"
            ).format(**group)
        )
        timed: tuple[tuple[Figure, str], ...] = (
            ("time_to_ack", _("time to acknowledge")),
            ("time_to_classify", _("time to classify")),
            ("time_to_cause", _("time to locate the cause")),
            ("time_to_resolve", _("time to resolve")),
            ("outage", _("outage length")),
        )
        for figure, label in timed:
            d = group[figure]
            lines.append(
                f"  {pad(label, 25)} "
                + _("median {median}  p90 {p90}  max {max}  (n={n})").format(
                    median=format_duration(d["median_s"]),
                    p90=format_duration(d["p90_s"]),
                    max=format_duration(d["max_s"]),
                    n=d["n"],
                )
            )
        if group["clocks"]:
            header = _("deadline")
            cols = (_("met"), _("late"), _("breached"), _("waived"), _("open"), _("superseded"), _("on time"))
            lines.append(f"  {pad(header, 22)}" + "".join(rpad(c, 11) for c in cols))
            for rule, c in group["clocks"].items():
                share = "-" if c["on_time_share"] is None else f"{c['on_time_share'] * 100:.0f}%"
                values = (c["met"], c["met_late"], c["breached"], c["waived"], c["open"], c["superseded"], share)
                lines.append(f"  {pad(clean(rule), 22)}" + "".join(rpad(str(v), 11) for v in values))
        lines += _more(group)
    if found.get("availability"):
        lines += ["", _("Probe availability (share of time OK, of the time known)")]
        for system, a in found["availability"].items():
            share = "-" if a["ok_share"] is None else f"{a['ok_share'] * 100:.2f}%"
            known = format_duration(a["known_s"])
            lines.append(
                f"  {pad(clean(system), 22)}"
                + _("{share} of {known} known, {probes} probes").format(share=share, known=known, probes=a["probes"])
            )
    return "\n".join(lines)


def _more(group: Figures) -> list[str]:
    lines = [
        "  "
        + _(
            "past the level's outage bound {past}; records filed {filed} ({within} within a day); "
            "calls {calls} ({owed} call-backs owed)"
        ).format(
            past=group["past_level_bound"],
            filed=group["records_filed"],
            within=group["records_within_a_day"],
            calls=group["calls"]["logged"],
            owed=group["calls"]["callbacks_owed"],
        ),
        "  "
        + _("notifications: sent {sent}, failed {failed}, dead {dead}, pending {pending}").format(
            **group["notifications"]
        ),
    ]
    if group["escalations"]:
        fired = ", ".join(f"{clean(rule)} {n}" for rule, n in group["escalations"].items())
        lines.append("  " + _("escalations: {fired}").format(fired=fired))
    return lines


@command(
    "report",
    "month",
    N_("the monthly report for leadership (月度报告): totals, trend, breaches, open items"),
    example=("2026-11",),
    args=(
        arg("month", help=N_("the month, like 2026-11 (in the center's time zone)")),
        arg("--format", choices=["md", "html"], default="md", help=N_("Markdown (default) or an HTML page")),
        arg("--lang", choices=["zh_CN", "en"], help=N_("the report's language (default: the one chosen)")),
        arg("--output", metavar="FILE", help=N_("write it to FILE instead of standard output")),
    ),
)
def report_month(ctx: Context) -> int:
    a = ctx.args
    try:
        key = monthly.month_key(a.month)
    except ValueError as error:
        raise InvalidInput("bad_month", str(error), _("give the month as YYYY-MM, like 2026-11")) from None
    if a.lang:
        set_language(a.lang)

    try:
        with ctx.store.read() as session:
            text = monthly.build(session, key, ctx.store.clock(), ctx.zone)
    except TimeFormatError as error:  # a month (or one of the two before it) off the calendar
        raise InvalidInput("bad_month", str(error), _("give the month as YYYY-MM, like 2026-11")) from None
    if a.format == "html":
        drawn: list[tuple[str, str]] = []
        note = ""
        if monthly_charts.available():
            since, until = parse_period(key, ctx.zone)
            with ctx.store.read() as session:
                total = figures_of.compute(session, since, until, ctx.store.clock(), None, ctx.zone)["total"]
                drawn = monthly_charts.charts(session, key, total, ctx.zone)
        else:
            note = _("No charts: they need matplotlib (pip install 'opsdeck[report]'); every number is in the tables.")
        text = monthly.as_html(text, _("Monthly report {month}").format(month=key), drawn, note)
    if a.output is None:
        print(text, end="")
        return 0
    target = Path(a.output)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InvalidInput(
            "cannot_write",
            _("cannot write {path}: {error}").format(path=a.output, error=error.strerror),
            _("give a path in a folder you can write to"),
        ) from None
    return 0
