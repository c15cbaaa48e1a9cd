"""ASCII mode: nothing but ASCII and wide (CJK) characters reaches the terminal.

Many Chinese terminals draw East Asian "ambiguous width" characters (box drawing,
block elements, arrows, the ellipsis, the em dash, curly quotes) two cells wide, which
breaks every border and column. In ASCII mode one line filter, applied by Textual to
everything it draws (borders, scrollbars, big digits, our own text), replaces each such
character with a one-cell ASCII look-alike: a horizontal line with `-`, a vertical with
`|`, a corner with `+`, a block with `#`, and so on. Wide characters (Chinese text) are
left alone: they are two cells everywhere.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_EXPLICIT = {
    "…": "~",
    "—": "-",
    "–": "-",
    "―": "-",
    "‒": "-",
    "·": ".",
    "•": "*",
    "∙": ".",
    "⏎": "<",
    "←": "<",
    "→": ">",
    "↑": "^",
    "↓": "v",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "×": "x",
    "°": "o",
    "±": "+",
    "▶": ">",
    "◀": "<",
    "▲": "^",
    "▼": "v",
    "●": "*",
    "○": "o",
    "■": "#",
    "□": "#",
    "◆": "*",
    "★": "*",
    "✓": "v",
    "✔": "v",
    "✗": "x",
    "✘": "x",
    "\u00a0": " ",
}


def _look_alike(char: str) -> str | None:
    """An ASCII stand-in for a character a terminal may draw two cells wide, else None."""
    if char in _EXPLICIT:
        return _EXPLICIT[char]
    code = ord(char)
    name = unicodedata.name(char, "")
    if 0x2500 <= code <= 0x257F:  # box drawing
        words = set(name.split())
        horizontal = bool(words & {"HORIZONTAL", "LEFT", "RIGHT"})
        vertical = bool(words & {"VERTICAL", "UP", "DOWN"})
        if horizontal and not vertical:
            return "-"
        if vertical and not horizontal:
            return "|"
        return "+"
    if 0x2580 <= code <= 0x259F:  # block elements
        if "LOWER ONE EIGHTH" in name:
            return "_"
        if "UPPER ONE EIGHTH" in name or "UPPER HALF" in name:
            return "-"
        if "LEFT" in name or "RIGHT" in name:
            return "|"
        return "#"
    if unicodedata.east_asian_width(char) == "A":
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        return plain[:1] or "?"
    return None


def _table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0x10000):
        char = chr(code)
        if unicodedata.category(char) in ("Cs", "Co", "Cn"):
            continue
        stand_in = _look_alike(char)
        if stand_in is not None:
            table[code] = stand_in
    return table


@lru_cache(1)
def table() -> dict[int, str]:
    return _table()


@lru_cache(4096)
def to_ascii(text: str) -> str:
    return text.translate(table())


class AsciiFilter(LineFilter):
    """Applied by Textual to every line of every widget (App._filters)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            segment if segment.text.isascii() else Segment(to_ascii(segment.text), segment.style, segment.control)
            for segment in segments
        ]
