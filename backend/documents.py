"""The files a lead applies (policy, channels, templates, the directory's records): read
once, the same way, with one error for each way a file can be wrong."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from .audit import canonical_json
from .errors import InvalidInput
from .i18n import _


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a byte order mark dropped), or a refusal naming the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput("no_file", _("{path}: no such file").format(path=path), _("check the path")) from None
    except OSError as error:  # a folder, no permission, ...
        raise InvalidInput(
            "unreadable_file",
            _("{path}: cannot be read ({error})").format(path=path, error=error.strerror),
            _("check the path and its permissions"),
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "bad_encoding", _("{path}: not UTF-8 text").format(path=path), _("save the file as UTF-8")
        ) from None


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            "bad_toml",
            _("{path}: not valid TOML ({error})").format(path=path, error=error),
            _("fix the syntax at that line"),
        ) from None


def parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "bad_json",
            _("{path}: not valid JSON ({error})").format(path=path, error=error),
            _("fix the syntax there"),
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    return parse_toml(read_text(path), path)


def document_hash(document: dict[str, Any]) -> str:
    """A stored version's identity: SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
