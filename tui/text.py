"""Turning stored values into terminal cells for the widgets.

Untrusted text (titles, probe output, names) goes through the one sanitizer here, and
is only ever placed in `Segment`s or `Content.from_text`: never parsed as markup.
Crop and pad by terminal cells (Rich's own table, the one Textual renders with).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from opsdeck.backend.sanitize import clean
from opsdeck.backend.words import LEVEL_LABEL as LEVEL_LABEL  # the board's labels, shared with the text board

STATE_LABEL = {"OK": "OK", "WARNING": "WARN", "CRITICAL": "CRIT", "UNKNOWN": "UNKN"}
STATE_MARK = {"OK": ".", "WARNING": "w", "CRITICAL": "C", "UNKNOWN": "?"}


def cell(text: str | None, width: int) -> str:
    """Sanitized, cropped (with an ellipsis) and padded to exactly `width` cells."""
    value = clean(text or "")
    if width <= 0:
        return ""
    if cell_len(value) > width:
        return set_cell_size(value, width - 1) + "…"
    return set_cell_size(value, width)


def rcell(text: str, width: int) -> str:
    value = clean(text)
    return " " * max(0, width - cell_len(value)) + set_cell_size(value, min(width, cell_len(value)))


def pad(text: str, width: int) -> str:
    """Padded to at least `width` cells, never cropped (a CJK character is two)."""
    return text + " " * max(0, width - cell_len(text))


def rpad(text: str, width: int) -> str:
    """Right-aligned in at least `width` cells, never cropped."""
    return " " * max(0, width - cell_len(text)) + text
