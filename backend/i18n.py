"""The one wrapper every user-facing string goes through.

English only for now; the languages issue adds catalogs. Strings are looked up when
called, so a language chosen before the UI is imported applies everywhere.
"""

from __future__ import annotations

import gettext
from pathlib import Path

_DOMAIN = "opsdeck"
_LOCALE_DIR = Path(__file__).with_name("locale")
_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(language: str | None) -> None:
    """Choose the catalog; unknown languages fall back to English, never fail."""
    global _translation
    languages = [language] if language else None
    _translation = gettext.translation(_DOMAIN, localedir=_LOCALE_DIR, languages=languages, fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)
