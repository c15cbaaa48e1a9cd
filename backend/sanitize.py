"""The one sanitizer for untrusted text on its way to a terminal.

Probe output, titles and notes are stored as received. Wherever they are shown, this
strips escape sequences (CSI, OSC, DCS/SOS/PM/APC strings and lone ESC pairs) and every
C0/C1 control character, so an OSC 52 clipboard write or a title change in probe output
never reaches the operator's terminal. Rich and Textual pass these through, so
`markup=False` alone is not enough.
"""

from __future__ import annotations

import re
import unicodedata

# ESC or the 8-bit CSI/OSC/DCS introducers, then the rest of the sequence:
# - CSI: parameters, intermediates, one final byte
# - OSC/DCS/SOS/PM/APC: a string up to BEL or ST (ESC \ or 0x9c), or to the end
# - any other ESC pair (ESC c, ESC 7, ESC ( B ...)
_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)
  | \x1b [\x20-\x2f]* [\x30-\x7e]?
    """,
    re.VERBOSE | re.DOTALL,
)
# Every C0 control but tab and newline, DEL, every C1 control; also the Unicode
# bidi overrides, isolates and marks, which can make a title read backwards, and the
# invisible characters a terminal draws in no cell (zero-width space and non-joiner,
# word joiner, BOM), which would put a row's columns out of line. The zero-width
# joiner stays: it holds emoji sequences together.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_CONTROL_ONE_LINE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b\u200c\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def clean(text: str | None, *, one_line: bool = True) -> str:
    """Text safe to put on a terminal. `one_line` also turns tabs and newlines into spaces."""
    if not text:
        return ""
    text = _SEQUENCE.sub("", text)
    if one_line:
        return _CONTROL_ONE_LINE.sub(_one_line, text.replace("\r\n", "\n")).strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _CONTROL.sub("", text)


def _one_line(found: re.Match[str]) -> str:
    """A line break or a control becomes a space; an invisible character, nothing."""
    return "" if found[0] in _INVISIBLE else " "


_INVISIBLE = frozenset("\u200b\u200c\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")


def literal(text: str) -> str:
    """`text` for a message: itself if every character is printable, else quoted with
    each control or invisible character written as its escape (as repr writes it), so
    the message names what was given, not what a terminal would make of it."""
    return text if text.isprintable() else repr(text)


def visible(text: str | None) -> bool:
    """Whether the text shows anything once cleaned: not only escape sequences, control
    characters, spaces and invisible format characters (zero-width space, joiners, marks)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in clean(text))


def has_controls(text: str) -> bool:
    return bool(_SEQUENCE.search(text) or _CONTROL.search(text))
