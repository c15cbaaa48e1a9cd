"""The monthly report (月度报告) for leadership: `opsdeck report month 2026-11`.

Built from the same figures as `opsdeck stats` (backend/stats.py, docs/stats.md) for the
month and the two before it, plus what only a report lists: each breach, the level I-III
incidents in a paragraph from their filed records, readiness failures and open items.
Written as Markdown; HTML is the same Markdown rendered with raw HTML off, so a title
typed by anyone is text in both. Every string a person wrote is cleaned and escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from . import deadlines, record, stats, words
from .i18n import _, variants
from .models import Incident, IncidentDeadline, Probe, ProbeResult, ServiceCall
from .sanitize import clean
from .timeutil import format_duration, format_local, parse_period

SEVERE = ("I", "II", "III")
# What starts markup inside a line (the report puts typed text in table cells and after a
# heading's number, never at a line's start): an underscore between letters does not.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~]|(?<![^\W_])_|_(?![^\W_]))")


@dataclass(frozen=True)
class Month:
    key: str  # 2026-11
    since: datetime
    until: datetime
    figures: stats.Figures  # stats.compute(...)["total"]


def escape(text: str | None) -> str:
    """Text a person typed, as Markdown shows it: one line, no markup, no control characters."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(clean(text or "").split()))


def previous(key: str, back: int) -> str:
    year, month = int(key[:4]), int(key[5:7]) - back
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def build(session: Session, key: str, now: datetime, zone: tzinfo) -> str:
    """The report for month `key` (`2026-11`) as Markdown, in the language chosen."""
    months = []
    for back in (2, 1, 0):
        name = previous(key, back)
        since, until = parse_period(name, zone)
        months.append(Month(name, since, until, stats.compute(session, since, until, now, None, zone)["total"]))
    month = months[-1]
    by_category = stats.compute(session, month.since, month.until, now, "category", zone)["groups"]
    by_level = stats.compute(session, month.since, month.until, now, "level", zone)["groups"]
    lines = [
        "# " + _("Monthly report {month}").format(month=key),
        "",
        _("Incidents reported from {since} to {until} (not included).").format(
            since=format_local(month.since, zone), until=format_local(month.until, zone)
        ),
        "",
        *_totals(months),
        *_groups(_("By category"), _("category"), by_category),
        *_groups(_("By level"), _("level"), by_level),
        *_compliance(month.figures),
        *_breaches(session, month, now, zone),
        *_severe(session, month, zone),
        *_availability(session, month, now),
        *_readiness(session, month, zone),
        *_open_items(session, month),
    ]
    return "\n".join(lines).rstrip() + "\n"


def as_html(markdown: str, title: str, charts: list[tuple[str, str]] | None = None, note: str = "") -> str:
    """The Markdown as a page of its own, raw HTML in it shown as text, never run; the
    charts (`[(title, svg)]`, our own drawings: backend/monthly_charts.py) go before the
    first section, or `note` says why there are none."""
    from html import escape as html_escape

    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    drawn = "".join(
        f"<figure><figcaption>{html_escape(caption)}</figcaption>\n{svg}</figure>\n" for caption, svg in charts or []
    )
    if note:
        drawn += f"<p><em>{html_escape(note)}</em></p>\n"
    head, cut, rest = body.partition("<h2>")
    body = head + drawn + cut + rest
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html_escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}figure{margin:1em 0}svg{max-width:100%;height:auto}</style>"
        f"</head><body>\n{body}</body></html>\n"
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


# The counts the totals compare month by month.
_Count = Literal["opened", "closed", "false_alarms", "reopened", "past_level_bound", "records_within_a_day"]


def _totals(months: list[Month]) -> list[str]:
    counted: tuple[tuple[str, _Count], ...] = (
        (_("opened"), "opened"),
        (_("closed"), "closed"),
        (_("false alarms"), "false_alarms"),
        (_("reopened"), "reopened"),
        (_("past the level's outage bound"), "past_level_bound"),
        (_("records filed within a day"), "records_within_a_day"),
    )
    rows = [[label, *(str(m.figures[figure]) for m in months)] for label, figure in counted]
    timed: tuple[tuple[str, stats.Figure], ...] = (
        (_("median time to classify"), "time_to_classify"),
        (_("median time to resolve"), "time_to_resolve"),
    )
    rows += [[label, *(format_duration(m.figures[figure]["median_s"]) for m in months)] for label, figure in timed]
    return ["## " + _("Totals, against the two months before"), "", *_table(["", *(m.key for m in months)], rows)]


def _groups(title: str, what: str, groups: list[stats.Figures]) -> list[str]:
    if not groups:
        return []
    rows = [
        [escape(g["key"]), str(g["opened"]), str(g["closed"]), format_duration(g["time_to_resolve"]["median_s"])]
        for g in groups
    ]
    return ["## " + title, "", *_table([what, _("opened"), _("closed"), _("median time to resolve")], rows)]


def _compliance(figures: stats.Figures) -> list[str]:
    if not figures["clocks"]:
        return []
    rows = []
    for rule, c in figures["clocks"].items():
        share = "-" if c["on_time_share"] is None else f"{c['on_time_share'] * 100:.0f}%"
        rows.append([escape(rule), str(c["met"]), str(c["met_late"]), str(c["breached"]), str(c["waived"]), share])
    header = [_("deadline"), _("met"), _("late"), _("breached"), _("waived"), _("on time")]
    return ["## " + _("Deadline compliance"), "", *_table(header, rows)]


