"""Typed configuration, validated before anything starts.

Precedence: flag > environment > user config > site config > default. Files are TOML
at the platform's standard paths (platformdirs): the site file for a shared store, the
user file for one login. Every error names the file (or variable), the key and the fix.
"""

from __future__ import annotations

import codecs
import os
import stat
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from .errors import InvalidInput
from .i18n import _
from .timeutil import TimeFormatError, load_zone, parse_duration

APP = "opsdeck"
ENV = {
    "db": "OPSDECK_DB",
    "timezone": "OPSDECK_TIMEZONE",
    "allow_as": "OPSDECK_ALLOW_AS",
    "language": "OPSDECK_LANG",
    "spool": "OPSDECK_SPOOL",
    "spool_encoding": "OPSDECK_SPOOL_ENCODING",
    "spool_group": "OPSDECK_SPOOL_GROUP",
    "notify_dead_after": "OPSDECK_NOTIFY_DEAD_AFTER",
    "keep_done": "OPSDECK_KEEP_DONE",
    "keep_results": "OPSDECK_KEEP_RESULTS",
    "theme": "OPSDECK_THEME",
    "keymap": "OPSDECK_KEYMAP",
    "bell": "OPSDECK_BELL",
    "board_bell": "OPSDECK_BOARD_BELL",
    "ascii": "OPSDECK_ASCII",
    "receive_listen": "OPSDECK_RECEIVE_LISTEN",
}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def default_db_url() -> str:
    return f"sqlite:///{Path(platformdirs.user_data_dir(APP)) / 'opsdeck.db'}"


def default_keymap() -> str:
    return str(Path(platformdirs.user_config_dir(APP)) / "keymap.toml")


def default_spool() -> str:
    return str(Path(platformdirs.user_data_dir(APP)) / "spool")


@dataclass(frozen=True)
class Config:
    db: str = field(default_factory=default_db_url)
    timezone: str | None = None  # IANA name; None = this machine's zone
    allow_as: bool = False  # may `--as LOGIN` act as someone else (tests, demos)
    language: str | None = None
    spool: str = field(default_factory=default_spool)  # where probes drop result files
    spool_encoding: str = "utf-8"  # GB18030 for many Chinese Windows agents
    spool_group: str | None = None  # a recreated spool's group (default: its parent folder's)
    notify_dead_after: str = "24h"  # a notification failing this long is given up (dead)
    keep_done: str = "7d"  # processed probe files in the spool's done/ are deleted after this
    keep_results: str = "30d"  # probe results older than this are pruned (the newest per probe stays)
    theme: str = "textual-dark"  # a Textual theme; the app checks the name when it starts
    keymap: str = field(default_factory=default_keymap)  # binding ids -> keys (tui/keymap.py); may not exist
    bell: bool = True  # the wall rings the terminal bell on a new III+ incident or a breach
    board_bell: bool = False  # the board rings it too when it announces an arrival (off: toast and flash only)
    ascii: bool = False  # draw with ASCII only (no box drawing or ambiguous-width symbols)
    # [receive]: the alert receiver (`opsdeck receive`; the worker runs it when listen is set)
    receive_listen: str | None = None  # HOST:PORT
    receive_max_bytes: int = 1 << 20  # a request body over this is refused (413)
    receive_rate: float = 50.0  # requests per second per source before 503/429
    sources: tuple[str, ...] = ()  # where values came from, for `opsdeck config`

    def zone(self) -> Any:
        return load_zone(self.timezone)


RECEIVE_KEYS = {"listen": "receive_listen", "max_bytes": "receive_max_bytes", "rate": "receive_rate"}
_KEYS = ({f.name for f in fields(Config)} - {"sources"} - set(RECEIVE_KEYS.values())) | {"receive"}


def site_config_path() -> Path:
    return Path(platformdirs.site_config_dir(APP)) / "config.toml"


