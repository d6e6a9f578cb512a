"""The interface's words: gettext catalogs (`locale/<lang>/LC_MESSAGES/messages.po`) read with Babel.

Message ids are short keys (`subscribed`, `stats`) rather than English sentences, so a reworded English
text does not orphan its Arabic translation; plurals use each language's CLDR plural rule (Arabic has
six forms). The .po files are read once at first use and turned into gettext Translations in memory,
so nothing has to be compiled at build time and a checkout runs as it is.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGS = ("ar", "en")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
LANG_NAMES = {
    "en": {"ar": "Arabic", "en": "English", "both": "both"},
    "ar": {"ar": "العربية", "en": "الإنجليزية", "both": "كلتاهما"},
}


@functools.cache
def catalog(lang: str) -> Catalog:
    """The parsed catalog of `lang`."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=lang)


@functools.cache
def translations(lang: str) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog(lang))
    buffer.seek(0)
    return Translations(buffer)


def known(lang: str) -> str:
    return lang if lang in LANGS else DEFAULT


def t(lang: str, key: str, /, **values: Any) -> str:
    """The text `key` in `lang` (English for an unknown language), its placeholders filled."""
    text = translations(known(lang)).gettext(key)
    if text == key:
        raise LookupError(f"no interface text {key!r} in {lang}")
    return text.format(**values) if values else text


def nt(lang: str, key: str, n: int, /, **values: Any) -> str:
    """The plural text `key` for the count `n`, in the form `lang`'s plural rule picks."""
    text = translations(known(lang)).ngettext(key, key, n)
    if text == key:
        raise LookupError(f"no plural interface text {key!r} in {lang}")
    return text.format(n=n, **values)


def lang_name(ui: str, code: str) -> str:
    return LANG_NAMES[known(ui)].get(code, code)
