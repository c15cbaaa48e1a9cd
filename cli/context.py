"""What every command is given: the config, the store, the login and the language, chosen once."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from opsdeck.backend import config as config_mod
from opsdeck.backend import identity
from opsdeck.backend.engines import parse_url
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _, choose, set_language
from opsdeck.backend.progress import Progress
from opsdeck.backend.reader import Reader, Upgrading, open_reader
from opsdeck.backend.timeutil import TimeFormatError, parse_time

if TYPE_CHECKING:
    from opsdeck.backend.pg_roles import Caller
    from opsdeck.backend.service import Service
    from opsdeck.backend.store import Store


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
        self._reader: Reader | None = None
        self._store: Store | None = None
        self.scratch: list[Path] = []  # removed when the command ends (the demo's store and spool)

    def _login(self) -> str:
        """The OS login, or the `--as` login where that grants nothing new (backend/identity.py)."""
        if self.config.allow_as:
            _warn_allow_as()
        self.real_login = identity.os_login()
        as_login = getattr(self.args, "as_login", None)
        found = _database_caller(self.config.db)
        if found is not None and found.roles_on:  # PostgreSQL with roles: the server says who (session_user)
            from opsdeck.backend import pg_roles

            mapped = pg_roles.acting_login(found, as_login)
            if mapped is not None:
                self.real_login = mapped
                return mapped
        return identity.acting_login(self.real_login, as_login, self.config.db)

    @property
    def reader(self) -> Reader:
        """The store for a command that reads plain rows through Core (`incident list`):
        opened without the ORM and the models, a good part of a command's start."""
        if self._store is not None:
            return self._store
        if self._reader is None:
            told = Told()
            try:
                self._reader = open_reader(self.config.db, create=self.may_create, upgrading=told)
            finally:
                told.end()  # a bar still drawn (an upgrade that failed) leaves the line to the error
        return self._reader

    @property
    def store(self) -> Store:
        if self._store is None:
            from opsdeck.backend.store import Store  # the ORM and the models: not for a listing (CLI start)

            self._store = Store.over(self.reader)
        return self._store

    @property
    def service(self) -> Service:
        from opsdeck.backend.service import Service  # a command that only reads never loads the actions (CLI start)

        return Service(self.store, self.login, read_only=self.read_only, by=self.by)

    @property
    def by(self) -> str | None:
        """Who used `--as` (None when acting as oneself)."""
        return self.real_login if self.login != self.real_login else None

    def time(self, text: str | None, what: str) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_time(text, self.reader.clock(), self.zone)
        except TimeFormatError as error:
            raise InvalidInput("bad_time", f"{what}: {error}", _("see the examples above")) from None

    def close(self) -> None:
        opened = self._store or self._reader  # one engine: the store is over the reader
        if opened is not None:
            opened.dispose()
        if self.scratch:
            import shutil  # the demo's only

            for path in self.scratch:
                shutil.rmtree(path, ignore_errors=True)


def _database_caller(db_url: str) -> Caller | None:
    """PostgreSQL's answer to who is connected; None on SQLite, without loading pg_roles
    and what it imports (CLI start)."""
    if parse_url(db_url).get_backend_name() != "postgresql":
        return None
    from opsdeck.backend import pg_roles

    return pg_roles.caller(db_url)


def _warn_allow_as() -> None:
    """One line: the old switches are read (so old configs still load) and grant nothing."""
    where = "OPSDECK_ALLOW_AS" if "OPSDECK_ALLOW_AS" in os.environ else _("allow_as in the config")
    told = _("{where} grants nothing any more: {rule}").format(where=where, rule=identity.allow_as_rule())
    print(f"opsdeck: warning: {told}", file=sys.stderr)


def wants_json(args: argparse.Namespace) -> bool:
    """The command prints JSON (`--json`, `report show --format json`): scripts read it,
    errors included, so it stays English."""
    return bool(getattr(args, "json", False)) or getattr(args, "format", None) == "json"


class Told(Upgrading):
    """An upgrade on open, told on stderr: before it starts, as it goes (a bar on a
    terminal), and where the old store is once it is in."""

    def __init__(self) -> None:
        self._stage = ""
        self._bar: Progress | None = None

    def starting(self, current: str, head: str, backup: Path) -> None:
        told = _(
            "the store's schema is {current} and this opsdeck needs {head}: backing the store up to {path}, "
            "then upgrading it (minutes on a big store; other opsdeck processes on it wait)"
        ).format(current=current, head=head, path=backup)
        print(f"opsdeck: {told}", file=sys.stderr, flush=True)

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.end()
            self._stage = stage
            self._bar = Progress(_("backing up the store") if stage == "backup" else _("upgrading the schema"))
        assert self._bar is not None
        self._bar(done, total)

    def finished(self, backup: Path) -> None:
        self.end()
        told = _("upgraded the store's schema; the old store was saved as {path}").format(path=backup)
        print(f"opsdeck: {told}", file=sys.stderr)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.done()
            self._bar = None
