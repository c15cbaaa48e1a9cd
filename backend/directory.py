"""The people and systems opsdeck knows: roster members, contacts, the system catalog.

Imported from TOML, JSON or CSV files (a spreadsheet export works), validated whole
before anything is written: an error names the file, the record, the key and the fix,
and nothing from a bad file is stored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from . import documents
from .config import yes_no
from .domain import ContactKind, Duty, Permission, parse_enum
from .errors import InvalidInput
from .i18n import SUPPORTED, _
from .identity import LOGIN

_LOGIN = LOGIN  # the one rule for logins (backend/identity.py)
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TRUE = {"1", "true", "yes", "y", "on"}  # a record's yes/no: y and n as well as the config's words
FALSE = {"0", "false", "no", "n", "off", ""}

# The table names a TOML or JSON file may use for each kind of record.
SECTIONS = {
    "roster": ("member", "members", "roster"),
    "contacts": ("contact", "contacts"),
    "systems": ("system", "systems"),
}


@dataclass(frozen=True)
class Record:
    where: str  # "FILE: record 3" or "FILE: line 4"
    data: dict[str, Any]


class RecordError(InvalidInput):
    pass


def read_records(path: Path, kind: str) -> list[Record]:
    text = documents.read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_records(path, text)
    if suffix == ".json":
        data: Any = documents.parse_json(text, path)
    elif suffix == ".toml":
        data = documents.parse_toml(text, path)
    else:
        raise InvalidInput(
            "bad_format",
            _("{path}: unknown file type {suffix}").format(path=path, suffix=suffix or _("(none)")),
            _("use a .toml, .json or .csv file"),
        )
    items = _section(data, kind, path)
    return [Record(_("{path}: record {number}").format(path=path, number=i + 1), item) for i, item in enumerate(items)]


def _section(data: Any, kind: str, path: Path) -> list[dict[str, Any]]:
    names = SECTIONS[kind]
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        found = [n for n in names if n in data]
        if not found:
            raise InvalidInput(
                "no_records",
                _("{path}: no [[{table}]] records").format(path=path, table=names[0]),
                _('write each record as a [[{table}]] table (TOML) or a list under "{key}" (JSON)').format(
                    table=names[0], key=names[1]
                ),
            )
        items = data[found[0]]
    else:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput(
            "bad_records",
            _("{path}: records must be tables").format(path=path),
            _("write [[{table}]] tables").format(table=names[0]),
        )
    return items


def _csv_records(path: Path, text: str) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InvalidInput(
            "no_records", _("{path}: empty CSV").format(path=path), _("the first line names the columns")
        )
    records = []
    columns = len(reader.fieldnames)
    for row in reader:
        if None in row:
            extra = len(row[None])
            raise InvalidInput(
                "csv_columns",
                _("{path}: line {line}: {values} values but the header names {columns} columns").format(
                    path=path, line=reader.line_num, values=columns + extra, columns=columns
                ),
                _('quote values that contain commas, like "+86 10, 5550"'),
            )
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(clean.values()):
            continue
        records.append(Record(_("{path}: line {line}").format(path=path, line=reader.line_num), clean))
    return records


def _fail(record: Record, key: str, what: str, fix: str) -> RecordError:
    message = _("{where}: {key}: {what}").format(where=record.where, key=key, what=what)
    return RecordError("bad_record", message, fix, where=record.where, key=key)


def _text(record: Record, key: str, *, required: bool = False, limit: int = 200) -> str:
    value = record.data.get(key, "")
    if value is None:
        value = ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _fail(record, key, _("must be text"), _("write {key} as text").format(key=key))
    value = value.strip()
    if required and not value:
        raise _fail(record, key, _("missing"), _("give every record a {key}").format(key=key))
    if len(value) > limit:
        raise _fail(record, key, _("longer than {limit} characters").format(limit=limit), _("shorten it"))
    return value


def _flag(record: Record, key: str, default: bool = False) -> bool:
    value = record.data.get(key, default)
    found = yes_no(value, TRUE, FALSE)
    if found is not None:
        return found
    raise _fail(record, key, _("{value!r} is not yes or no").format(value=value), _("write true/false, yes/no or 1/0"))


def _list(record: Record, key: str) -> list[str]:
    value = record.data.get(key, [])
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise _fail(
        record, key, _("must be a list of words"), _('write {key} = ["a", "b"] (or a;b in CSV)').format(key=key)
    )


def _channels(record: Record) -> dict[str, Any]:
    value = record.data.get("channels", {})
    if value in ("", None):
        return {}
    if not isinstance(value, dict):
        raise _fail(
            record, "channels", _("must be a table"), _('write channels = { webhook = "..." } (TOML/JSON only)')
        )
    return value


def _lang(record: Record) -> str:
    """The language messages to them are written in; empty: the center's (templates' lang)."""
    value = _text(record, "lang", limit=8)
    if value and value not in SUPPORTED:
        raise _fail(
            record,
            "lang",
            _("{value!r} is not a language").format(value=value),
            _("use {languages}, or leave it out for the center's").format(languages=", ".join(SUPPORTED)),
        )
    return value


def _only(record: Record, allowed: set[str]) -> None:
    extra = set(record.data) - allowed
    if extra:
        name = sorted(extra)[0]
        raise _fail(record, name, _("unknown key"), _("use only {keys}").format(keys=", ".join(sorted(allowed))))


def _enum(record: Record, key: str, parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except ValueError as error:
        raise _fail(record, key, str(error), _("fix the value")) from None


def member_from(record: Record) -> dict[str, Any]:
    _only(record, {"login", "name", "permission", "duties", "phone", "email", "on_duty", "channels", "demo", "lang"})
    login = _text(record, "login", required=True, limit=64)
    if not _LOGIN.match(login):
        raise _fail(
            record,
            "login",
            _("{login!r} is not a login").format(login=login),
            _("use the OS login: lower-case letters, digits, . _ -"),
        )
    permission = _text(record, "permission") or Permission.OPERATOR.value
    duties = _list(record, "duties")
    return {
        "login": login,
        "name": _text(record, "name", required=True, limit=120),
        "permission": _enum(record, "permission", lambda: parse_enum(Permission, permission, "permission")).value,
        "duties": [_enum(record, "duties", partial(parse_enum, Duty, d, "duty")).value for d in duties],
        "phone": _text(record, "phone", limit=40),
        "email": _text(record, "email"),
        "on_duty": _flag(record, "on_duty"),
        "channels": _channels(record),
        "demo": _flag(record, "demo"),
        "lang": _lang(record),
    }


def contact_from(record: Record) -> dict[str, Any]:
    _only(record, {"key", "name", "kind", "phone", "email", "channels", "note", "lang"})
    key = _text(record, "key", required=True, limit=64)
    if not _KEY.match(key):
        raise _fail(
            record, "key", _("{key!r} is not a key").format(key=key), _("use lower-case letters, digits, . _ -")
        )
    kind = _text(record, "kind", required=True)
    return {
        "key": key,
        "name": _text(record, "name", required=True, limit=120),
        "kind": _enum(record, "kind", lambda: parse_enum(ContactKind, kind, "contact kind")).value,
        "phone": _text(record, "phone", limit=40),
        "email": _text(record, "email"),
        "channels": _channels(record),
        "note": _text(record, "note", limit=2000),
        "lang": _lang(record),
    }


def system_from(record: Record) -> dict[str, Any]:
    _only(record, {"name", "duty_area", "vendor_contact", "maintenance_contract", "parent", "description"})
    duty = _text(record, "duty_area")
    return {
        "name": _text(record, "name", required=True, limit=120),
        "duty_area": _enum(record, "duty_area", lambda: parse_enum(Duty, duty, "duty")).value if duty else None,
        "vendor_contact": _text(record, "vendor_contact", limit=64) or None,
        "maintenance_contract": _flag(record, "maintenance_contract"),
        "parent": _text(record, "parent", limit=120) or None,
        "description": _text(record, "description", limit=2000),
    }


PARSERS: dict[str, Callable[[Record], dict[str, Any]]] = {
    "roster": member_from,
    "contacts": contact_from,
    "systems": system_from,
}
IDENTITY = {"roster": "login", "contacts": "key", "systems": "name"}


def parse_file(path: Path, kind: str) -> list[tuple[Record, dict[str, Any]]]:
    """Read and validate every record; refuse duplicates within the file."""
    parsed = [(record, PARSERS[kind](record)) for record in read_records(path, kind)]
    seen: dict[str, str] = {}
    ident = IDENTITY[kind]
    for record, data in parsed:
        if data[ident] in seen:
            raise _fail(
                record,
                ident,
                _("{value!r} appears twice (first at {where})").format(value=data[ident], where=seen[data[ident]]),
                _("keep one record for each"),
            )
        seen[data[ident]] = record.where
    return parsed
