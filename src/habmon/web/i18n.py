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


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One language's translations: plain messages, and plural messages keyed by their singular."""

    messages: Mapping[str, str]
    plurals: Mapping[str, tuple[str, ...]]
    num_plurals: int = 2

    def plural_index(self, n: int) -> int:
        """Which plural form: one form (Chinese) → always the first; two (English-like) → singular for 1."""
        return 0 if self.num_plurals == 1 or n == 1 else 1


EMPTY = Catalogue({}, {})


@cache
def catalogue(lang: str) -> Catalogue:
    """The catalogue of a language (empty for English, the source language)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return EMPTY
    with path.open("rb") as handle:
        po = read_po(handle, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for m in po:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, str) and isinstance(m.string, str) and m.string:
            messages[m.id] = m.string
        elif isinstance(m.id, tuple | list) and isinstance(m.string, tuple | list) and all(m.string):
            plurals[str(m.id[0])] = tuple(str(x) for x in m.string)
    return Catalogue(messages, plurals, po.num_plurals)


@dataclass(frozen=True, slots=True)
class Translator:
    lang: str

    def gettext(self, message: str) -> str:
        return catalogue(self.lang).messages.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = catalogue(self.lang)
        forms = found.plurals.get(singular)
        if forms is None:
            return singular if n == 1 else plural
        return forms[min(found.plural_index(n), len(forms) - 1)]


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
