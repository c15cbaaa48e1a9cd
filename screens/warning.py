"""One warning (预警, docs/plan.md#warnings), everything about it: its fields, its clocks,
the preparatory measures (space ticks one), who was told, the notes, the audit trail; and
keys to act on it with the incident screen's forms: a note, the analysis, a department
or leadership told, promoted to an incident, closed as passed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from opsdeck.backend import early_warning, words
from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.i18n import _, pick
from opsdeck.backend.rows import WarningDetail
from opsdeck.backend.sanitize import clean
from opsdeck.backend.sentences import describe
from opsdeck.backend.service import Service
from opsdeck.backend.timeutil import format_countdown, format_local
from opsdeck.screens.forms import ClassifyForm, PickForm, TextForm, channel_hint
from opsdeck.tui.board_words import board_text
from opsdeck.tui.feed import follow_entity
from opsdeck.tui.text import cell
from opsdeck.tui.widgets.keyhints import KeyHints

if TYPE_CHECKING:
    from opsdeck.tui.context import BoardContext

STATE_STYLE = {"warning": "bold yellow", "breached": "bold reverse red", "met": "green", "met_late": "yellow"}
WRITING = frozenset({"tick", "note", "analysis", "attest", "promote", "close"})


class WarningScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", _("Back"), id="warning.back"),
        Binding("space", "tick", _("Tick measure"), id="warning.tick"),
        Binding("a", "analysis", _("Analysis"), id="warning.analysis"),
        Binding("m", "note", _("Note"), id="warning.note"),
        Binding("b", "attest", _("Told"), id="warning.attest"),
        Binding("p", "promote", _("Promote"), id="warning.promote"),
        Binding("C", "close", _("Passed"), id="warning.close"),
    ]
    DEFAULT_CSS = """
    WarningScreen #summary { height: auto; background: $panel; padding: 0 1; }
    WarningScreen #body { height: 1fr; padding: 0 1; }
    WarningScreen .section { height: auto; margin: 1 0 0 0; }
    WarningScreen #measures { height: auto; max-height: 10; border: none; }
    """

    def __init__(self, context: BoardContext, warning_id: int) -> None:
        super().__init__()
        self.ctx = context
        self.warning_id = warning_id
        self.data: WarningDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"W{self.warning_id} …", id="summary")
        with VerticalScroll(id="body"):
            yield Static(classes="section", id="fields")
            yield Static(classes="section", id="clocks")
            yield Static(Text(_("Preparatory measures (space: done / not done)"), "bold"), classes="section")
            yield OptionList(id="measures")
            yield Static(classes="section", id="told")
            yield Static(classes="section", id="notes")
            yield Static(classes="section", id="trail")
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()
        self.watch_feed()
        self.query_one("#measures", OptionList).focus()

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_feed(self) -> None:
        follow_entity(self, "warning", self.load)  # another login's change shows within a second

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITING:
            if self.ctx.read_only:
                return False  # a viewer changes nothing (and the service refuses anyway)
            if self.data is not None and self.data["status"] != "open":
                return False  # promoted or passed: final
        return True

    @property
    def warnings(self) -> Warnings:
        return Warnings(Service(self.ctx.store, self.ctx.login, read_only=self.ctx.read_only, by=self.ctx.by))

    # -- loading and drawing ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> WarningDetail:
        with self.ctx.store.read() as session:
            return early_warning.detail(session, self.warning_id, self.ctx.zone, self.ctx.clock())

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.worker.state == WorkerState.ERROR:
            error = event.worker.error
            self.app.notify(board_text(error, self.ctx.zone), severity="error")
        elif event.worker.state == WorkerState.SUCCESS:
            if event.worker.group == "load" and isinstance(event.worker.result, dict):
                self.data = cast(WarningDetail, event.worker.result)  # `load`'s
                self._show()
                self.refresh_bindings()
            elif event.worker.group == "act":
                self.app.notify(str(event.worker.result), timeout=4)
                self.load()

    def _local(self, value: str | None) -> str:
        if not value:
            return "-"
        return format_local(datetime.fromisoformat(value.replace("Z", "+00:00")), self.ctx.zone)

    def _show(self) -> None:
        d = self.data
        assert d is not None
        kinds = {"external": _("external"), "internal": _("internal")}
        statuses = {"open": _("open"), "promoted": _("promoted"), "passed": _("passed")}
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f"W{d['id']} ", "bold")
        if d["serious"]:
            summary.append(_("serious") + " ", "bold red")
        summary.append(cell(d["title"], 200).rstrip(), "bold")
        summary.append(
            "\n"
            + _("{kind} warning  {status}  raised {at} by {by}  version {version}").format(
                kind=kinds.get(d["kind"], d["kind"]),
                status=statuses.get(d["status"], d["status"]),
                at=self._local(d["raised_at"]),
                by=clean(d["raised_by"]),
                version=d["version"],
            ),
            "dim",
        )
        self.query_one("#summary", Static).update(summary)
        self._fields(d)
        self._clocks(d)
        self._measures(d)
        self._told(d)
        self._notes(d)

    def _fields(self, d: WarningDetail) -> None:
        text = Text()
        rows = [
            (_("source"), d["source"] or "-"),
            (_("systems"), ", ".join(d["systems"]) or "-"),
            (_("leadership told"), _("yes") if d["leadership_told"] else _("no")),
        ]
        if d["incident_id"]:
            rows.append((_("incident"), f"#{d['incident_id']}  ({_('promoted')} {self._local(d['closed_at'])})"))
        if d["status"] == "passed":
            rows.append((_("passed"), f"{self._local(d['closed_at'])} {d['close_reason'] or ''}"))
        for label, value in rows:
            text.append(cell(label, 16) + " ", "dim")
            text.append(clean(value) + "\n")
        text.append(_("What is known") + "\n", "bold")
        text.append(clean(d["known"], one_line=False) or "-")
        text.append("\n" + _("Analysis") + " ", "bold")
        if d["analysis"]:
            by = _("({by}, {at})").format(by=clean(d["analysed_by"] or ""), at=self._local(d["analysed_at"]))
            text.append(by + "\n", "dim")
            text.append(clean(d["analysis"], one_line=False))
        else:
            text.append("\n" + _("none yet (a: write the analysis)"), "yellow")
        self.query_one("#fields", Static).update(text)

    def _clocks(self, d: WarningDetail) -> None:
        text = Text(_("Clocks") + "\n", "bold")
        names = {"analysed": _("analysed"), "leadership_told": _("leadership told (serious)")}
        now = self.ctx.clock()
        for c in d["clocks"]:
            due = datetime.fromisoformat(c["due_at"].replace("Z", "+00:00"))
            running = c["state"] in ("pending", "warning", "breached")
            left = format_countdown((due - now).total_seconds()) if running else " " * 7
            text.append(f"{cell(names.get(c['key'], c['key']), 26)} {left} ")
            text.append(cell(words.clock_state(c["state"]), 9), STATE_STYLE.get(c["state"], ""))
            text.append(" " + _("due {at}").format(at=self._local(c["due_at"])), "dim")
            if c.get("escalated_at"):
                text.append("  " + _("escalated {at}").format(at=self._local(c["escalated_at"])), "bold red")
            text.append("\n")
        text.rstrip()
        self.query_one("#clocks", Static).update(text)

    def _measures(self, d: WarningDetail) -> None:
        option_list = self.query_one("#measures", OptionList)
        highlighted = option_list.highlighted
        option_list.clear_options()
        for m in d["measures"]:
            line = Text(f"{'[x]' if m['done'] else '[ ]'} {cell(m['key'], 14)} ")
            line.append(clean(pick(m["title"], m["title_zh"])))
            if m["done"]:
                line.append(f"  {clean(m['done_by'] or '')} {self._local(m['done_at'])}", "dim")
            option_list.add_option(Option(line, id=m["key"]))
        if d["measures"]:
            option_list.highlighted = min(highlighted or 0, len(d["measures"]) - 1)

    def _told(self, d: WarningDetail) -> None:
        text = Text(_("Told to prepare / reported") + "\n", "bold")
        for t in d["told"]:
            whom = _("leadership") if t["told"] == "leadership" else t["who"]
            text.append(f"{self._local(t['at'])} {cell(whom, 20)} {cell(t['via'], 8)} {clean(t['by'])} ")
            text.append(clean(t["note"]) + "\n", "dim")
        if not d["told"]:
            text.append(_("nobody yet (b: a department told to prepare, or leadership)"), "yellow")
        text.rstrip()
        self.query_one("#told", Static).update(text)

    def _notes(self, d: WarningDetail) -> None:
        text = Text(_("Notes") + "\n", "bold")
        for n in d["notes"]:
            text.append(f"{self._local(n['at'])} {clean(n['author'])}: ", "dim")
            text.append(clean(n["text"]) + "\n")
        if not d["notes"]:
            text.append("-\n", "dim")
        text.rstrip()
        self.query_one("#notes", Static).update(text)
        trail = Text(_("Audit trail") + "\n", "bold")
        for e in d["trail"]:
            trail.append(f"{self._local(e['at'])} {cell(e['actor'], 12)} ", "dim")
            trail.append(clean(describe(e["action"], e["details"], english=False)) + "\n")
        trail.rstrip()
        self.query_one("#trail", Static).update(trail)

    # -- acting ----------------------------------------------------------------------------

    @work(thread=True, group="act", exit_on_error=False)
    def _act(self, call: Callable[[], Any], said: str) -> str:
        call()
        return said

    def _form_done(self, result: str | None) -> None:
        if result:
            self.app.notify(result, timeout=4)
            self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tick(self) -> None:
        option_list = self.query_one("#measures", OptionList)
        if self.data is None or option_list.highlighted is None:
            return
        measure = self.data["measures"][option_list.highlighted]
        key, undo = measure["key"], bool(measure["done"])
        said = _("W{id}: {key} not done") if undo else _("W{id}: {key} done")
        self._act(
            lambda: self.warnings.measure(self.warning_id, key, undo=undo), said.format(id=self.warning_id, key=key)
        )

    def action_note(self) -> None:
        wid = self.warning_id
        self.app.push_screen(
            TextForm(
                _("Note on W{id}").format(id=wid),
                lambda v, _seen: self._do(lambda w: w.note(wid, v["text"]), _("note added to W{id}").format(id=wid)),
            ),
            self._form_done,
        )

    def action_analysis(self) -> None:
        wid = self.warning_id
        self.app.push_screen(
            TextForm(
                _("Analysis of W{id}").format(id=wid),
                lambda v, _seen: self._do(
                    lambda w: w.note(wid, v["text"], analysis=True), _("W{id}: analysis recorded").format(id=wid)
                ),
                label=_("What the group makes of it: is it real, what it may affect"),
                text=self.data["analysis"] if self.data else "",
            ),
            self._form_done,
        )

    def action_attest(self) -> None:
        wid = self.warning_id

        def perform(v: dict[str, Any], _seen: int | None) -> str:
            told = v["choice"] or "department"
            return self._do(
                lambda w: w.attest(wid, told, via=v["via"], who=v["who"], note=v["note"]),
                _("W{id}: told recorded").format(id=wid),
            )

        self.app.push_screen(
            PickForm(
                _("Who was told about W{id}").format(id=wid),
                perform,
                None,
                choices=[
                    ("department", _("a department, told to prepare")),
                    ("leadership", _("leadership (所领导), reported to")),
                ],
                label=_("Told"),
                extra=[("via", channel_hint()), ("who", _("the department (for a department)")), ("note", _("note"))],
            ),
            self._form_done,
        )

    def action_promote(self) -> None:
        wid = self.warning_id

        def perform(v: dict[str, Any], _seen: int | None) -> str:
            level = v.get("level")
            category = v.get("category") if level else None  # no level: classify the incident later
            row_incident: list[Any] = []
            self._do(
                lambda w: row_incident.extend(
                    w.promote(wid, category=category, level=level, reason=v.get("reason") or None)
                ),
                "",
            )
            return _("W{id} promoted to incident #{incident}: its clocks start now").format(
                id=wid, incident=row_incident[1].id
            )

        self.app.push_screen(
            ClassifyForm(
                _("Promote W{id} to an incident (no level: classify it later)").format(id=wid),
                perform,
                None,
                category="other",
                level=None,
            ),
            self._form_done,
        )

    def action_close(self) -> None:
        wid = self.warning_id
        self.app.push_screen(
            TextForm(
                _("Close W{id} as passed").format(id=wid),
                lambda v, _seen: self._do(
                    lambda w: w.close(wid, reason=v["text"]), _("W{id} closed as passed").format(id=wid)
                ),
                label=_("Why it passed (nothing came of it)"),
                multiline=False,
            ),
            self._form_done,
        )

    def _do(self, call: Callable[[Warnings], Any], said: str) -> str:
        """Run in the form's thread worker: a refusal is shown inside the form."""
        call(self.warnings)
        return said
