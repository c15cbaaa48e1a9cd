"""Reading JSON probe documents strictly: what a value must be, and where it was wrong.

`where` is a place for the message (`line 3`, `checks["db"][0]`); every failure is a
FormatError that names it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

from .model import UNKNOWN, FormatError, state_from_code, state_from_word
from .timefields import from_json_value


def load_json(text: str, first_line: int = 1) -> object:
    """The JSON value. NaN and Infinity are refused, as RFC 8259 does; raw control
    characters inside strings are not (`strict=False`): probe text is kept as received,
    escape sequences included, and neutralized where it is shown."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, strict=False)
    except json.JSONDecodeError as error:
        line = first_line + error.lineno - 1
        raise FormatError(f"line {line} column {error.colno}: not valid JSON: {error.msg}") from None
    except ValueError as error:  # a refused constant, or an integer too long to convert
        raise FormatError(f"line {first_line}: not valid JSON: {error}") from None
    except RecursionError:
        raise FormatError(f"line {first_line}: JSON nested too deeply") from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def state_of(value: object, where: str) -> str:
    """A status word (pass/warn/fail, ok/up/down, OK/WARNING/CRITICAL/UNKNOWN, any case)
    or a code 0-3. A word or code outside these is UNKNOWN; a value of another type is bad input."""
    if isinstance(value, str):
        return state_from_word(value) or UNKNOWN
    if isinstance(value, int | float) and not isinstance(value, bool):
        return state_from_code(value) if isinstance(value, int) or math.isfinite(value) else UNKNOWN
    raise FormatError(f"{where}: a status must be a word like pass or fail, or a number 0-3, not {_kind(value)}")


def text_of(value: object, where: str) -> str:
    """Optional text: absent or null is ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormatError(f"{where}: must be text, not {_kind(value)}")
    return value


def name_of(value: object, where: str) -> str | None:
    """An optional name: None when absent, null or empty."""
    text = text_of(value, where)
    return text or None


def time_of(value: object, where: str) -> datetime | None:
    """An optional time (RFC 3339 or unix seconds), aware UTC."""
    if value is None:
        return None
    try:
        return from_json_value(value)
    except ValueError as error:
        raise FormatError(f"{where}: {error}") from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", bool: "true/false", str: "text", type(None): "null"}
    return names.get(type(value), "a number")
