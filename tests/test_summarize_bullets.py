"""Bullets: datelines and bylines cut, relative dates made absolute, repetition measured."""

from __future__ import annotations

from datetime import date

import pytest

from bot.summarize.bullets import absolute_dates, redundancy, repeats, strip_dateline

SATURDAY = date(2025, 7, 12)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("وكالات – عقد وزير الخارجية الروسي سيرجي لافروف مباحثات في وونسان.", "عقد وزير الخارجية"),
        ("MOSCOW (Reuters) - Russia said it would deepen ties with Pyongyang.", "Russia said"),
        ("موسكو - سبوتنيك - قال وزير الخارجية الروسي إن بلاده ستعمق العلاقات.", "قال وزير"),
        ("SEOUL, July 12 (Yonhap) -- North Korea said it welcomed the visit.", "North Korea said"),
        ("By Jane Doe - Kim met Lavrov in the coastal city of Wonsan.", "Kim met Lavrov"),
    ],
)
def test_datelines_and_bylines_are_cut_from_the_front(sentence: str, expected: str) -> None:
    assert strip_dateline(sentence).startswith(expected)


@pytest.mark.parametrize(
    "sentence",
    [
        "لافروف من كوريا الشمالية: جنودكم قاتلوا معنا على أرض كورسك",
        "Kim – the leader of the North – said the visit mattered.",
    ],
)
def test_a_sentence_that_only_looks_like_a_dateline_is_kept_whole(sentence: str) -> None:
    assert strip_dateline(sentence) == sentence


@pytest.mark.parametrize(
    ("sentence", "lang", "expected"),
    [
        ("سلّم لافروف، اليوم السبت، رسالة من بوتين", "ar", "سلّم لافروف، يوم السبت 12 يوليو 2025، رسالة"),
        ("بدأ لافروف زيارته أمس الجمعة إلى بيونغ يانغ", "ar", "يوم الجمعة 11 يوليو 2025 إلى"),
        ("وفق ما ذكرته وسائل إعلام رسمية السبت.", "ar", "السبت 12 يوليو 2025."),
        ("زار شويغو بيونغ يانغ السبت الماضي", "ar", "يانغ السبت 5 يوليو 2025"),
        ("North Korea said today it welcomed him", "en", "said on 12 July 2025 it"),
        ("Lavrov arrived on Friday from Malaysia", "en", "on Friday, 11 July 2025 from"),
        ("Kim met him yesterday", "en", "on 11 July 2025"),
    ],
)
def test_relative_dates_become_absolute_against_the_articles_date(
    sentence: str, lang: str, expected: str
) -> None:
    assert expected in absolute_dates(sentence, lang, SATURDAY)


def test_the_day_before_and_dated_weekdays_and_unknown_dates_are_left_alone() -> None:
    assert (
        absolute_dates("في اليوم السابق، سلّط الحلف الضوء", "ar", SATURDAY)
        == "في اليوم السابق، سلّط الحلف الضوء"
    )
    assert absolute_dates("on Saturday, July 12 he said", "en", SATURDAY) == "on Saturday, July 12 he said"
    assert absolute_dates("قال اليوم إن", "ar", None) == "قال اليوم إن"
    # «اليوم السبت» in an article dated a Friday: the date is wrong, not the text; nothing is invented.
    assert "اليوم السبت" in absolute_dates("قال اليوم السبت", "ar", date(2025, 7, 11))


def test_sentences_naming_the_same_three_people_repeat_each_other_in_other_words() -> None:
    greeting = ({"عقد", "مباحث", "تحي"}, {"lavrov", "kim-jong-un", "putin"})
    message = ({"سلم", "رسال", "رسمي"}, {"lavrov", "putin", "kim-jong-un"})
    nuclear = ({"تفهم", "نووي", "حق"}, {"lavrov", "kim-jong-un"})
    assert repeats(greeting[0], message[0], greeting[1], message[1])
    assert not repeats(greeting[0], nuclear[0], greeting[1], nuclear[1])
    assert redundancy({"a", "b"}, {"a", "b"}, set(), set()) == 1.0
