"""Terminal cell widths: Chinese text takes two cells a character, so crop and pad by
cells, never by `len()`."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    return 1


def cell_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(char_width(c) for c in text)


def fit(text: str, width: int, *, ellipsis: str = "…") -> str:
    """Crop to `width` cells (with an ellipsis when cut) and pad with spaces."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    out: list[str] = []
    used = 0
    limit = width - cell_len(ellipsis)
    for char in text:
        w = char_width(char)
        if used + w > limit:
            break
        out.append(char)
        used += w
    result = "".join(out) + ellipsis
    return result + " " * (width - cell_len(result))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text