def _breaches(session: Session, month: Month, now: datetime, zone: tzinfo) -> list[str]:
    found = session.execute(
        select(IncidentDeadline, col(Incident.title), col(Incident.closed_at))
        .join(Incident, col(Incident.id) == col(IncidentDeadline.incident_id))
        .where(col(Incident.reported_at) >= month.since, col(Incident.reported_at) < month.until)
        .order_by(col(IncidentDeadline.due_at), col(IncidentDeadline.id))  # ties: in the order they were made
    ).all()
    rows = []
    for clock, title, closed_at in found:
        if deadlines.state(clock, now).state != "breached":
            continue
        ends = [t for t in (clock.superseded_at, closed_at) if t is not None and t > clock.due_at]
        late = (min(ends) if ends else now) - clock.due_at
        rows.append(
            [
                f"#{clock.incident_id}",
                escape(title),
                escape(clock.rule),
                format_local(clock.due_at, zone),
                format_duration(late.total_seconds()) + ("" if ends else " " + _("(still open)")),
            ]
        )
    if not rows:
        return ["## " + _("Breaches"), "", _("None."), ""]
    header = [_("incident"), _("title"), _("deadline"), _("due"), _("late by")]
    return ["## " + _("Breaches"), "", *_table(header, rows)]


def _severe(session: Session, month: Month, zone: tzinfo) -> list[str]:
    found = session.execute(
        select(Incident)
        .where(
            col(Incident.reported_at) >= month.since,
            col(Incident.reported_at) < month.until,
            col(Incident.level).in_(SEVERE),
        )
        .order_by(col(Incident.level), col(Incident.id))
    ).scalars()
    out = ["## " + _("Level I-III incidents"), ""]
    any_found = False
    for incident in found:
        any_found = True
        out.append(f"### #{incident.id} {escape(incident.level)} {escape(incident.title)}")
        out.append("")
        summary = _summary(incident.record) if incident.record else None
        said = summary or _("No record filed yet.")
        out.append(
            _("Reported {reported}; {status}.").format(
                reported=format_local(incident.reported_at, zone), status=escape(words.status(incident.status))
            )
            + " "
            + escape(said)
        )
        out.append("")
    if not any_found:
        out += [_("None."), ""]
    return out


def _summary(text: str) -> str | None:
    """The filed record's Summary section (its heading in any language), as one paragraph."""
    headings = {v.strip().casefold() for v in variants(record.REQUIRED[0][1])}
    taking, taken = False, []
    for line in text.splitlines():
        if line.startswith("#"):
            if taking:
                break
            taking = line.strip().casefold() in headings
            continue
        if taking:
            taken.append(line)
    summary = " ".join(" ".join(taken).split())
    return summary or None


def _availability(session: Session, month: Month, now: datetime) -> list[str]:
    from . import availability

    found = availability.by_system(session, month.since, month.until, now)
    if not found:
        return []
    rows = [
        [
            escape(system),
            "-" if a["ok_share"] is None else f"{a['ok_share'] * 100:.2f}%",
            format_duration(a["known_s"]),
            str(a["probes"]),
        ]
        for system, a in found.items()
    ]
    header = [_("system"), _("time OK"), _("time known"), _("probes")]
    return ["## " + _("Probe availability"), "", *_table(header, rows)]


def _readiness(session: Session, month: Month, zone: tzinfo) -> list[str]:
    """Failures of the readiness probes (backups, spare server, spare domain) in the month."""
    from . import clocks

    cells = clocks.load_policy(session).probes.readiness
    if not cells:
        return []
    rows = []
    for cell in cells:
        probe_id = session.execute(select(col(Probe.id)).where(col(Probe.name) == cell.probe)).scalar_one_or_none()
        failed, last = 0, None
        if probe_id is not None:
            failed, last = session.execute(
                select(func.count(), func.max(col(ProbeResult.at))).where(
                    col(ProbeResult.probe_id) == probe_id,
                    col(ProbeResult.at) >= month.since,
                    col(ProbeResult.at) < month.until,
                    col(ProbeResult.state) != "OK",
                )
            ).one()
        seen = _("no results") if probe_id is None else str(failed)
        rows.append([escape(cell.cell), escape(cell.probe), seen, format_local(last, zone) if last else "-"])
    header = [_("readiness"), _("probe"), _("failed results"), _("last failure")]
    return ["## " + _("Readiness"), "", *_table(header, rows)]


def _open_items(session: Session, month: Month) -> list[str]:
    unfiled = session.execute(
        select(col(Incident.id), col(Incident.title))
        .where(
            col(Incident.reported_at) < month.until,
            col(Incident.resolved_at).is_not(None),
            col(Incident.record_filed_at).is_(None),
            col(Incident.close_kind).is_(None),
        )
        .order_by(col(Incident.id))
    ).all()
    owed = session.execute(
        select(col(ServiceCall.incident_id), func.count())
        .where(
            and_(col(ServiceCall.callback).is_(True), col(ServiceCall.called_back_at).is_(None)),
            col(ServiceCall.at) < month.until,
        )
        .group_by(col(ServiceCall.incident_id))
        .order_by(col(ServiceCall.incident_id))
    ).all()
    out = ["## " + _("Open items"), ""]
    out += [_("- record not filed: #{id} {title}").format(id=i, title=escape(t)) for i, t in unfiled]
    out += [_("- call-backs owed: #{id} ({n})").format(id=i, n=n) for i, n in owed]
    if not unfiled and not owed:
        out.append(_("None."))
    return [*out, ""]


def month_key(text: str) -> str:
    """`2026-11` checked: a month on the calendar (ValueError says why not)."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(_("{text!r} is not a month: write it as 2026-11").format(text=text))
    return f"{match.group(1)}-{match.group(2)}"


__all__ = ["as_html", "build", "escape", "month_key", "previous"]
