"""The board's header, banners and side panels: probes, readiness, roster.

Each is a Static fed an immutable snapshot (`backend.board_page.Panels`); untrusted text is
sanitized and placed in Rich `Text` spans, never parsed as markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from opsdeck.backend import words
from opsdeck.backend.board_page import Panels, ProbeLine
from opsdeck.backend.i18n import _
from opsdeck.backend.sanitize import clean
from opsdeck.backend.timeutil import format_age

from ..text import STATE_LABEL, STATE_MARK, cell


class Panel(Static):
    """A panel redrawn from a snapshot: repainted only when its text changed, and the
    screen laid out again only when its height did. Every change on the board reads the
    panels again; a layout of the whole screen for each was 10-40 ms on the event loop at
    10k open (bench board_live), in the way of the next change reaching the screen."""

    _text: Text | None = None

    def show_text(self, text: Text) -> None:
        if text == self._text:
            return
        height_changed = self._text is None or self._text.plain.count("\n") != text.plain.count("\n")
        self._text = text
        self.update(text, layout=height_changed)


LEVEL_STYLE = {"I": "bold reverse red", "II": "bold red", "III": "bold yellow", "IV": "blue", "none": "dim"}
STATE_STYLE = {"OK": "green", "WARNING": "bold yellow", "CRITICAL": "bold red", "UNKNOWN": "magenta"}


HEADER_NAME = " opsdeck "
HEADER_CLOCK_W = len(" 00:00:00 ")  # the clock's cells, right after the name


class BoardHeader(Widget):
    """Clock (seconds), open incidents per level, who is logged in, the spool's last file.

    When only the second turned, only the clock's cells are repainted: the rest of the
    line would otherwise go to the terminal again every second."""

    DEFAULT_CSS = "BoardHeader { height: 1; background: $panel; color: $text; }"

    def __init__(self, *, login: str, permission: str, read_only: bool, zone: tzinfo, where: str) -> None:
        super().__init__()
        self.login, self.permission, self.read_only, self.zone, self.where = login, permission, read_only, zone, where
        self.panels: Panels | None = None
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def show(self, now: datetime) -> None:
        text = self._line(now)
        before, self._text = self._text, text
        clock = slice(len(HEADER_NAME), len(HEADER_NAME) + HEADER_CLOCK_W)
        if before.spans == text.spans and before.plain[: clock.start] + before.plain[clock.stop :] == (
            text.plain[: clock.start] + text.plain[clock.stop :]
        ):
            self.refresh(Region(clock.start, 0, HEADER_CLOCK_W, 1))
        else:
            self.refresh()  # one line, always: no layout of the screen

    def _line(self, now: datetime) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(HEADER_NAME, "bold reverse")
        text.append(f" {now.astimezone(self.zone).strftime('%H:%M:%S')} ", "bold")
        if self.panels is not None:  # no counts until they are read: zeros would be a claim
            counts = self.panels.counts
            for level in ("I", "II", "III", "IV"):
                value = counts.get(level, 0)
                text.append(f" {level}:{value}", LEVEL_STYLE[level] if value else "dim")
            text.append(f" ?:{counts.get('none', 0)}", "bold" if counts.get("none") else "dim")
        text.append("  ")
        text.append(cell(self.login, 16).rstrip(), "bold")
        text.append(f" ({words.permission(self.permission)})", "dim")
        if self.read_only:
            text.append(" [" + _("read-only") + "]", "bold reverse")
        if self.panels and self.panels.failed_messages:
            text.append(
                "  " + _("{count} notifications failed").format(count=self.panels.failed_messages), "bold reverse red"
            )
        if self.panels and self.panels.last_file_at:
            text.append(
                "  " + _("spool") + " " + self.panels.last_file_at.astimezone(self.zone).strftime("%H:%M:%S"), "dim"
            )
        text.append(f"  {cell(self.where, 60).rstrip()}", "dim")
        return text


def _silent_duties(panels: Panels | None, now: datetime) -> list[tuple[str, float]]:
    if panels is None or not panels.duty_leases:
        return []
    # the leases' module brings the ORM and the models: loaded by the time panels are read,
    # never for the board's first frame (issue #26)
    from opsdeck.backend.leases import silent_duties

    return silent_duties(panels.duty_leases, now)


def _skew_warn_s() -> float:
    from opsdeck.backend.live import SKEW_WARN_S  # a skew is read by the feed, which loaded it

    return SKEW_WARN_S


class Banners(Static):
    """Watching the watchers: an unreadable store, no worker escalating deadlines."""

    DEFAULT_CSS = "Banners { height: auto; background: $error; color: $text; text-style: bold; } Banners.-empty { display: none; }"

    def show(
        self,
        unreadable_since: datetime | None,
        panels: Panels | None,
        now: datetime,
        zone: tzinfo,
        error: str = "",
        skew: float | None = None,
        worker_starting: bool = False,
    ) -> None:
        lines: list[str] = []
        if unreadable_since is not None:
            lines.append(
                " ! "
                + _("store not readable since {time}: {error} — check the database and --db").format(
                    time=unreadable_since.astimezone(zone).strftime("%H:%M:%S"), error=cell(error, 60).rstrip()
                )
            )
        no_worker = panels is not None and (
            panels.worker_beat_at is None or (now - panels.worker_beat_at).total_seconds() > 30
        )
        if panels is not None and no_worker and not worker_starting:
            last = panels.worker_beat_at.astimezone(zone).strftime("%H:%M:%S") if panels.worker_beat_at else _("never")
            lines.append(
                " ! "
                + _(
                    "no worker running: deadlines are not being escalated (last heartbeat {last}) — run: opsdeck worker"
                ).format(last=last)
            )
        for duty, silent_s in _silent_duties(panels, now):
            if not no_worker and not worker_starting:  # with no worker at all, the one banner above says it
                lines.append(
                    " ! "
                    + _("{duty}: no live holder for {seconds} s — start a worker, or see why it hangs").format(
                        duty=duty, seconds=int(silent_s)
                    )
                )
        for problem in panels.spool_problems if panels is not None else ():
            lines.append(
                " ! " + _("spool {problem} — free space on its disk").format(problem=cell(problem, 120).rstrip())
            )
        if skew is not None and abs(skew) > _skew_warn_s():
            message = (
                _("this machine's clock is {seconds:.0f} s ahead of the database's")
                if skew > 0
                else _("this machine's clock is {seconds:.0f} s behind the database's")
            )
            lines.append(
                " ! "
                + message.format(seconds=abs(skew))
                + ": "
                + _("countdowns are off by as much — fix time sync (NTP, chrony) on this host")
            )
        shown = "\n".join(lines)
        if shown == getattr(self, "_shown", None):
            return  # unchanged: nothing to repaint
        self._shown = shown
        self.set_class(not lines, "-empty")
        self.update(Text(shown, no_wrap=True, overflow="ellipsis"))


class ProbePanel(Panel):
    """Probe health: state, name, age of the last result, output, a short history."""

    DEFAULT_CSS = "ProbePanel { height: auto; max-height: 50%; border-top: solid $primary; padding: 0 1; }"

    def show(self, panels: Panels, now: datetime, width: int) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        bad = [p for p in panels.probes if p.state != "OK" or p.stale or p.silenced_until]
        text.append(_("Probes {count}").format(count=len(panels.probes)), "bold")
        text.append("  " + _("{count} not OK").format(count=len(bad)), "bold red" if bad else "green")
        if panels.quarantined:
            text.append("  " + _("{count} quarantined").format(count=panels.quarantined), "bold yellow")
        if panels.sources:  # the alert receiver: what each source got accepted and refused
            text.append("\n" + _("Sources") + " ", "bold")
            for source in panels.sources:
                text.append(cell(source.name, 16).rstrip() + " ")
                text.append(_("{count} ok").format(count=source.accepted) + " ", "green" if source.accepted else "dim")
                if source.rejected:
                    text.append(_("{count} refused").format(count=source.rejected) + " ", "bold yellow")
        order = sorted(panels.probes, key=lambda p: (_severity(p), p.name))
        for probe in order[: max(3, 12)]:
            text.append("\n")
            self._line(text, probe, now, width - 2)
        self.show_text(text)

    @staticmethod
    def _line(text: Text, probe: ProbeLine, now: datetime, width: int) -> None:
        if probe.silenced_until:
            label, style = _("SILENCED"), "bold blue"
        elif probe.stale:
            label, style = _("UNKN stale"), "magenta"
        else:
            label, style = STATE_LABEL.get(probe.state, probe.state), STATE_STYLE.get(probe.state, "")
            if probe.parent_down and probe.state == "CRITICAL":
                label = _("CRIT parent")
        text.append(cell(label, 10) + " ", style)
        history = "".join(STATE_MARK.get(s, "?") for s in probe.history[-5:])
        text.append(cell(history, 5) + " ", "dim")
        age = format_age((now - probe.last_result_at).total_seconds()) if probe.last_result_at else "-"
        name_w = min(28, max(12, width // 3))
        text.append(cell(probe.name, name_w) + " ")
        text.append(cell(age, 6) + " ", "dim")
        text.append(cell(probe.output.split("\n")[0], max(0, width - 11 - 6 - name_w - 1 - 7)))


def _severity(probe: ProbeLine) -> int:
    if probe.silenced_until:
        return 4
    return {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2}.get(probe.state, 3) if not probe.stale else 2


class ReadinessPanel(Panel):
    """The backup matrix {OS/config, application/data} x {this server, another, off site},
    the spare server and the spare domain, each with the age of its last good run."""

    DEFAULT_CSS = "ReadinessPanel { height: auto; border-top: solid $primary; padding: 0 1; }"

    def show(self, panels: Panels, now: datetime) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(cell(_("Readiness"), 12), "bold")
        text.append(" ".join(cell(h, 10) for h in (_("this srv"), _("other srv"), _("off site"))).rstrip(), "dim")
        for row, label in (("os_config", _("OS/config")), ("app_data", _("app/data"))):
            text.append("\n" + cell(label, 12))
            for column in ("local", "remote", "offsite"):
                self._cell(text, panels.readiness.get(f"{row}:{column}"), now)
        text.append("\n" + _("spare server") + " ")
        self._cell(text, panels.readiness.get("spare_server"), now)
        text.append(" " + _("spare domain") + " ")
        self._cell(text, panels.readiness.get("spare_domain"), now)
        self.show_text(text)

    @staticmethod
    def _cell(text: Text, probe: ProbeLine | None, now: datetime) -> None:
        if probe is None or probe.last_success_at is None:
            text.append(cell("-", 11), "dim")
            return
        label = STATE_LABEL.get(probe.state, "?")
        age = format_age((now - probe.last_success_at).total_seconds())
        text.append(cell(f"{label} {age}", 10) + " ", STATE_STYLE.get(probe.state, ""))


GAP_LINES = 4  # gap lines ahead on the roster panel; the rest are counted


class RosterPanel(Panel):
    """The emergency group: who, duties, on duty, open incidents owned."""

    DEFAULT_CSS = "RosterPanel { height: auto; border-top: solid $primary; padding: 0 1; }"

    def show(self, panels: Panels, zone: tzinfo | None = None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(_("Roster"), "bold")
        on = sum(1 for m in panels.roster if m["on_duty"])
        text.append("  " + _("{count} on duty").format(count=on), "green" if on else "bold red")
        for member in panels.roster:
            text.append("\n")
            text.append(cell(member["login"], 10) + " ", "bold" if member["on_duty"] else "dim")
            text.append(cell(",".join(member["duties"]) or words.permission(member["permission"]), 14) + " ", "dim")
            text.append(cell(_("ON") if member["on_duty"] else _("off"), 4), "green" if member["on_duty"] else "dim")
            text.append(f"{member['open_incidents']:>3} " + _("open"), "bold" if member["open_incidents"] else "dim")
        if panels.duty:
            text.append("\n" + _("Schedule") + "  ", "bold")
            text.append(_("now → next"), "dim")
        for line in panels.duty:
            text.append("\n" + cell(line.duty, 9) + " ")
            now_text = ",".join(clean(login) for login in line.now)
            text.append(cell(now_text or _("GAP"), 12) + " ", "bold" if now_text else "bold reverse red")
            if line.next_at is not None:
                then = ",".join(clean(login) for login in line.next) or _("GAP")
                at = line.next_at.astimezone(zone).strftime("%m-%d %H:%M") if zone else ""
                text.append(f"→ {cell(then, 10)} {at}", "dim" if line.next else "red")
        shown = panels.duty_gaps[:GAP_LINES]
        for duty, start, until in shown:
            span = f"{self._when(start, panels.read_at, zone)}–{self._when(until, panels.read_at, zone)}"
            text.append("\n" + _("gap: {duty} {span}").format(duty=duty, span=span), "red")
        if len(panels.duty_gaps) > len(shown):
            more = len(panels.duty_gaps) - len(shown)
            text.append("\n" + _("… {count} more gaps: opsdeck schedule gaps").format(count=more), "dim")
        self.show_text(text)

    @staticmethod
    def _when(at: datetime, now: datetime, zone: tzinfo | None) -> str:
        """Sat 20:00 within the coming six days, else 12-14 20:00: never ambiguous."""
        local = at.astimezone(zone)
        if at - now >= timedelta(days=6):
            return local.strftime("%m-%d %H:%M")
        days = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
        return f"{days[local.weekday()]} {local.strftime('%H:%M')}"
