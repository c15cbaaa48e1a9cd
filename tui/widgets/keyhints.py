"""The key hint line at the bottom of a screen.

Textual's Footer mounts one widget per key and recomposes all of them whenever the
bindings change (every focus change), which was a third of the board's first frame.
This is one line of text drawn from the screen's active bindings: the same keys, in
the same order, disabled ones dimmed, a click on a key presses it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

from opsdeck.backend.i18n import _


class KeyHints(Widget):
    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: 1; background: $panel; color: $text; }
    KeyHints > .key-hints--key { color: $accent; text-style: bold; }
    KeyHints > .key-hints--disabled { color: $text-disabled; }
    """
    COMPONENT_CLASSES = {"key-hints--key", "key-hints--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []  # (start cell, end cell, key) of the last render

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key", partial=True)
        disabled = self.get_component_rich_style("key-hints--disabled", partial=True)
        text = Text(" ", no_wrap=True, overflow="ellipsis", end="")
        spans: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        active = self.screen.active_bindings
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, (_node, binding, enabled, _tooltip) in active.items():
            if not binding.show or binding.action in seen or key == palette:
                continue
            seen.add(binding.action)
            start = text.cell_len
            text.append(f"{self.app.get_key_display(binding)} ", key_style + disabled if not enabled else key_style)
            text.append(f"{binding.description}  ", disabled if not enabled else "")
            spans.append((start, text.cell_len, binding.key.split(",")[0]))
        if palette in active:  # the palette key on the right, where Textual's Footer puts it
            binding = active[palette][1]
            # Textual names it "palette", in English, in its own bindings.
            hint = Text.assemble((f"{self.app.get_key_display(binding)} ", key_style), (_("palette"), ""), " ")
            gap = self.size.width - text.cell_len - hint.cell_len
            if gap >= 2:
                text.append(" " * gap)
                spans.append((text.cell_len, text.cell_len + hint.cell_len, binding.key))
                text.append_text(hint)
        self._spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
