"""Errors that reach the user: a code for scripts, a message that names the fix.

Every refusal of the service layer is a `DomainError`. The CLI maps `kind` to its exit
code and prints `opsdeck: error: what — how to fix` on one line.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, TypedDict


class ErrorKind(IntEnum):
    """The kind of failure; the value is the CLI's exit code."""

    REFUSED = 1  # a rule or a permission said no
    INVALID = 2  # bad usage or input
    STALE = 3  # the caller's version is out of date
    NOT_FOUND = 4
    UNAVAILABLE = 5  # store unreachable, busy, or its schema is too new


class ErrorJson(TypedDict):
    """An error as `--json` prints it on standard error."""

    error: str  # the code, stable: what scripts match on
    kind: str  # ErrorKind, lower case
    message: str  # what was wrong — how to fix it, in the chosen language
    params: dict[str, Any]  # the error's own values: strings, numbers, lists of them


class OpsdeckError(Exception):
    """Base of every error meant for the user (message + fix)."""

    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, code: str, what: str, fix: str, **params: Any) -> None:
        self.code = code
        self.what = what
        self.fix = fix
        self.params = params
        super().__init__(f"{what} — {fix}" if fix else what)

    def to_json(self) -> ErrorJson:
        return {
            "error": self.code,
            "kind": self.kind.name.lower(),
            "message": str(self),
            "params": {k: _jsonable(v) for k, v in self.params.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class DomainError(OpsdeckError):
    """A rule or permission refused the action (exit 1)."""

    kind = ErrorKind.REFUSED


class InvalidInput(OpsdeckError):
    kind = ErrorKind.INVALID


class StaleWrite(OpsdeckError):
    kind = ErrorKind.STALE


class NotFound(OpsdeckError):
    kind = ErrorKind.NOT_FOUND


class StoreUnavailable(OpsdeckError):
    kind = ErrorKind.UNAVAILABLE