def user_config_path() -> Path:
    override = os.environ.get("OPSDECK_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def load(flags: dict[str, Any] | None = None, environ: dict[str, str] | None = None, *, checked: bool = True) -> Config:
    """The config from the site and user files, the environment and the flags; with
    `checked=False` the store URL and zone are not validated (the language is all that
    `--help` needs, and checking a URL costs SQLAlchemy's import: bench `cli start`)."""
    env = os.environ if environ is None else environ
    config = Config()
    for path in (site_config_path(), user_config_path()):
        config = _merge_file(config, path, checked=checked)
    for key, var in ENV.items():
        if var in env:
            where = _("environment variable {var}").format(var=var)
            config = _set(config, key, env[var], where=where, checked=checked)
    for key, value in (flags or {}).items():
        if value is not None:
            where = _("option --{option}").format(option=key.replace("_", "-"))
            config = _set(config, key, value, where=where, checked=checked)
    if checked:
        _validate(config)
    return config


def read_toml(path: Path, what: str) -> dict[str, Any] | None:
    """A TOML file's top table; None if there is no such file. An unreadable or invalid
    one is an error (`{what}_unreadable`, `{what}_syntax`) naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InvalidInput(
            f"{what}_unreadable",
            _("{where}: {what}").format(where=path, what=error.strerror),
            _("fix its permissions or remove it"),
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"{what}_syntax",
            _("{path}: not valid TOML ({error})").format(path=path, error=error),
            _("fix the syntax at that line"),
        ) from None


def _merge_file(config: Config, path: Path, *, checked: bool = True) -> Config:
    data = read_toml(path, "config")
    if data is None:
        return config
    for key, value in data.items():
        if key not in _KEYS:
            raise InvalidInput(
                "config_key",
                _("{where}: unknown key {key!r}").format(where=path, key=key),
                _("use one of {keys}").format(keys=", ".join(sorted(_KEYS))),
                file=str(path),
                key=key,
            )
        where = _("{path}: key {key!r}").format(path=path, key=key)
        if key == "receive":
            config = _receive(config, value, path)
            continue
        if checked and key == "db" and isinstance(value, str) and _has_password(value, where):
            _require_private(path)
        config = _set(config, key, value, where=where, checked=checked)
    return replace(config, sources=(*config.sources, str(path)))


def _require_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            "config_not_private",
            _("{path} holds a database password but others can read it (mode {mode})").format(
                path=path, mode=oct(mode & 0o777)
            ),
            _("run: chmod 600 {path}").format(path=path),
        )


def _receive(config: Config, section: Any, path: Path) -> Config:
    """The `[receive]` table: listen, max_bytes, rate."""
    if not isinstance(section, dict):
        raise InvalidInput(
            "config_type",
            _("{path}: receive must be a table").format(path=path),
            _('write [receive] and listen = "127.0.0.1:9181" under it'),
        )
    for key, value in section.items():
        if key not in RECEIVE_KEYS:
            raise InvalidInput(
                "config_key",
                _("{where}: unknown key {key!r}").format(where=path, key=f"receive.{key}"),
                _("use one of {keys}").format(keys=", ".join(sorted(RECEIVE_KEYS))),
                file=str(path),
                key=f"receive.{key}",
            )
        config = _set(
            config, RECEIVE_KEYS[key], value, where=_("{path}: key {key!r}").format(path=path, key=f"receive.{key}")
        )
    return config


def _set(config: Config, key: str, value: Any, *, where: str, checked: bool = True) -> Config:
    if key == "receive_listen":
        try:
            parse_listen(str(value))
        except ValueError:
            raise InvalidInput(
                "config_value",
                _("{where}: {value!r} is not HOST:PORT").format(where=where, value=value),
                _('write e.g. listen = "127.0.0.1:9181"'),
            ) from None
        return replace(config, receive_listen=str(value).strip())
    if key in ("receive_max_bytes", "receive_rate"):
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or number <= 0 or number != number or number == float("inf"):
            raise InvalidInput(
                "config_value",
                _("{where}: {value!r} is not a positive number").format(where=where, value=value),
                _("write e.g. max_bytes = 1048576, rate = 50"),
            )
        if key == "receive_max_bytes":
            return replace(config, receive_max_bytes=int(number))
        return replace(config, receive_rate=float(number))
    if key == "allow_as":
        return replace(config, allow_as=_bool(value, where))
    if key == "bell":
        return replace(config, bell=_bool(value, where))
    if key == "board_bell":
        return replace(config, board_bell=_bool(value, where))
    if key == "ascii":
        return replace(config, ascii=_bool(value, where))
    if key in ("theme", "keymap"):
        if not isinstance(value, str) or not value.strip():
            raise _must_be_text(where, key, non_empty=True)
        return replace(config, theme=value.strip()) if key == "theme" else replace(config, keymap=value.strip())
    if key in ("db", "timezone", "language"):
        if not isinstance(value, str):
            raise _must_be_text(where, key, non_empty=False)
        if key == "db" and not value.strip():
            raise InvalidInput(
                "config_value",
                _("{where}: empty database URL").format(where=where),
                _("give a URL or remove the setting"),
            )
        if key == "db" and checked:  # a URL costs SQLAlchemy's import: not to choose --help's language
            _checked_url(value.strip(), where)
        if key == "timezone" and value.strip():
            try:
                load_zone(value.strip())
            except TimeFormatError as error:
                raise InvalidInput(
                    "config_timezone",
                    _("{where}: {what}").format(where=where, what=error),
                    _("set timezone to an IANA name like Asia/Shanghai"),
                ) from None
        if key == "db":
            return replace(config, db=value.strip())  # not empty: refused above
        if key == "timezone":
            return replace(config, timezone=value.strip() or None)
        return replace(config, language=value.strip() or None)
    if key in ("spool", "spool_encoding"):
        if not isinstance(value, str) or not value.strip():
            raise _must_be_text(where, key, non_empty=True)
        if key == "spool_encoding":
            try:
                codecs.lookup(value.strip())
            except LookupError:
                raise InvalidInput(
                    "config_encoding",
                    _("{where}: unknown encoding {value!r}").format(where=where, value=value),
                    _("use e.g. utf-8 or gb18030"),
                ) from None
        if key == "spool":
            return replace(config, spool=value.strip())
        return replace(config, spool_encoding=value.strip())
    if key == "spool_group":
        if not isinstance(value, str):
            raise _must_be_text(where, key, non_empty=False)
        return replace(config, spool_group=value.strip() or None)
    if key in ("notify_dead_after", "keep_done", "keep_results"):
        try:
            parse_duration(str(value))
        except TimeFormatError:
            raise InvalidInput(
                "config_duration",
                _("{where}: {value!r} is not a duration").format(where=where, value=value),
                _("write e.g. 24h or 3d"),
            ) from None
        duration: str = str(value).strip()
        if key == "keep_done":
            return replace(config, keep_done=duration)
        if key == "keep_results":
            return replace(config, keep_results=duration)
        return replace(config, notify_dead_after=duration)
    raise InvalidInput(
        "config_key",
        _("{where}: unknown key {key!r}").format(where=where, key=key),
        _("use one of {keys}").format(keys=", ".join(sorted(_KEYS))),
    )


def _must_be_text(where: str, key: str, *, non_empty: bool) -> InvalidInput:
    what = _("{where}: must be non-empty text") if non_empty else _("{where}: must be text")
    return InvalidInput("config_type", what.format(where=where), _('write {key} = "..."').format(key=key))


def yes_no(value: Any, true: Collection[str] = TRUE, false: Collection[str] = FALSE) -> bool | None:
    """A yes/no value as a file writes it: a boolean, or one of the words `true` or `false`
    holds (any case, spaces around); None for anything else, which the caller refuses."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in true else False if text in false else None


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9181` for IPv6), as `[receive] listen` and `opsdeck receive
    --listen` take it; ValueError says why not."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _bool(value: Any, where: str) -> bool:
    found = yes_no(value)
    if found is not None:
        return found
    raise InvalidInput(
        "config_type",
        _("{where}: {value!r} is not true or false").format(where=where, value=value),
        _("write true or false (or 1/0)"),
    )


def _validate(config: Config) -> None:
    _checked_url(config.db, "db")
    try:
        load_zone(config.timezone)
    except TimeFormatError as error:
        raise InvalidInput(
            "config_timezone",
            _("{where}: {what}").format(where="timezone", what=error),
            _("set timezone to an IANA name like Asia/Shanghai"),
        ) from None


def _checked_url(url: str, where: str) -> Any:
    from .engines import parse_url  # SQLAlchemy: not for `--help` or a config read (bench: cli start)

    try:
        return parse_url(url)
    except InvalidInput as error:
        raise InvalidInput(error.code, _("{where}: {what}").format(where=where, what=error.what), error.fix) from None


def _has_password(url: str, where: str) -> bool:
    """A password in the URL itself or as its `password=` parameter (libpq takes both)."""
    parsed = _checked_url(url, where)
    return bool(parsed.password or parsed.query.get("password"))


def refuse_password_flag(url: str) -> None:
    """A password in argv is visible to every user through ps."""
    if _has_password(url, "--db"):
        raise InvalidInput(
            "password_on_command_line",
            _("a database password on the command line is visible to every user in ps"),
            _("put the URL in OPSDECK_DB, in a 0600 config file, or the password in PGPASSFILE"),
        )
