"""Splitting messages within platform limits at natural boundaries."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat.split import SplitError, split_message, split_telegram, utf16_len

ARABIC_SENTENCE = "قال المتحدث إن الزيارة ناجحة، وأضاف أن التعاون سيستمر؛ فهل تتغير المواقف؟ "


def test_short_text_is_one_part() -> None:
    assert split_message("hello world", 200) == ["hello world"]


def test_empty_text_has_no_parts() -> None:
    assert split_message("  \n ", 200) == []


def test_paragraph_boundaries_come_first() -> None:
    text = ("a" * 100) + "\n\n" + ("b" * 100)
    assert split_message(text, 150) == ["a" * 100, "b" * 100]


def test_arabic_sentences_split_on_arabic_punctuation() -> None:
    text = ARABIC_SENTENCE * 10
    parts = split_message(text, 200)
    assert all(len(p) <= 200 for p in parts)
    assert all(p.endswith(("؟", "؛", "،", ".")) for p in parts[:-1])
    assert "".join(p.replace(" ", "") for p in parts) == text.replace(" ", "")


def test_utf16_units_count_astral_characters_twice() -> None:
    assert utf16_len("😀a") == 3
    parts = split_message("😀 " * 300, 200, measure=utf16_len)
    assert all(utf16_len(p) <= 200 for p in parts)


def test_html_tags_stay_balanced_across_parts() -> None:
    text = "<b>" + ("word. " * 200) + "</b>"
    parts = split_telegram(text, limit=300)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert utf16_len(part) <= 300


def test_never_cuts_inside_a_tag_or_entity() -> None:
    link = '<a href="https://example.com/' + "x" * 40 + '">link</a>'
    text = (" ".join([link, "&amp;", "&lt;tag&gt;"]) + " ") * 60
    for part in split_telegram(text, limit=400):
        assert not re.search(r"<[^>]*$", part) and not re.search(r"&\w*$", part)
        assert part.count("<a ") == part.count("</a>")


def test_long_word_is_cut_by_characters() -> None:
    parts = split_message("x" * 500, 200)
    assert [len(p) for p in parts] == [200, 200, 100]


def test_tiny_limit_is_refused_clearly() -> None:
    with pytest.raises(SplitError, match="too small"):
        split_message("text", 4)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["كلمة", "word", ".", "؟", "،", " ", "\n", "\n\n", "<b>x</b>", "&amp;"]), max_size=400
    )
)
def test_every_part_fits_and_no_text_is_lost(tokens: list[str]) -> None:
    text = "".join(tokens)
    parts = split_telegram(text, limit=150)
    assert all(utf16_len(p) <= 150 for p in parts)
    visible = re.sub(r"\s+", "", re.sub(r"<[^>]*>", "", text))
    assert re.sub(r"\s+", "", "".join(re.sub(r"<[^>]*>", "", p) for p in parts)) == visible


def test_a_cut_inside_an_isolate_closes_it_and_reopens_it_in_the_next_part() -> None:
    from bot.chat.bidi import FSI, PDI

    text = (
        "قال لافروف "
        + FSI
        + " ".join(["Sergei Lavrov met Kim Jong Un in Wonsan."] * 12)
        + PDI
        + " في وونسان."
    )
    parts = split_message(text, 128)
    assert len(parts) > 1 and all(len(p) <= 128 for p in parts)
    for part in parts:
        assert part.count(FSI) == part.count(PDI)
        assert part.index(FSI) < part.rindex(PDI) if FSI in part else True
