"""One incident, everything about it: fields, every clock counting down, the playbook,
the level III+ obligations, notes, linked incidents, probe results, the timeline.

Live like the board: another operator's change appears within a second; if a form is
open meanwhile, the operator is told who changed it, and keeps what they typed.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from opsdeck.backend import detail as detail_mod
from opsdeck.backend import presence, words
from opsdeck.backend.detail import Detail
from opsdeck.backend.domain import Level
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.i18n import current as current_language
from opsdeck.backend.live import FeedWatcher
from opsdeck.backend.queries import TIMESTAMPS
from opsdeck.backend.rows import ClockItem, NoteRow, ObligationRow, PlaybookStepRow
from opsdeck.backend.sanitize import clean
from opsdeck.backend.sentences import describe
from opsdeck.backend.timeutil import format_age, format_countdown
from opsdeck.screens.forms import TextForm
from opsdeck.screens.incident_actions import IncidentActions
from opsdeck.tui.board_words import board_text
from opsdeck.tui.text import cell, pad, rpad
from opsdeck.tui.triage import ACTIONS
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

STATE_STYLE = {
    "pending": "",
    "warning": "bold yellow",
    "breached": "bold reverse red",
    "met": "green",
    "met_late": "yellow",
    "waived": "dim",
    "superseded": "dim",
}
VIEWERS_EVERY_S = 2.0  # how often the screen asks who else is looking
STEP_MARK = {"done": "[x]", "skipped": "[-]", "pending": "[ ]"}


class Playbook(OptionList):
    """The playbook's steps. j/k (and the arrows) move between steps and the screen
    follows the highlighted one; PgDn/PgUp, g/G move through the whole detail screen, so
    nothing needs Tab. `in_view` says whether the highlighted step can be seen: space
    ticks only a step the operator is looking at."""

    BINDINGS = [
        Binding("j", "cursor_down", _("Next step"), id="detail.step_down", show=False),
        Binding("k", "cursor_up", _("Previous step"), id="detail.step_up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", _("Page down"), id="detail.page_down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", _("Page up"), id="detail.page_up", show=False),
        Binding("g,home", "body_end(0)", _("Top"), id="detail.top", show=False),
        Binding("G,end", "body_end(1)", _("Bottom"), id="detail.bottom", show=False),
    ]

    @property
    def body(self) -> VerticalScroll:
        return self.screen.query_one("#body", VerticalScroll)

    def _step_region(self) -> Region | None:
        """The highlighted step in the detail body's own (scrollable) coordinates."""
        if self.highlighted is None or not self.is_mounted:
            return None
        self._update_lines()
        y = self._index_to_line.get(self.highlighted)
        if y is None:
            return None
        top = self.virtual_region.y + y - int(self.scroll_offset.y)
        return Region(0, top, 1, self._heights.get(self.highlighted, 1))

    def in_view(self) -> bool:
        region = self._step_region()
        if region is None or not self.display:
            return False
        body = self.body
        first = int(body.scroll_offset.y)
        return first <= region.y and region.bottom <= first + body.scrollable_content_region.height

    def reveal(self) -> None:
        region = self._step_region()
        if region is not None:
            self.body.scroll_to_region(region, animate=False, immediate=True)

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self.call_after_refresh(self.reveal)

    def action_page(self, direction: int) -> None:
        body = self.body
        body.scroll_to(
            y=body.scroll_offset.y + direction * max(1, body.scrollable_content_region.height - 1), animate=False
        )

    def action_body_end(self, end: int) -> None:
        if end:
            self.body.scroll_end(animate=False)
        else:
            self.body.scroll_home(animate=False)


