"""Language detection: script counts first, py3langid for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.errors import TextError
from bot.text.lang import detect_language

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"

ENGLISH = (
    "Russian Foreign Minister Sergei Lavrov arrived in North Korea on Friday for talks with his "
    "counterpart, the second round of a strategic dialogue between the two countries."
)


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_every_seed_is_arabic(path: Path) -> None:
    assert detect_language(path.read_text(encoding="utf-8")) == "ar"


def test_english_prose_is_english() -> None:
    assert detect_language(ENGLISH) == "en"


def test_short_english_headline_full_of_names_is_still_english() -> None:
    assert detect_language("Vladimir Putin met Kim Jong Un in Wonsan on Saturday.") == "en"


def test_mixed_page_gets_its_dominant_language() -> None:
    arabic = (SEEDS.glob("000_*.txt").__next__()).read_text(encoding="utf-8")[:1500]
    assert detect_language(f"VSMPO-Avisma, CNN, MGIMO. {arabic}") == "ar"
    assert detect_language(f"{ENGLISH * 3} «نقطة تحول تاريخية»") == "en"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Der Minister sagte am Samstag, dass die Gespräche fortgesetzt werden.", "de"),
        ("Le ministre russe est arrivé à Pyongyang samedi pour des entretiens.", "fr"),
        ("Москва и Пхеньян подписали договор о стратегическом партнерстве", "ru"),
        ("وزیر امور خارجه ایران گفت که مذاکرات ادامه خواهد یافت", "fa"),
    ],
)
def test_other_languages_when_confident(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   \n", "12345 678", "Kim", "!!!"])
def test_too_little_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


def test_real_english_feed_fixture_is_english() -> None:
    feed = (FIXTURES / "feeds" / "guardian.utf-8.rss").read_text(encoding="utf-8")
    assert detect_language(feed[5000:8000]) == "en"


def test_non_text_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TextError, match="got NoneType"):
        detect_language(None)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_detect_language_never_raises_on_any_str(text: str) -> None:
    detect_language(text)
