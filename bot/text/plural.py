"""Counted nouns that agree in number, by CLDR plural rules (through Babel).

Arabic has six plural categories: «ثانية واحدة», «ثانيتان», «6 ثوانٍ», «11 ثانية», «100 ثانية». A
message that counts something picks the form with `counted`, so «6 ثانية» cannot happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from babel import Locale
from babel.numbers import format_decimal

# Arabic forms by CLDR category; "{n}" is the number. One and two say the count in the noun itself.
SECONDS = {
    "ar": {
        "zero": "{n} ثانية",
        "one": "ثانية واحدة",
        "two": "ثانيتين",
        "few": "{n} ثوانٍ",
        "many": "{n} ثانية",
        "other": "{n} ثانية",
    },
    "en": {"one": "{n} second", "other": "{n} seconds"},
}
QUESTIONS = {
    "ar": {
        "zero": "{n} سؤال",
        "one": "سؤال واحد",
        "two": "سؤالين",
        "few": "{n} أسئلة",
        "many": "{n} سؤالًا",
        "other": "{n} سؤال",
    },
    "en": {"one": "{n} question", "other": "{n} questions"},
}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_category(n: int, lang: str) -> str:
    """The CLDR plural category of `n` in `lang`: zero, one, two, few, many or other."""
    return str(_locale(lang).plural_form(n))


def counted(n: int, forms: Mapping[str, Mapping[str, str]], lang: str) -> str:
    """`n` with its noun in the form `lang` requires ("6 ثوانٍ", "1 second"); digits stay Latin."""
    by_category = forms.get(lang) or forms["en"]
    category = plural_category(n, lang if lang in forms else "en")
    template = by_category.get(category) or by_category["other"]
    return template.format(n=format_decimal(n, locale="en", group_separator=False))
