"""The handover's text sections shared by `opsdeck handover`, `board --at` and the
handover, replay and warnings screens: lines with a Rich style each ("" for none),
so the text and the screens say the same thing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from .i18n import _
from .rows import OpenWarning, ShiftWarnings, WarningAt
from .sanitize import clean
from .schedule_views import CoverageAhead
from .timeutil import format_countdown


def kind_name(kind: str) -> str:
    """A warning's kind (预警 from outside or found here), in the chosen language."""
    return str({"external": _("external"), "internal": _("internal")}.get(kind, kind))


def open_warning_lines(rows: Sequence[OpenWarning] | Sequence[WarningAt]) -> list[tuple[str, str]]:
    """The handover's lines for the open warnings (none: no lines), with a style each."""
    if not rows:
        return []
    names = {"analysed": _("analysis due"), "leadership_told": _("leadership due")}
    lines = [("", ""), (_("Open warnings ({count}):").format(count=len(rows)), "bold")]
    for r in rows:
        due = r["next_clock"]
        when = f"{format_countdown(due['remaining_s']).strip()} {names.get(due['key'], due['key'])}" if due else "-"
        measures = _("measures {done}/{total}").format(done=r["measures_done"], total=r["measures_total"])
        title = ("! " if r["serious"] else "") + clean(r["title"])
        style = "bold red" if due and due["state"] == "breached" else ""
        lines.append((f"  W{r['id']:<5} {kind_name(r['kind'])} {when}  {measures}  {title}", style))
    return lines


def shift_warning_lines(data: ShiftWarnings, local: Callable[[str | None], str]) -> list[tuple[str, str]]:
    """The handover's lines for the warnings escalated and ended during the shift."""
    lines: list[tuple[str, str]] = []
    breaches, ended = data.get("warning_breaches_since", []), data.get("warnings_ended_since", [])
    if breaches:
        lines += [("", ""), (_("Warning clocks escalated since ({count}):").format(count=len(breaches)), "bold")]
        for b in breaches:
            to = ", ".join(b["to"]) or _("nobody")
            said = _("{clock} escalated {at} to {to}").format(clock=b["clock"], at=local(b["escalated_at"]), to=to)
            lines.append((f"  W{b['warning_id']:<5} {said}  {clean(b['title'])}", "bold red"))
    if ended:
        lines += [("", ""), (_("Warnings ended since ({count}):").format(count=len(ended)), "bold")]
        for w in ended:
            if w["status"] == "promoted":
                how = _("promoted to incident #{id}").format(id=w["incident_id"])
            else:
                how = _("passed: {reason}").format(reason=clean(w["reason"] or ""))
            lines.append((f"  W{w['id']:<5} {local(w['closed_at'])} {clean(w['title'])}: {how}", ""))
    return lines


def coverage_lines(data: CoverageAhead, zone: tzinfo) -> list[tuple[str, str]]:
    """The coverage section as (line, style): for the handover (text and screen) and `gaps`."""
    if not data.get("planned"):
        return []

    def local(text: str) -> str:
        return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    lines = [("", ""), (_("Coverage gaps ahead ({count}):").format(count=len(data["gaps"])), "bold")]
    for g in data["gaps"]:
        lines.append((f"  {g['duty']:<9} {local(g['from'])} → {local(g['until'])}  " + _("nobody on duty"), "bold red"))
    lines.append((_("Overloads ahead ({count}):").format(count=len(data["overloads"])), "bold"))
    for o in data["overloads"]:
        what = (
            _("{hours} h planned that week").format(hours=o["hours"])
            if o["kind"] == "week_hours"
            else _("only {hours} h of rest").format(hours=o["hours"])
        )
        lines.append((f"  {clean(o['login']):<12} {local(o['from'])} → {local(o['until'])}  {what}", "yellow"))
    return lines
