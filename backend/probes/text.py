"""Bytes to text for probe files, and the lines of that text.

A spool has one `encoding` (UTF-8 unless configured; Chinese Windows agents often
write GB18030). Undecodable bytes are replaced and reported, so the result can be
flagged instead of lost; a file that is mostly undecodable, or holds NUL, is binary
and does not get parsed at all.
"""

from __future__ import annotations

import codecs

BINARY_SHARE = 0.10  # more undecodable bytes than this share makes a file binary
_BOM = "\ufeff"
# A decoded text never holds a lone surrogate, so one stands in for each undecodable
# byte while counting them (`surrogateescape` cannot: it refuses bytes below 0x80).
_MARK = "\udc80"
_COUNTING = "opsdeck-probes-count"


def _mark_each_byte(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return _MARK * (error.end - error.start), error.end


codecs.register_error(_COUNTING, _mark_each_byte)


def check_encoding(name: str) -> str:
    """The codec's canonical name, for validating a spool's `encoding` option at config load."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"{name!r} is not a text encoding Python knows: use utf-8 or gb18030, for example") from None
    try:
        "".encode(info.name)
    except LookupError:  # pragma: no cover - a codec that cannot encode text (e.g. rot13 is str-to-str)
        raise ValueError(f"{name!r} is not a text encoding") from None
    return info.name


def decode(raw: bytes, encoding: str = "utf-8") -> tuple[str, bool]:
    """The text, and whether any undecodable bytes were replaced (with U+FFFD).

    A leading byte order mark is dropped: Windows editors write one, and it would hide
    the first line's content from every parser.
    """
    try:
        text, replaced = raw.decode(encoding), False
    except UnicodeDecodeError:
        text, replaced = raw.decode(encoding, errors="replace"), True
    return text.removeprefix(_BOM), replaced


def is_binary(raw: bytes, encoding: str = "utf-8") -> bool:
    """NUL characters, or more than 10 % of the bytes undecodable in `encoding`.

    NUL is looked for in the decoded text, so UTF-16 spools (where every other byte
    is zero) are judged by their characters, not their bytes.
    """
    if not raw:
        return False
    text = raw.decode(encoding, errors=_COUNTING)
    return "\x00" in text or text.count(_MARK) > BINARY_SHARE * len(raw)


def lines_of(text: str) -> list[str]:
    """Lines split at LF only, with a CR before it dropped (files from Windows agents).

    Not `str.splitlines`: that also splits at VT, FF, FS/GS/RS, NEL (U+0085) and
    U+2028, which in probe output are content to keep, not line ends.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]
