"""Who is acting: the process's real user, and when `--as` may name someone else.

The login is the real uid's entry in the password database (`os.getuid()` → `pwd`),
never `LOGNAME` or `USER`: anyone can set those. A login is a portable name (the
roster's own rule), so a login never carries a control character or an escape
sequence to a terminal, and never starts with `system:` (the worker's actors).

`--as LOGIN` grants nothing new. It works where the caller could already write every
row as anyone: a SQLite store the caller owns alone (the file, its WAL and its folder
writable by the caller only), or a store whose own setting allows it (a lead turns it
on with `opsdeck db allow-as on`; that change is an audit event on the system chain,
and the newest such event is the setting). The actor recorded is LOGIN; the event
also names who used `--as` (`by`).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .engines import null_pool_engine, parse_url, sqlite_path
from .errors import DomainError, InvalidInput
from .i18n import _

LOGIN = re.compile(r"^[a-z_][a-z0-9._-]{0,63}$")
ALLOW_AS_ACTION = "setting.allow_as"


def allow_as_rule() -> str:
    return _(
        "--as works only on a SQLite store you alone own, or where a lead turned it on with `opsdeck db allow-as on`"
    )


def shown(value: str, limit: int = 40) -> str:
    """A login (or what claims to be one) as safe text for a message: quoted, every
    control or invisible character written as its escape (as repr writes what is not
    printable), so the message names what was given, not what is left once cleaned."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def check_login(value: str, where: str) -> str:
    """`value` if it is a login, else InvalidInput naming `where` it came from."""
    if LOGIN.match(value):
        return value
    raise InvalidInput(
        "bad_login",
        _("{where}: {login} is not a login").format(where=where, login=shown(value)),
        _("a login is lower-case letters, digits, . _ - (at most 64, not starting with - or .)"),
    )


def os_login() -> str:
    """The real user's login, from the password database."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        raise InvalidInput(
            "no_login",
            _("user id {uid} has no entry in the password database, so it has no login").format(uid=uid),
            _("run opsdeck as a user with a login (see `getent passwd`)"),
        ) from None
    return check_login(name, _("your OS login"))


def owned_alone(path: Path, uid: int) -> bool:
    """The SQLite file at `path`, its WAL and shared-memory files and its folder (or,
    before the store exists, the nearest folder above it that does: the caller's
    command will create the rest) are owned by `uid` and writable by nobody else."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    for each in (folder, path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = each.lstat()
        except OSError:  # not there (or under a file): opening the store says what is wrong
            continue
        if stat.S_ISLNK(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
            return False
    return True


def allow_as_setting(db_url: str) -> bool:
    """The store's own `allow_as` setting: the newest `setting.allow_as` event of the
    system chain. Off when there is none, or the store cannot be read yet."""
    url = parse_url(db_url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return False
    engine = null_pool_engine(url)
    try:
        with engine.connect() as conn:
            event = conn.execute(
                text(
                    "SELECT seq, at, actor, details, prev_hash, hash FROM audit_events "
                    "WHERE chain = 'system' AND action = :action ORDER BY seq DESC LIMIT 1"
                ),
                {"action": ALLOW_AS_ACTION},
            ).first()
            if event is None:
                return False
            before = conn.execute(
                text("SELECT hash FROM audit_events WHERE chain = 'system' AND seq = :seq"), {"seq": event.seq - 1}
            ).scalar_one_or_none()
    except DBAPIError:
        return False
    finally:
        engine.dispose()
    if not _linked(event, before):
        return False  # a row put in or edited by hand grants nothing (`audit verify` names it)
    try:
        return json.loads(event.details).get("allow_as") is True
    except (ValueError, AttributeError):
        return False


def _linked(event: Any, before: str | None) -> bool:
    """The setting's event is a link of the system chain: its hash is its own, and its
    previous hash the event before it. (Loaded here only: `--as` on a shared store.)"""
    from datetime import UTC, datetime

    from .audit import GENESIS, event_hash

    at = event.at if isinstance(event.at, datetime) else datetime.fromisoformat(str(event.at))
    digest = event_hash(
        chain="system",
        seq=event.seq,
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        actor=event.actor,
        action=ALLOW_AS_ACTION,
        incident_id=None,
        details=event.details,
        prev_hash=event.prev_hash,
    )
    return bool(digest == event.hash and event.prev_hash == (before if event.seq > 1 else GENESIS))


def acting_login(real: str, as_login: str | None, db_url: str) -> str:
    """The login a command acts as: `real`, or `as_login` where `--as` grants nothing new."""
    if not as_login:
        return real
    other = check_login(as_login, "--as")
    if other == real:
        return real
    path = sqlite_path(parse_url(db_url))
    if path is not None and owned_alone(path, os.getuid()):
        return other
    if allow_as_setting(db_url):
        return other
    raise DomainError(
        "as_refused",
        _("--as {login}: this store is not yours alone, and its allow-as setting is off").format(login=other),
        _(
            "act as yourself ({real}); --as works only on a SQLite store you alone own, or where a lead "
            "turned it on with `opsdeck db allow-as on`"
        ).format(real=real),
        login=other,
    )
