"""Directional isolates around Latin runs in Arabic lines."""

from __future__ import annotations

from bot.chat.bidi import FSI, PDI, isolate_latin


def test_latin_run_in_arabic_line_is_isolated() -> None:
    assert isolate_latin("التقى Sergei Lavrov في موسكو") == f"التقى {FSI}Sergei Lavrov{PDI} في موسكو"


def test_english_lines_are_untouched() -> None:
    text = "Lavrov met Kim in Pyongyang"
    assert isolate_latin(text) == text


def test_only_arabic_lines_of_a_mixed_text_change() -> None:
    text = "Reuters report\nقالت Reuters إن"
    assert isolate_latin(text) == f"Reuters report\nقالت {FSI}Reuters{PDI} إن"


def test_html_tags_and_entities_are_left_whole() -> None:
    text = 'قال <a href="https://x.org/a">TASS</a> &amp; وكالة'
    out = isolate_latin(text, html=True)
    assert '<a href="https://x.org/a">' in out and "&amp;" in out
    assert f"{FSI}TASS{PDI}" in out


def test_isolating_twice_changes_nothing() -> None:
    once = isolate_latin("التقى Kim Jong Un أمس")
    assert isolate_latin(once) == once


def test_article_text_loses_controls_that_could_reorder_a_chat_line() -> None:
    from bot.chat.bidi import one_line

    assert one_line("abc\u202eevil\u2066x\u2069\x00 \n next") == "abcevilx next"
    assert one_line("لافروف\u200fفي") == "لافروف\u200fفي"  # marks that only hint direction stay
