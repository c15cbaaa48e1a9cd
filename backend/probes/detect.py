"""Which parser a spool file is for: by its name first, its first bytes second."""

from __future__ import annotations

import json
import re

# Nagios, NSCA and NRDP all name result files with mkstemp("cXXXXXX"): letters and digits.
_NAGIOS_NAME = re.compile(r"c[A-Za-z0-9]{6}")
# Content that confirms a `cXXXXXX` file is a check result, not some other short name.
_NAGIOS_CONTENT = re.compile(r"^(?:### |file_time=|host_name=)", re.MULTILINE)
# Files still being written, by the conventions of the writers we know.
_UNFINISHED = (".tmp", ".part", ".swp", "~")
_BY_SUFFIX = {
    ".out": "plugin_out",
    ".rc": "plugin_rc",
    ".prom": "prometheus",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def detect(name: str, head: bytes) -> str | None:
    """The parser for a file: nagios, nagios_ok, plugin_out, plugin_rc, prometheus, health or jsonl.

    None for a file to leave alone: dotfiles, files being written, names we do not know.
    """
    base = re.split(r"[/\\]", name)[-1]
    lowered = base.lower()
    if not base or base.startswith(".") or lowered.endswith(_UNFINISHED):
        return None
    stem, dot, suffix = base.rpartition(".")
    if dot and suffix.lower() == "ok":
        return "nagios_ok" if _NAGIOS_NAME.fullmatch(stem) else None
    if _NAGIOS_NAME.fullmatch(base):
        return "nagios" if _NAGIOS_CONTENT.search(_peek(head)) else None
    if not dot or not stem:
        return None
    if suffix.lower() == "json":
        return "jsonl" if _looks_like_lines(_peek(head)) else "health"
    return _BY_SUFFIX.get("." + suffix.lower())


def is_nagios_name(name: str) -> bool:
    """`cXXXXXX`: a checkresult's name, whatever the file holds."""
    return bool(_NAGIOS_NAME.fullmatch(name))


def _peek(head: bytes) -> str:
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _looks_like_lines(text: str) -> bool:
    """A `.json` file whose first line is a whole JSON object and which has more lines
    is JSON Lines; a health document is one object, usually over many lines."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except (ValueError, RecursionError):
        return False
