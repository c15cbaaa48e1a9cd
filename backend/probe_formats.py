"""The probe file parsers, as the ingest calls them.

The parsers live in `backend/probes/`, one format a module; this module is the one
name the ingest imports. See `opsdeck.backend.probes` for the formats and files.
"""

from __future__ import annotations

from .probes import (
    BINARY_SHARE,
    CRITICAL,
    OK,
    STATES,
    UNKNOWN,
    WARNING,
    FormatError,
    ParsedResult,
    PerfDatum,
    check_encoding,
    decode,
    detect,
    is_binary,
    parse_health,
    parse_jsonl,
    parse_jsonl_line,
    parse_nagios,
    parse_perfdata,
    parse_plugin,
    parse_prometheus,
    state_from_rc,
    status_word,
)

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
