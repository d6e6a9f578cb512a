"""Arabic-aware normalization, for matching and search only.

Stored and displayed text keeps its original form; these functions produce the
keys that matching, deduplication and search compare.
"""

from __future__ import annotations

import re
import unicodedata

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_TRANSLATION = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ک": "ك",
        "٫": ".",
        "٬": ",",
        "،": ",",
        "؛": ";",
        "؟": "?",
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)
_FOLDS = {chr(code): value for code, value in _TRANSLATION.items()}
# Only the few characters that fold are visited; str.translate would look up every character.
_FOLDABLE = re.compile("[" + "".join(re.escape(c) for c in _FOLDS) + "]")
# Diacritics, tatweel, bidi controls and zero-width characters all go in one pass.
_DROPPED = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)


def _fold(match: re.Match[str]) -> str:
    return _FOLDS[match.group()]


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def normalize(text: str) -> str:
    """Fold `text` to its matching key: idempotent, never raises on any str."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = _nfkc(text)
    text = _FOLDABLE.sub(_fold, _DROPPED.sub("", text)).casefold()
    refolded = _nfkc(text)
    if refolded is not text:  # casefolding produced a sequence NFKC changes; fold once more
        text = _FOLDABLE.sub(_fold, _DROPPED.sub("", refolded))
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words of the normalized text; numbers keep their decimal point."""
    return _WORD.findall(normalize(text))
