"""Language of an article: script counts first, py3langid only where the script does not decide.

Counting letters per script is cheap and settles Arabic against Latin on mixed pages (an Arabic
article quoting "VSMPO-Avisma" stays Arabic). py3langid then names the language of the dominant
script from a bounded sample, so a 3 KB text costs well under half a millisecond.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from bot.text.errors import require_str
from bot.text.stem import ENGLISH_STOPWORDS

UNDETERMINED = "und"

_ARABIC = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_LATIN_EXTENDED = re.compile("[\u00c0-\u024f]")
_ASCII_LETTERS = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_LETTER = re.compile(r"[^\W\d_]")
# Letters of Persian, Urdu, Pashto and Kurdish that standard Arabic does not use.
_NON_ARABIC_LETTERS = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc\u06d2\u0679\u0688\u0691\u06ba\u06be]")
_ARABIC_SCRIPT_LANGS = frozenset({"ar", "fa", "ur", "ps", "ku", "ug"})

_SAMPLE_CHARS = 600
_MIN_LETTERS = 3
_MIN_LATIN_LETTERS = 12
_MIN_CONFIDENCE = 0.5
_NON_ARABIC_SHARE = 0.02
_ENGLISH_SHARE = 0.12
_ENGLISH_WORD = re.compile(r"[a-z']+")


@functools.cache
def _identifier() -> Any:
    # Loading the model takes about half a second: only on first use, never at import.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _classify(sample: str) -> tuple[str, float]:
    lang, confidence = _identifier().classify(sample)
    return str(lang), float(confidence)


def _sample(text: str, pattern: re.Pattern[str]) -> str:
    """Up to _SAMPLE_CHARS of `text` starting at its first letter of `pattern`'s script."""
    first = pattern.search(text)
    start = first.start() if first else 0
    return text[start : start + _SAMPLE_CHARS]


def _arabic_script_language(text: str, arabic: int) -> str:
    extra = len(_NON_ARABIC_LETTERS.findall(text))
    if extra <= arabic * _NON_ARABIC_SHARE:
        return "ar"
    lang, confidence = _classify(_sample(text, _NON_ARABIC_LETTERS))
    if lang in _ARABIC_SCRIPT_LANGS and confidence >= _MIN_CONFIDENCE:
        return lang
    return "ar"


def _looks_english(sample: str) -> bool:
    # py3langid is unsure on headline-length English full of names; English function words are not.
    words = _ENGLISH_WORD.findall(sample.casefold())
    return bool(words) and sum(word in ENGLISH_STOPWORDS for word in words) >= len(words) * _ENGLISH_SHARE


def _other_script_language(text: str, pattern: re.Pattern[str]) -> str:
    sample = _sample(text, pattern)
    lang, confidence = _classify(sample)
    if confidence >= _MIN_CONFIDENCE:
        return lang
    return "en" if pattern is _LATIN and _looks_english(sample) else UNDETERMINED


def _count_latin(text: str) -> int:
    # bytes.translate counts ASCII letters at C speed; a regex over every letter is ten times slower.
    ascii_only = text.encode("ascii", "ignore")
    ascii_letters = len(ascii_only) - len(ascii_only.translate(None, _ASCII_LETTERS))
    return ascii_letters + len(_LATIN_EXTENDED.findall(text))


def detect_language(text: str) -> str:
    """ISO 639-1 code of the dominant language of `text` ("ar", "en", ...), or "und" when unsure."""
    require_str(text)
    arabic = len(_ARABIC.findall(text))
    latin = _count_latin(text)
    if arabic >= _MIN_LETTERS and arabic >= latin:
        return _arabic_script_language(text, arabic)
    if latin < _MIN_LATIN_LETTERS and arabic == 0 and not _LETTER.search(text):
        return UNDETERMINED
    letters = len(_LETTER.findall(text)) if latin < len(text) // 2 else latin
    if latin >= _MIN_LATIN_LETTERS and latin * 2 >= letters:
        return _other_script_language(text, _LATIN)
    if letters - arabic >= _MIN_LATIN_LETTERS:
        return _other_script_language(text, _LETTER)
    return UNDETERMINED
