"""Interface strings through gettext catalogues (``locale/<lang>/LC_MESSAGES/habmon.po``).

English is the source language. Catalogues are read with Babel once per process; plan and
indicator texts are bilingual data in the registry and do not go through gettext.
Extract new strings with ``scripts/i18n.sh`` (pybabel extract + update).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from habmon.web.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "habmon"
LANG_COOKIE = "habmon_lang"


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """msgid → msgstr for a language (empty for English, the source language)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=lang)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


@dataclass(frozen=True, slots=True)
class Translator:
    lang: str

    def gettext(self, message: str) -> str:
        return catalogue(self.lang).get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def negotiate(query: str | None, cookie: str | None, accept_language: str | None, default: str) -> str:
    """The language of a request: ``?lang=``, then the cookie, then Accept-Language, then the default."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    if accept_language:
        ranked = []
        for part in accept_language.split(","):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            ranked.append((quality, tag.strip().lower()[:2]))
        for _quality, tag in sorted(ranked, reverse=True):
            if tag in LANGUAGES:
                return tag
    return default
