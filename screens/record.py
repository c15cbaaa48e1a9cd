"""`w` on an incident: its post-incident record. Before filing, the stored draft (drafted
at resolve, written by people across sessions), editable in place; ctrl+s saves it as the
draft and files it as written, closing the incident (what `opsdeck report file` does).
Once filed, the record as filed, read-only. A refusal (sections not written yet, not
resolved, a level I/II close by an operator, someone else's change) is shown and the
text stays, saved as the draft, so nothing typed is lost."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TextArea
from textual.worker import Worker, WorkerState

from opsdeck.backend import drafts, words
from opsdeck.backend.errors import OpsdeckError
from opsdeck.backend.i18n import _
from opsdeck.backend.models import Incident
from opsdeck.backend.sanitize import clean
from opsdeck.backend.service import Service
from opsdeck.backend.timeutil import format_local
from opsdeck.tui.board_words import board_text
from opsdeck.tui.context import BoardContext
from opsdeck.tui.widgets.keyhints import KeyHints


@dataclass(frozen=True)
class Loaded:
    text: str
    version: int
    draft_version: int  # the stored draft's (0: none stored yet)
    filed: str | None  # when it was filed, shown in the title; None for a draft
    status: str


class RecordScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="record.back"),
        Binding("ctrl+s", "file", _("File record and close"), id="record.file"),
        Binding("f1", "app.help", _("Help"), id="record.help"),  # `?` is text in the editor
    ]
    DEFAULT_CSS = """
    RecordScreen #record-title { height: auto; background: $panel; padding: 0 1; text-style: bold; }
    RecordScreen #record-error { height: auto; color: $error; text-style: bold; padding: 0 1; }
    RecordScreen #record-error.-empty { display: none; }
    RecordScreen TextArea { height: 1fr; }
    """

    def __init__(self, context: BoardContext, incident_id: int) -> None:
        super().__init__()
        self.ctx = context
        self.incident_id = incident_id
        self.loaded: Loaded | None = None
        self.shown_text = ""  # the text as loaded or last saved
        self.leaving = False  # esc once more leaves an edited draft

    def compose(self) -> ComposeResult:
        yield Static(_("Record #{id}: reading…").format(id=self.incident_id), id="record-title")
        yield Static(id="record-error", classes="-empty")
        yield TextArea(id="record-text", soft_wrap=True, read_only=True, show_line_numbers=False)
        yield KeyHints()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, group="record-load", exit_on_error=False)
    def load(self) -> Loaded:
        with self.ctx.store.read() as session:
            incident = session.get(Incident, self.incident_id)
            if incident is None:
                raise OpsdeckError(
                    "no_incident", _("incident #{id} does not exist").format(id=self.incident_id), _("go back")
                )
            if incident.record_filed_at and incident.record:
                filed = format_local(incident.record_filed_at, self.ctx.zone)
                return Loaded(incident.record, incident.version, 0, filed, incident.status)
            draft, draft_version = drafts.current(session, self.incident_id, self.ctx.clock(), self.ctx.zone)
            return Loaded(draft, incident.version, draft_version, None, incident.status)

    @work(thread=True, group="record-file", exit_on_error=False)
    def file(self, text: str, version: int, draft_version: int) -> str:
        service = Service(self.ctx.store, self.ctx.login, read_only=self.ctx.read_only, by=self.ctx.by)
        if text != self.shown_text:  # what was typed is kept, filed or not
            saved = service.save_draft(self.incident_id, text, seen=draft_version)
            self.app.call_from_thread(self._saved, text, saved.version)
        service.close(self.incident_id, record=text, zone=self.ctx.zone, expected_version=version)
        return _("#{id}: record filed, incident closed").format(id=self.incident_id)

    def _saved(self, text: str, draft_version: int) -> None:
        if self.loaded is not None:
            self.loaded = replace(self.loaded, draft_version=draft_version)
            self.shown_text = text

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR:
            self._error(board_text(worker.error, self.ctx.zone))
        elif worker.state == WorkerState.SUCCESS and worker.group == "record-load":
            assert isinstance(worker.result, Loaded)
            self._show(worker.result)
        elif worker.state == WorkerState.SUCCESS and worker.group == "record-file":
            self.app.notify(str(worker.result), timeout=6)
            self.app.pop_screen()

    def _show(self, loaded: Loaded) -> None:
        self.loaded = loaded
        editable = loaded.filed is None and not self.ctx.read_only
        if loaded.filed:
            title = _("Record #{id}: filed {at}, as written (read-only)").format(id=self.incident_id, at=loaded.filed)
        elif not editable:
            title = _("Record #{id}: draft (read-only session)").format(id=self.incident_id)
        elif loaded.status != "resolved":
            title = _("Record #{id}: draft; it is {status}: resolve it before filing").format(
                id=self.incident_id, status=words.status(loaded.status)
            )
        else:
            title = _("Record #{id}: draft; write it, ctrl+s saves it and, once written, files it").format(
                id=self.incident_id
            )
        self.query_one("#record-title", Static).update(Text(title))
        area = self.query_one("#record-text", TextArea)
        self.shown_text = clean(loaded.text, one_line=False)  # stored text, never a control sequence
        area.load_text(self.shown_text)
        area.read_only = not editable
        area.focus()
        self.refresh_bindings()

    def _error(self, message: str) -> None:
        error = self.query_one("#record-error", Static)
        error.update(Text(_("{message}  (your text is kept)").format(message=clean(message))))
        error.set_class(False, "-empty")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "file":
            if self.ctx.read_only:
                return False
            return self.loaded is not None and self.loaded.filed is None
        return True

    def action_file(self) -> None:
        if self.loaded is None or self.loaded.filed is not None:
            return
        self.file(self.query_one("#record-text", TextArea).text, self.loaded.version, self.loaded.draft_version)

    def action_back(self) -> None:
        area = self.query_one("#record-text", TextArea)
        edited = self.loaded is not None and not area.read_only and area.text != self.shown_text
        if edited and not self.leaving:
            self.leaving = True
            self.app.notify(_("The draft is edited and not saved: esc again leaves it, ctrl+s saves it"), timeout=5)
            return
        self.app.pop_screen()