class IncidentScreen(IncidentActions, Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="detail.back"),
        Binding("space", "tick", _("Tick step"), id="detail.tick"),
        Binding("x", "skip", _("Skip step"), id="detail.skip"),
        *(a.binding for a in ACTIONS),
    ]
    DEFAULT_CSS = """
    IncidentScreen #summary { height: auto; background: $panel; padding: 0 1; }
    IncidentScreen #body { height: 1fr; padding: 0 1; }
    IncidentScreen .section { height: auto; margin: 1 0 0 0; }
    IncidentScreen #playbook { height: auto; max-height: 14; border: none; }
    """

    def __init__(self, context: BoardContext, incident_id: int) -> None:
        super().__init__()
        self.ctx = context
        self.incident_id = incident_id
        self.detail: Detail | None = None
        self.viewers: list[str] = []  # other logins with this incident open

    def compose(self) -> ComposeResult:
        yield Static(f"#{self.incident_id} …", id="summary")
        with VerticalScroll(id="body"):
            yield Static(classes="section", id="fields")
            yield Static(classes="section", id="deadlines")
            yield Static(Text(_("Playbook (space: done, x: skip with a reason)"), "bold"), classes="section")
            yield Playbook(id="playbook")
            yield Static(classes="section", id="obligations")
            yield Static(classes="section", id="notes")
            yield Static(classes="section", id="calls")
            yield Static(classes="section", id="linked")
            yield Static(classes="section", id="timeline")
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()
        self.watch_feed()
        self.set_interval(1.0, self._tick)
        self.query_one("#playbook", OptionList).focus()

    # -- IncidentActions -----------------------------------------------------------------

    def targets(self) -> list[tuple[int, int | None]]:
        return [(self.incident_id, self.detail.version if self.detail else None)]

    def target_info(self, incident_id: int) -> dict[str, Any]:
        return dict(self.detail.incident) if self.detail else {}

    def after_write(self) -> None:
        self.load()

    # -- loading -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> Detail:
        with self.ctx.store.read() as session:
            return detail_mod.load(session, self.incident_id, self.ctx.clock())

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_feed(self) -> None:
        """Follow this incident's changes, and who else is looking at it (this login is
        shown to others while the screen is open, unless the session is read-only)."""
        worker = get_current_worker()
        watcher: FeedWatcher | None = None
        store, login, me = self.ctx.store, self.ctx.login, not self.ctx.read_only
        touched_at = looked_at = 0.0
        others: list[str] = []
        try:
            while not worker.is_cancelled:
                try:
                    watcher = watcher or FeedWatcher(store)
                    batch = watcher.poll()
                    if me and time.monotonic() - touched_at >= presence.PRESENCE_EVERY_S:
                        touched_at = time.monotonic()
                        presence.touch(store, login, self.incident_id)
                    if time.monotonic() - looked_at >= VIEWERS_EVERY_S:
                        looked_at = time.monotonic()
                        now = self.ctx.clock()
                        if (found := presence.viewers(store, self.incident_id, now, besides=login)) != others:
                            others = found
                            self.app.call_from_thread(self._viewers, others)
                except Exception:  # the board says the store is unreadable; here, try again shortly
                    time.sleep(1.0)
                    continue
                if batch is not None and self.incident_id in batch.incidents:
                    self.app.call_from_thread(self._changed_elsewhere, *batch.who.get(self.incident_id, ("", "")))
                time.sleep(0.1)
        finally:
            if watcher is not None:
                watcher.close()
            if me:
                with contextlib.suppress(Exception):  # gone anyway once the TTL passes
                    presence.leave(store, login, self.incident_id)

    def _viewers(self, logins: list[str]) -> None:
        self.viewers = logins
        if self.detail is not None:
            self._show_detail()

    def _changed_elsewhere(self, actor: str, action: str) -> None:
        if self.app.screen is not self and actor != self.ctx.login:  # a form is open: keep it, say who did what
            self.app.notify(
                _(
                    "#{id}: {actor} just did {action}. What you typed is kept; "
                    "applying it is refused once, saying what changed, then applies on the new version"
                ).format(id=self.incident_id, actor=actor or _("someone"), action=action or _("a change")),
                severity="warning",
                timeout=8,
            )
        self.load()

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "load":
            return
        if event.worker.state == WorkerState.SUCCESS and isinstance(event.worker.result, Detail):
            self.detail = event.worker.result
            self._show_detail()
        elif event.worker.state == WorkerState.ERROR:
            error = event.worker.error
            self.app.notify(board_text(error, self.ctx.zone), severity="error")

    # -- drawing ---------------------------------------------------------------------------

    def _show_detail(self) -> None:
        assert self.detail is not None
        data = self.detail.incident
        z = self.ctx.zone
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f"#{data['id']} ", "bold")
        summary.append(f"{_level(data['level'])} ", "bold")
        summary.append(cell(data["title"], 200).rstrip(), "bold")
        summary.append(
            "\n"
            + _("{status}  {category}  owner {owner}  system {system}  version {version}").format(
                status=words.status(data["status"]),
                category=words.category(data["category"]),
                owner=clean(data["owner"]) or "-",
                system=clean(data["system"]) or "-",
                version=data["version"],
            ),
            "dim",
        )
        if self.viewers:
            logins = ", ".join(cell(v, 32).rstrip() for v in self.viewers)
            summary.append("  " + _("also viewing: {logins}").format(logins=logins), "bold yellow")
        self.query_one("#summary", Static).update(summary)
        fields = Text()
        stamps: list[tuple[str, str | None]] = [("reporter", data["reporter"])]
        stamps += [(key, data[key]) for key in TIMESTAMPS]
        for key, value in stamps:
            if value:
                if key.endswith("_at"):
                    value = (
                        datetime.fromisoformat(value.replace("Z", "+00:00"))
                        .astimezone(z)
                        .strftime("%Y-%m-%d %H:%M:%S %Z")
                    )
                fields.append(pad(words.incident_field(key), 20), "dim")
                fields.append(cell(str(value), 60).rstrip() + "\n")
        for key, written in (("description", data["description"]), ("resolution", data["resolution"])):
            if written:
                fields.append(words.incident_field(key) + "\n", "dim")
                fields.append(_clean_block(written) + "\n")
        self.query_one("#fields", Static).update(fields)
        self._render_deadlines()
        self._render_playbook(data["playbook"])
        self._render_obligations()
        self._render_notes(data["notes"])
        self._render_calls()
        self._render_linked()
        self._render_timeline()

    def _tick(self) -> None:
        if self.detail is not None:
            self._render_deadlines()

    def _render_deadlines(self) -> None:
        assert self.detail is not None
        now = self.ctx.clock()
        text = Text.assemble((_("Deadlines") + "\n", "bold"))
        newest = {d["key"]: d for d in sorted(self.detail.deadlines, key=lambda d: d["clock_start"])}
        for d in self.detail.deadlines:
            if newest[d["key"]] is not d and d["state"] not in ("breached", "met_late"):
                continue
            due = datetime.fromisoformat(d["due_at"].replace("Z", "+00:00"))
            state = d["state"]
            if state in ("pending", "warning", "breached"):
                # A breach a re-grade replaced, or one the close ended, stays as overdue as it was then.
                ended = d["superseded_at"] or self.detail.incident["status"] == "closed"
                remaining = d["remaining_s"] if ended else (due - now).total_seconds()
                state = "breached" if remaining < 0 else state
                when = format_countdown(remaining)
            elif state == "met_late":
                when = " " + _("late {age}").format(age=format_age(d["late_s"] or 0))
            else:
                when = ""
            text.append(rpad(when, 9) + " ", STATE_STYLE.get(state, ""))
            text.append(pad(words.clock_state(state), 9), STATE_STYLE.get(state, ""))
            text.append(f" {_deadline_name(d)}")
            if d["next_level"] and state == "breached":
                text.append("  " + _("level {level} due").format(level=d["next_level"]), "bold")
            if d["escalated_to"]:
                targets = ", ".join(t["to"] for t in d["escalated_to"])
                text.append("  " + _("escalated to {targets}").format(targets=targets), "dim")
            text.append("\n")
        self.query_one("#deadlines", Static).update(text)

    def _render_playbook(self, steps: list[PlaybookStepRow]) -> None:
        option_list = self.query_one("#playbook", OptionList)
        highlighted = option_list.highlighted
        option_list.clear_options()
        for step in steps:
            title = pick(step["title"], step["title_zh"])
            line = Text(f"{STEP_MARK.get(step['state'], '[ ]')} {clean(title)}")
            if step["state"] != "pending":
                who = (_("skipped by {login}") if step["state"] == "skipped" else _("done by {login}")).format(
                    login=clean(step["by"])
                )
                if step["reason"]:
                    said = _("({what}: {reason})").format(what=who, reason=_clean_line(step["reason"]))
                else:
                    said = _("({what})").format(what=who)
                line.append("  " + said, "dim")
            option_list.add_option(Option(line, id=step["key"]))
        if not steps:
            option_list.add_option(
                Option(Text(_("(classify it: its category brings the playbook)"), "dim"), id="-", disabled=True)
            )
        if option_list.option_count:
            option_list.highlighted = min(highlighted or 0, option_list.option_count - 1)

    def _render_obligations(self) -> None:
        assert self.detail is not None
        text = Text()
        if self.detail.obligations:
            text.append(_("Obligations, level III and above (b: attest)") + "\n", "bold")
            for o in self.detail.obligations:
                last = o["attested"][-1] if o["attested"] else None
                text.append("[x] " if last else "[ ] ", "green" if last else "bold yellow")
                text.append(_obligation(o))
                if last:
                    said = _clean_line(last["who"] or last["note"])
                    how = _("{login} via {channel} {at}: {said}") if said else _("{login} via {channel} {at}")
                    text.append(
                        "  "
                        + how.format(
                            login=clean(last["by"]), channel=last["via"], at=self._local(last["at"]), said=said
                        ),
                        "dim",
                    )
                text.append("\n")
        self.query_one("#obligations", Static).update(text)

    def _local(self, value: str | None) -> str:
        """A stored time (RFC 3339, UTC) as the center's local time, as the timeline shows it."""
        if not value:
            return "-"
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(self.ctx.zone).strftime("%m-%d %H:%M:%S")

    def _render_notes(self, notes: list[NoteRow]) -> None:
        text = Text.assemble((_("Notes ({count}; m: add)").format(count=len(notes)) + "\n", "bold"))
        for note in notes[-20:]:
            text.append(f"{self._local(note['at'])} {clean(note['author'])}: ", "dim")
            text.append(_clean_block(note["text"]) + "\n")
        self.query_one("#notes", Static).update(text)

    def _render_calls(self) -> None:
        assert self.detail is not None
        calls = self.detail.calls
        owed = sum(1 for c in calls if c["callback"] and not c["called_back_at"])
        heading = _("Service desk calls ({count}, {owed} call-backs owed; l: log one)").format(
            count=len(calls), owed=owed
        )
        text = Text.assemble((heading + "\n", "bold"))
        for call in calls[-20:]:
            at = datetime.fromisoformat(call["at"].replace("Z", "+00:00")).astimezone(self.ctx.zone)
            text.append(f"{at.strftime('%m-%d %H:%M')} {cell(_clean_line(call['caller']), 18)} ", "dim")
            text.append(f"{cell(call['contact'], 18)} ", "dim")
            if call["called_back_at"]:
                text.append(pad(_("called back"), 13), "green")
            elif call["callback"]:
                text.append(pad(_("CALL BACK"), 13), "bold yellow")
            else:
                text.append(" " * 13)
            text.append(_clean_line(call["need"])[:80] + "\n")
        self.query_one("#calls", Static).update(text)

    def _render_linked(self) -> None:
        assert self.detail is not None
        text = Text()
        if self.detail.linked:
            text.append(_("Linked") + "\n", "bold")
            for link in self.detail.linked:
                line = _("#{id} {link}: {title} ({status})").format(
                    id=link["id"],
                    link=link["link"],
                    title=_clean_line(link["title"]),
                    status=words.status(link["status"]),
                )
                text.append(line + "\n")
        if self.detail.probe_results:
            text.append(_("Probe results attached") + "\n", "bold")
            for result in self.detail.probe_results[:10]:
                text.append(
                    f"{result['at'].astimezone(self.ctx.zone).strftime('%H:%M:%S')} {result['state']:<9}"
                    f"{_clean_line(result['probe'])}: {_clean_line(result['output'])[:100]}\n"
                )
        self.query_one("#linked", Static).update(text)

    def _render_timeline(self) -> None:
        assert self.detail is not None
        text = Text.assemble((_("Timeline (newest first)") + "\n", "bold"))
        for event in self.detail.timeline[:50]:
            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00")).astimezone(self.ctx.zone)
            text.append(f"{at.strftime('%m-%d %H:%M:%S')} {cell(event['actor'], 14)} ", "dim")
            # A sentence, as the record and the history say it; never the audit's own fields.
            said = describe(event["action"], event["details"], english=False)
            text.append(_clean_line(said)[:160] + "\n")
        self.query_one("#timeline", Static).update(text)

    # -- keys -------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def _selected_step(self) -> str | None:
        option_list = self.query_one("#playbook", OptionList)
        if option_list.highlighted is None:
            return None
        key = option_list.get_option_at_index(option_list.highlighted).id
        return None if key in (None, "-") else key

    def action_tick(self) -> None:
        """Only a step the operator can see, under the focus: one scrolled out of view (or
        with the focus elsewhere) is brought into view first, and space again ticks it."""
        key = self._selected_step()
        if key and self._step_in_view():
            self._step(key, False, None)

    def _step_in_view(self) -> bool:
        playbook = self.query_one("#playbook", Playbook)
        if playbook.has_focus and playbook.in_view():
            return True
        playbook.focus()
        playbook.reveal()
        self.app.notify(_("The highlighted step was out of view; it is shown now: press the key again."), timeout=5)
        return False

    @on(OptionList.OptionSelected, "#playbook")
    def _step_selected(self) -> None:
        self.action_tick()

    def action_skip(self) -> None:
        key = self._selected_step()
        if key and self._step_in_view():
            self._form(
                TextForm(
                    _("Skip step {step} of #{id}").format(step=key, id=self.incident_id),
                    lambda v, seen: self._perform(
                        lambda s: s.step(self.incident_id, key, skip=True, reason=v["text"]),
                        _("step {step} skipped").format(step=key),
                    ),
                    label=_("Why it is skipped"),
                    multiline=False,
                )
            )

    @work(thread=True, group="action", exit_on_error=False)
    def _step(self, key: str, skip: bool, reason: str | None) -> str:
        self.service.step(self.incident_id, key, skip=skip, reason=reason)
        return _("step {step} done").format(step=key)


def _zh() -> bool:
    return current_language() == "zh_CN"


def _level(level: str | None) -> str:
    """III, and in Chinese the plan's term beside it (III 较大)."""
    if not level:
        return "--"
    if _zh() and level in Level.__members__.values():
        return f"{level} {Level(level).term.shown}"
    return level


def _deadline_name(deadline: ClockItem) -> str:
    """The rule's name in the chosen language: English words in English, never the rule's id."""
    return pick(deadline["name"], deadline["name_zh"])


def _obligation(obligation: ObligationRow) -> str:
    """The policy's words in the chosen language."""
    return pick(obligation["en"], obligation["zh"])


def _clean_line(text: str | None) -> str:
    return clean(text or "")


def _clean_block(text: str | None) -> str:
    return clean(text or "", one_line=False)
