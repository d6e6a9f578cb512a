"""Sentence and paragraph splitting for Arabic and English."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.errors import TextError
from bot.text.sentences import split_paragraphs, split_sentences

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def test_splits_on_arabic_and_latin_terminators() -> None:
    text = "هل هذا صحيح؟ نعم! قال الوزير ذلك. ثم غادر؛ وانتهى الأمر… What now? Go!"
    assert split_sentences(text) == [
        "هل هذا صحيح؟",
        "نعم!",
        "قال الوزير ذلك.",
        "ثم غادر؛",
        "وانتهى الأمر…",
        "What now?",
        "Go!",
    ]


def test_line_breaks_end_sentences() -> None:
    assert split_sentences("عنوان بلا نقطة\nفقرة أولى") == ["عنوان بلا نقطة", "فقرة أولى"]


def test_never_splits_inside_figures() -> None:
    assert split_sentences("ارتفعت التجارة إلى 3.28 مليار دولار. وبلغت 1,000 طن.") == [
        "ارتفعت التجارة إلى 3.28 مليار دولار.",
        "وبلغت 1,000 طن.",
    ]


def test_never_splits_after_abbreviations_or_initials() -> None:
    text = "The U.S. Army met Mr. Smith and Dr. Jones at 9 a.m. on Friday. J. K. Rowling wrote. Next."
    assert split_sentences(text) == [
        "The U.S. Army met Mr. Smith and Dr. Jones at 9 a.m. on Friday.",
        "J. K. Rowling wrote.",
        "Next.",
    ]


def test_arabic_initials_and_agency_credits_do_not_split() -> None:
    assert split_sentences("قال د. أحمد إن الصورة (أ.ف.ب) واضحة. وانتهى") == [
        "قال د. أحمد إن الصورة (أ.ف.ب) واضحة.",
        "وانتهى",
    ]


def test_arabic_comma_does_not_end_a_sentence() -> None:
    assert split_sentences("زار لافروف بيونغ يانغ، ثم توجه إلى الصين، وعاد.") == [
        "زار لافروف بيونغ يانغ، ثم توجه إلى الصين، وعاد."
    ]


def test_quotes_stay_with_their_sentence() -> None:
    assert split_sentences("He said: “Go home.” Then he left.") == ["He said: “Go home.”", "Then he left."]
    assert split_sentences("وقال إن «البلدين شريكان.» ثم غادر.") == ["وقال إن «البلدين شريكان.»", "ثم غادر."]


def test_terminators_inside_a_quotation_do_not_split_it() -> None:
    text = "وقال شي: «إن الصين مستعدة للعمل... لتعزيز الاتصالات». وأضاف أن البلدين متفقان."
    assert split_sentences(text) == [
        "وقال شي: «إن الصين مستعدة للعمل... لتعزيز الاتصالات».",
        "وأضاف أن البلدين متفقان.",
    ]


def test_lowercase_continuation_is_not_a_new_sentence() -> None:
    assert split_sentences("It costs approx. ten dollars. Fine.") == [
        "It costs approx. ten dollars.",
        "Fine.",
    ]


def test_pieces_without_letters_are_left_out() -> None:
    assert split_sentences("... !!! \n نعم.") == ["نعم."]
    assert split_sentences("") == []


def test_seed_paragraph_splits_into_its_sentences() -> None:
    paragraph = _seed("001").splitlines()[11]
    sentences = split_sentences(paragraph)
    assert len(sentences) == 2
    assert sentences[0].endswith("ربما موسكو نفسها.")
    assert sentences[1].endswith("وبالطبع روسيا.”")


def test_paragraphs_are_lines_of_copied_pages() -> None:
    paragraphs = split_paragraphs(_seed("003"))
    assert paragraphs[:3] == [
        "روسيا وكوريا الشمالية تواصلان الحوار الاستراتيجي.. وواشنطن تراقب بحذر",
        "السبت 12 يوليو 2025 | 01:52 صباحاً",
        "وزير خارجية روسيا",
    ]
    assert len(split_paragraphs(_seed("000"))) == 34


def test_hard_wrapped_blocks_are_joined() -> None:
    text = (
        "This is a long line of wrapped prose that goes on and on until\n"
        "the wrap column, and then continues on the next line of the\n"
        "block until it ends.\r\n\r\nSecond paragraph."
    )
    assert split_paragraphs(text) == [
        "This is a long line of wrapped prose that goes on and on until the wrap column, and then"
        " continues on the next line of the block until it ends.",
        "Second paragraph.",
    ]


def test_bytes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(TextError, match="must be a str, got bytes"):
        split_sentences(b"text")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_split_sentences_never_raises_on_any_str(text: str) -> None:
    split_sentences(text)
