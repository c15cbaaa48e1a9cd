"""The one wrapper every user-facing string goes through: English, or Simplified Chinese.

The language comes from config `language` / `OPSDECK_LANG`, else from the variables
gettext reads (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), and is chosen before any screen is
imported: binding descriptions are evaluated when their class is. `setlocale` is never
called, so a language whose system locale is not installed works all the same.

Catalogs are gettext's: `locale/zh_CN/LC_MESSAGES/opsdeck.po` is the source and the
`.mo` beside it what is read at run time (`python -m opsdeck.backend.i18n` compiles it,
with Babel, a development dependency). JSON output and stored text are never translated.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidInput

_DOMAIN = "opsdeck"
_LOCALE_DIR = Path(__file__).with_name("locale")
SUPPORTED = ("en", "zh_CN")
_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _normalized(value: str) -> str | None:
    """`zh_CN.UTF-8` -> zh_CN, `zh`/`zh_Hans`/`zh_SG` -> zh_CN, `en_US` -> en, else None."""
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_")
    if code.lower() in ("c", "posix", "en") or code.lower().startswith("en_"):
        return "en"
    if code.lower() == "zh" or code.lower().startswith("zh_"):
        return "zh_CN"
    return None


def choose(configured: str | None, environ: Mapping[str, str]) -> str:
    """The language to use. A configured one that opsdeck does not have is an error that
    names the fix; the environment's are only preferences (first one we have wins)."""
    if configured:
        chosen = _normalized(configured)
        if chosen is None:
            raise InvalidInput(
                "config_language",
                _("language: {configured!r} is not a language opsdeck speaks").format(configured=configured),
                _("set language to one of {languages}").format(languages=", ".join(SUPPORTED)),
            )
        return chosen
    for variable in _VARIABLES:
        value = environ.get(variable, "")
        for part in value.split(":"):  # LANGUAGE may list several
            if part.strip() and (chosen := _normalized(part)) is not None:
                return chosen
        if value and variable != "LANGUAGE":  # LC_ALL/LC_MESSAGES/LANG: the first set one decides
            return "en"
    return "en"


def set_language(language: str | None) -> None:
    """Load the catalog; English (no catalog) for None, "en" or anything unknown."""
    global _translation, _language
    _language = language if language in SUPPORTED else "en"
    if _language == "en":
        _translation = gettext.NullTranslations()
        return
    _translation = gettext.translation(_DOMAIN, localedir=_LOCALE_DIR, languages=[_language], fallback=True)


def current() -> str:
    return _language


def _(message: str) -> str:
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Marks a literal for the catalog without looking it up now: text declared before
    the language is chosen (a command's help in cli/), looked up with `lookup` when shown."""
    return message


def lookup(message: str) -> str:
    """A message written elsewhere (argparse's own words, listed in cli/parser.py, or one
    marked with N_()), looked up in the catalog; the product's own messages go through
    `_()` with a literal."""
    return _translation.gettext(message)


def variants(message: str) -> tuple[str, ...]:
    """`message` in every language opsdeck speaks (English first): for reading back text
    written in any of them, such as a record's section headings."""
    found = [message]
    for language in SUPPORTED[1:]:
        translated = gettext.translation(_DOMAIN, localedir=_LOCALE_DIR, languages=[language], fallback=True)
        found.append(translated.gettext(message))
    return tuple(dict.fromkeys(found))


def say(english: bool, message: str, **values: Any) -> str:
    """`message` in English (data for scripts and evidence: JSON, exports) or in the chosen
    language, with `values` put in. The catalog test reads `message` as it reads `_()`'s."""
    chosen = message if english else _translation.gettext(message)
    return chosen.format(**values) if values else chosen


def pick(en: str, zh: str) -> str:
    """Text the policy gives in both languages (rule names, playbook steps, obligations):
    the Chinese when that is the language and the policy has it, else the English."""
    return zh if zh and _language == "zh_CN" else en


def catalog_path(language: str = "zh_CN") -> Path:
    return _LOCALE_DIR / language / "LC_MESSAGES" / f"{_DOMAIN}.po"


def compile_catalogs() -> list[Path]:
    """Write each `.po` as the `.mo` gettext reads (development only: needs Babel)."""
    from datetime import UTC, datetime

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for language in SUPPORTED[1:]:
        source = catalog_path(language)
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        # The .po has no POT-Creation-Date and Babel would write the time of the compile:
        # one fixed date keeps the .mo the same bytes for the same .po (no churn in commits).
        catalog.creation_date = datetime(2026, 1, 1, tzinfo=UTC)
        target = source.with_suffix(".mo")
        with target.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(f"compiled {path}")
