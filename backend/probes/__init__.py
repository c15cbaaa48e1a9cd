"""Pure parsers for probe result files (docs/plan.md#monitoring, docs/plan.md#readiness):
bytes in, `ParsedResult`s out.

No database and no file watching here: the ingest finds files, picks a parser with
`detect`, decodes with the spool's encoding, and stores what comes back, or
quarantines the file on `FormatError`.

| format | files | parser |
|---|---|---|
| Nagios checkresult (core, NSCA, NRDP) | `cXXXXXX`, ready once `cXXXXXX.ok` exists | `parse_nagios` |
| Monitoring Plugins output | `NAME.out` with `NAME.rc` | `parse_plugin` |
| Prometheus text (node_exporter textfile) | `*.prom` | `parse_prometheus` |
| application/health+json | `*.json` | `parse_health` |
| JSON Lines | `*.jsonl`, `*.ndjson` | `parse_jsonl`, `parse_jsonl_line` |
"""

from __future__ import annotations

from .detect import detect, is_nagios_name
from .health import parse_health
from .jsonl import parse_jsonl, parse_jsonl_line
from .model import CRITICAL, OK, STATES, UNKNOWN, WARNING, FormatError, ParsedResult, PerfDatum
from .nagios import parse_nagios
from .perfdata import parse_perfdata
from .plugin import parse_plugin, state_from_rc, status_word
from .prometheus import parse_prometheus
from .text import BINARY_SHARE, check_encoding, decode, is_binary

__all__ = [
    "BINARY_SHARE",
    "CRITICAL",
    "OK",
    "STATES",
    "UNKNOWN",
    "WARNING",
    "FormatError",
    "ParsedResult",
    "PerfDatum",
    "check_encoding",
    "decode",
    "detect",
    "is_binary",
    "is_nagios_name",
    "parse_health",
    "parse_jsonl",
    "parse_jsonl_line",
    "parse_nagios",
    "parse_perfdata",
    "parse_plugin",
    "parse_prometheus",
    "state_from_rc",
    "status_word",
]
