"""The CLI's context and output: the config, the store, the login and the language chosen once; JSON and table output."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from opsdeck.backend import config as config_mod
from opsdeck.backend import identity, pg_roles
from opsdeck.backend.cells import cell_len
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _, choose, set_language
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.backend.timeutil import (
    TimeFormatError,
    parse_time,
)


class Context:
    """What every command needs: validated config, the login, and (lazily) the store."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.may_create = True  # run() says False for a command that only reads
        db_flag = getattr(args, "db", None)
        if db_flag:
            config_mod.refuse_password_flag(db_flag)
        self.config = config_mod.load({"db": db_flag})
        self.zone = self.config.zone()
        # Before any screen is imported: binding descriptions are evaluated with their class.
        # JSON output, errors included, stays English: scripts read it.
        set_language("en" if wants_json(args) else choose(self.config.language, os.environ))
        self.login = self._login()
        self.read_only = bool(getattr(args, "read_only", False))
        self._store: Store | None = None

    def _login(self) -> str:
        """The OS login, or the `--as` login where that grants nothing new (backend/identity.py)."""
        if self.config.allow_as:
            _warn_allow_as()
        self.real_login = identity.os_login()
        as_login = getattr(self.args, "as_login", None)
        found = pg_roles.caller(self.config.db)
        if found is not None and found.roles_on:  # PostgreSQL with roles: the server says who (session_user)
            mapped = pg_roles.acting_login(found, as_login)
            if mapped is not None:
                self.real_login = mapped
                return mapped
        return identity.acting_login(self.real_login, as_login, self.config.db)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.db, on_backup=_tell_backup, create=self.may_create)
        return self._store

    @property
    def service(self) -> Service:
        return Service(self.store, self.login, read_only=self.read_only, by=self.by)

    @property
    def by(self) -> str | None:
        """Who used `--as` (None when acting as oneself)."""
        return self.real_login if self.login != self.real_login else None

    def time(self, text: str | None, what: str) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_time(text, self.store.clock(), self.zone)
        except TimeFormatError as error:
            raise InvalidInput("bad_time", f"{what}: {error}", _("see the examples above")) from None

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def _warn_allow_as() -> None:
    """One line: the old switches are read (so old configs still load) and grant nothing."""
    where = "OPSDECK_ALLOW_AS" if "OPSDECK_ALLOW_AS" in os.environ else _("allow_as in the config")
    told = _("{where} grants nothing any more: {rule}").format(where=where, rule=identity.allow_as_rule())
    print(f"opsdeck: warning: {told}", file=sys.stderr)


def wants_json(args: argparse.Namespace) -> bool:
    """The command prints JSON (`--json`, `report show --format json`): scripts read it,
    errors included, so it stays English."""
    return bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"


def _tell_backup(path: Path) -> None:
    told = _("upgraded the store's schema; the old store was saved as {path}").format(path=path)
    print(f"opsdeck: {told}", file=sys.stderr)


_C1 = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON as opsdeck prints it: UTF-8, but C1 controls (U+0080-U+009F, which a terminal
    obeys like ESC sequences) and line/paragraph separators escaped as \\u00XX."""
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


def _width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def _ljust(text: str, width: int) -> str:
    """Pad to `width` terminal cells (a Chinese character takes two), never crop."""
    return text + " " * max(0, width - cell_len(text))


def _applied(ctx: Context, what: Callable[[int], str], result: tuple[int, bool]) -> int:
    version, changed = result
    if ctx.args.json:
        emit_json({"version": version, "changed": changed})
    else:
        print(what(version) + ("" if changed else _(" (unchanged: the file matches it)")))
    return 0


def _routing_version(version: int) -> str:
    return _("routing version {version}").format(version=version)


def _policy_version(version: int) -> str:
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
