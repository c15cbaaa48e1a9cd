"""`m`, `u`, `r`, `R`: one text (a note, a cause, a resolution, a reason), with $EDITOR on ctrl+e."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static, TextArea

from opsdeck.backend.i18n import _
from opsdeck.screens.forms.base import ActionForm, Perform


class TextForm(ActionForm):
    """One piece of text (a note, a resolution, a reason); ctrl+e writes it in $EDITOR."""

    BINDINGS = [Binding("ctrl+e", "editor", _("Edit in $EDITOR"), id="form.editor")]

    def __init__(
        self,
        title: str,
        perform: Perform,
        expected_version: int | None = None,
        *,
        label: str = "",
        text: str = "",
        multiline: bool = True,
    ) -> None:
        super().__init__(title, perform, expected_version)
        self.label, self.text, self.multiline = label or _("Text"), text, multiline

    def fields(self) -> ComposeResult:
        yield Label(_("{label} (ctrl+e: $EDITOR)").format(label=self.label) if self.multiline else self.label)
        if self.multiline:
            yield TextArea(self.text, id="text", soft_wrap=True)
        else:
            yield Input(self.text, id="text")

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    def values(self) -> dict[str, Any]:
        widget = self.query_one("#text")
        value = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return {"text": value}

    @on(Input.Submitted, "#text")
    def _enter(self) -> None:
        self.action_submit()

    def action_editor(self) -> None:
        """Long text in the operator's own editor: the app steps aside while it runs."""
        if not self.multiline:
            return
        area = self.query_one("#text", TextArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False, encoding="utf-8") as handle:
            handle.write(area.text)
            path = Path(handle.name)
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
            area.text = path.read_text("utf-8").rstrip("\n")
        except (OSError, ValueError) as error:
            message = _("{editor}: {error} — type the text here instead").format(editor=editor, error=error)
            self.query_one("#error", Static).update(Text(message))
        finally:
            path.unlink(missing_ok=True)
