"""Normalization is for matching only: fold Arabic spelling variants, never touch the original."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.normalize import normalize, tokens


def test_diacritics_are_removed() -> None:
    assert normalize("يَسَعُ مُحَمَّدٌ") == "يسع محمد"


def test_tatweel_is_removed() -> None:
    assert normalize("بـ”نقطة") == normalize("ب”نقطة")
    assert normalize("كـــوريا") == "كوريا"


def test_alef_forms_fold_to_bare_alef() -> None:
    assert normalize("أإآٱ") == "اااا"
    assert normalize("إقرأ أيضاً") == normalize("اقرا ايضا")


def test_alef_maqsura_folds_to_ya() -> None:
    assert normalize("على") == "علي"


def test_ta_marbuta_folds_to_ha() -> None:
    assert normalize("الكورية") == "الكوريه"


def test_arabic_indic_and_persian_digits_become_ascii() -> None:
    assert normalize("٢٠٢٥ ۱۲") == "2025 12"
    assert tokens("٣٫٢٨ مليار") == ["3.28", "مليار"]


def test_latin_is_casefolded_and_spaces_collapse() -> None:
    assert normalize("  Lavrov\u200f   IN\tWonsan ") == "lavrov in wonsan"


def test_tokens_keep_figures_whole() -> None:
    assert tokens("3.28 billion, 1,000 troops; VSMPO-Avisma") == [
        "3.28",
        "billion",
        "1,000",
        "troops",
        "vsmpo",
        "avisma",
    ]


def test_original_string_is_untouched() -> None:
    original = "أكّد الوزيرُ «التعاون» ٢٠٢٥"
    copy = str(original)
    normalize(original)
    tokens(original)
    assert original == copy == "أكّد الوزيرُ «التعاون» ٢٠٢٥"


@settings(max_examples=500)
@given(st.text())
def test_normalize_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert isinstance(tokens(text), list)
