"""How commands print: JSON for scripts (streamed for long lists), tables padded by
terminal cells, bytes as they are."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from opsdeck.backend import listing
from opsdeck.backend.cells import cell_len
from opsdeck.backend.i18n import _

if TYPE_CHECKING:
    from opsdeck.cli.context import Context


_C1 = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON as opsdeck prints it: UTF-8, but C1 controls (U+0080-U+009F, which a terminal
    obeys like ESC sequences), line/paragraph separators and the bidi overrides and
    isolates (which make a title read backwards) escaped as \\uXXXX."""
    return _C1.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(value, ensure_ascii=False, indent=indent))


def emit_json(value: Any) -> None:
    sys.stdout.write(json_text(value, indent=2) + "\n")


def emit_json_array(items: Iterable[Any]) -> None:
    """Stream a big list without holding it: `[`, items, `]`."""
    out = sys.stdout
    out.write("[")
    first = True
    for item in items:
        out.write("\n  " if first else ",\n  ")
        out.write(json_text(item))
        first = False
    out.write("\n]\n" if not first else "]\n")


def term_width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def ljust(text: str, cells: int) -> str:
    """Pad to `width` terminal cells (a Chinese character takes two), never crop."""
    return text + " " * max(0, cells - cell_len(text))


def applied(ctx: Context, what: Callable[[int], str], result: tuple[int, bool]) -> int:
    version, changed = result
    if ctx.args.json:
        emit_json({"version": version, "changed": changed})
    else:
        print(what(version) + ("" if changed else _(" (unchanged: the file matches it)")))
    return 0


def opened(ctx: Context, incident_id: int) -> int:
    """What a command that opens an incident prints (`incident open`, `warning promote`):
    with --json the incident as `incident show` gives it, else its id alone."""
    if ctx.args.json:
        with ctx.store.read() as session:
            emit_json(listing.get_incident(session, incident_id))
    else:
        print(incident_id)
    return 0


def routing_version(version: int) -> str:
    return _("routing version {version}").format(version=version)


def policy_version(version: int) -> str:
    return _("policy version {version}").format(version=version)


def write_bytes(data: bytes) -> None:
    """Bytes to standard output as they are (an .ics, a CSV with its BOM); a stdout with no
    byte buffer (a test's StringIO, an embedding) gets the same text, decoded as UTF-8."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    buffer.write(data)
    buffer.flush()
