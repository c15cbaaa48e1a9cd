"""A keymap file: binding ids to keys, checked whole before the app starts.

    # ~/.config/opsdeck/keymap.toml (or the file config `keymap` names)
    [keys]
    "board.filter" = "f"            # one key
    "list.down" = "j,down,n"        # several, comma-separated

Every id is one of `tui.registry.BINDINGS` (`?` on the board shows them with their
keys). A key given to two bindings that are active together (the board and its list,
the detail screen and the incident actions, any screen and the app's own ctrl+q, ctrl+c
and ctrl+p) is refused, naming both, rather than one of them silently winning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.binding import Binding

from opsdeck.backend.config import read_toml
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _
from opsdeck.tui import registry

_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_NAME = re.compile(r"^[a-z0-9_]+$")
APP_KEYS = ("ctrl+q", "ctrl+c", "ctrl+p")  # the app's own keys, on every screen


def _app_key(key: str) -> str:
    """What one of the app's own keys does (looked up when a keymap is refused)."""
    return {"ctrl+q": _("quit"), "ctrl+c": _("quit or copy"), "ctrl+p": _("the command palette")}[key]


def load(path: Path) -> dict[str, str]:
    """The keymap in `path`: {binding id: "key,key"}; every error names the file, the id
    and the fix. A missing file is an empty keymap."""
    data = read_toml(path, "keymap")
    if data is None:
        return {}
    extra = set(data) - {"keys"}
    if extra:
        raise InvalidInput(
            "keymap_section",
            _("{path}: unknown section {section!r}").format(path=path, section=sorted(extra)[0]),
            _("put bindings under [keys]"),
        )
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise InvalidInput(
            "keymap_section",
            _("{path}: [keys] must be a table").format(path=path),
            _('write [keys] then "board.filter" = "f"'),
        )
    keymap = {binding_id: _keys(path, binding_id, value) for binding_id, value in keys.items()}
    check(keymap, str(path))
    return keymap


def _keys(path: Path, binding_id: str, value: Any) -> str:
    if binding_id not in registry.BINDINGS:
        known = ", ".join(sorted(registry.BINDINGS))
        raise InvalidInput(
            "keymap_id",
            _("{path}: no binding has the id {binding_id!r}").format(path=path, binding_id=binding_id),
            _("use one of: {known}").format(known=known),
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "keymap_keys",
            _("{path}: {binding_id}: keys must be text").format(path=path, binding_id=binding_id),
            _('write "{binding_id}" = "f"').format(binding_id=binding_id),
        )
    keys = [k.strip() for k in value.split(",")]
    for key in keys:
        if not _valid(key):
            raise InvalidInput(
                "keymap_keys",
                _("{path}: {binding_id}: {key!r} is not a key").format(path=path, binding_id=binding_id, key=key),
                _(
                    "write a letter, a digit, or a name such as enter, escape, space, f5, pagedown, "
                    "slash, question_mark, optionally after ctrl+, shift+ or alt+"
                ),
            )
    return ",".join(keys)


def _valid(key: str) -> bool:
    *mods, base = key.split("+") if key not in ("+",) else [key]
    if any(m not in _MODIFIERS for m in mods):
        return False
    return (len(base) == 1 and base.isprintable() and base != ",") or bool(_NAME.match(base))


def check(keymap: dict[str, str], source: str) -> None:
    """Refuse a key bound twice where both are active."""
    for scope, bindings in scopes().items():
        final = {binding_id: keymap.get(binding_id, default) for binding_id, default in bindings.items()}
        owner: dict[str, str] = {}
        for binding_id, keys in final.items():
            for key in keys.split(","):
                if key in APP_KEYS and binding_id in keymap:
                    raise InvalidInput(
                        "keymap_conflict",
                        _("{source}: {binding_id} = {key!r}, but {key} is {purpose}").format(
                            source=source, binding_id=binding_id, key=key, purpose=_app_key(key)
                        ),
                        _("choose another key"),
                    )
                if key in owner and owner[key] != binding_id and (binding_id in keymap or owner[key] in keymap):
                    raise InvalidInput(
                        "keymap_conflict",
                        _("{source}: {key!r} would be both {first} and {second} on the {scope} screen").format(
                            source=source, key=key, first=owner[key], second=binding_id, scope=scope
                        ),
                        _("give one of them another key"),
                    )
                owner.setdefault(key, binding_id)


def scopes() -> dict[str, dict[str, str]]:
    """Binding id -> its default keys, for each set of bindings active together."""
    # Every screen's class: only when a keymap file is there to check, not on the board's
    # start without one (issue #26).
    from opsdeck.screens.board import BoardScreen
    from opsdeck.screens.forms import ActionForm, ClassifyForm, TextForm
    from opsdeck.screens.handover import HandoverScreen
    from opsdeck.screens.help import HelpScreen
    from opsdeck.screens.history import HistoryScreen
    from opsdeck.screens.incident import IncidentScreen
    from opsdeck.screens.record import RecordScreen
    from opsdeck.screens.replay import ReplayScreen
    from opsdeck.screens.schedule import ScheduleScreen
    from opsdeck.screens.warning import WarningScreen
    from opsdeck.screens.warnings import WarningsScreen
    from opsdeck.tui.widgets.incident_list import IncidentList

    return {
        "board": _ids(BoardScreen, IncidentList),
        "history": _ids(HistoryScreen, BoardScreen, IncidentList),
        "detail": _ids(IncidentScreen),
        "record": _ids(RecordScreen),
        "replay": _ids(ReplayScreen),
        "form": _ids(ActionForm, TextForm, ClassifyForm),
        "handover": _ids(HandoverScreen),
        "warnings": _ids(WarningsScreen),
        "warning": _ids(WarningScreen),
        "schedule": _ids(ScheduleScreen),
        "help": _ids(HelpScreen),
    }


def _ids(*classes: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for cls in classes:
        for binding in _bindings(cls):
            if binding.id and binding.id not in found:
                found[binding.id] = binding.key
    return found


def _bindings(cls: Any) -> Iterable[Any]:
    for klass in cls.__mro__:
        for item in vars(klass).get("BINDINGS", []):
            if isinstance(item, Binding):
                yield item
