"""`opsdeck init --system`: one store shared by every login of a group on this host.

What it sets up, in order, each step idempotent (running it again changes nothing
that is right already):

1. the folder (default /var/lib/opsdeck) owned by the group, mode 2770: the setgid bit
   makes every file created inside belong to the group; others get nothing;
2. the store in it, created with its schema, mode 0660;
3. the spool folder beside it, same group, mode 2770;
4. the site config (platformdirs' site config dir, /etc/xdg/opsdeck/config.toml on
   Linux) pointing every login at the store and the spool, mode 0644.

What file permissions do and do not do on SQLite: they keep logins outside the group
out. Inside the group anyone can open the file with any SQLite tool and change rows;
opsdeck's roles (viewer, operator, lead) stop mistakes in opsdeck, not a member who
edits the file by hand. The audit chain detects such edits (`opsdeck audit verify`).
Where that is not enough, use PostgreSQL, where the database enforces who may write.
"""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInput
from .i18n import _

DEFAULT_FOLDER = Path("/var/lib/opsdeck")
DEFAULT_GROUP = "opsdeck"
FOLDER_MODE = 0o2770
FILE_MODE = 0o660
CONFIG_MODE = 0o644


@dataclass
class SystemSetup:
    folder: Path
    group: str
    site_config: Path
    done: list[str] = field(default_factory=list)

    @property
    def store_path(self) -> Path:
        return self.folder / "opsdeck.db"

    @property
    def spool(self) -> Path:
        return self.folder / "spool"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.store_path}"


def init_system(folder: Path, group: str, site_config: Path) -> SystemSetup:
    """Set up the shared store; returns what was done (empty when all was in place)."""
    from .schema import open_store

    setup = SystemSetup(folder.resolve(), group, site_config)
    gid = _group_id(group)
    _folder(setup, setup.folder, gid)
    _folder(setup, setup.spool, gid)
    existed = setup.store_path.exists()
    open_store(setup.db_url).dispose()  # creates it with its schema, or checks the one there
    if not existed:
        setup.done.append(_("created the store {path}").format(path=setup.store_path))
    for path in (setup.store_path, *(Path(f"{setup.store_path}{s}") for s in ("-wal", "-shm"))):
        if path.exists():
            _own(setup, path, gid, FILE_MODE)
    _site_config(setup)
    return setup


def _group_id(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InvalidInput(
            "no_group",
            _("there is no group {group!r} on this host").format(group=group),
            _("create it (groupadd {group}), add the operators (usermod -aG {group} LOGIN), run this again").format(
                group=group
            ),
        ) from None


def _folder(setup: SystemSetup, path: Path, gid: int) -> None:
    try:
        if not path.exists():
            path.mkdir(parents=True)
            setup.done.append(_("created {path}").format(path=path))
        _own(setup, path, gid, FOLDER_MODE)
    except PermissionError as error:
        raise InvalidInput(
            "init_permission",
            _("{where}: {what}").format(where=path, what=error.strerror),
            _("run `opsdeck init --system` as root (sudo)"),
        ) from None


def _own(setup: SystemSetup, path: Path, gid: int, mode: int) -> None:
    info = path.stat()
    if info.st_gid != gid:
        os.chown(path, -1, gid)
        setup.done.append(_("{path}: group {group}").format(path=path, group=setup.group))
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)
        setup.done.append(_("{path}: mode {mode:o}").format(path=path, mode=mode))


def _site_config(setup: SystemSetup) -> None:
    import tomllib

    wanted = {"db": setup.db_url, "spool": str(setup.spool)}
    path = setup.site_config
    current: dict[str, object] = {}
    if path.exists():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InvalidInput(
                "config_syntax",
                _("{path}: not valid TOML ({error})").format(path=path, error=error),
                _("fix or remove it, then run this again"),
            ) from None
        clash = {k: v for k, v in current.items() if k in wanted and v != wanted[k]}
        if clash:
            raise InvalidInput(
                "site_config_differs",
                _("{path} already points elsewhere: {settings}").format(
                    path=path, settings=", ".join(f"{k} = {v!r}" for k, v in clash.items())
                ),
                _("edit or remove that file if this host should use the new store, then run this again"),
            )
    missing = {k: v for k, v in wanted.items() if k not in current}
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            lines = [path.read_text(encoding="utf-8").rstrip("\n")]
        else:
            lines = ["# opsdeck site config: every login on this host uses the shared store"]
        lines += [f"{k} = {_toml_string(v)}" for k, v in missing.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        setup.done.append(_("wrote {path}").format(path=path))
    if stat.S_IMODE(path.stat().st_mode) != CONFIG_MODE:
        path.chmod(CONFIG_MODE)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
