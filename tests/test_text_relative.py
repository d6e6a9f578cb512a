"""Relative dates made absolute against the article's own date, in Arabic and English."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.text.relative import absolute_dates, event_date, format_date, relative_dates

SATURDAY = date(2025, 7, 12)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("سلّم لافروف، اليوم السبت، رسالة", "سلّم لافروف، السبت 12 يوليو 2025، رسالة"),
        ("بدأ زيارة رسمية، أمس الجمعة، تستمر", "بدأ زيارة رسمية، الجمعة 11 يوليو 2025، تستمر"),
        ("وقال أمس إن", "وقال الجمعة 11 يوليو 2025 إن"),
        ("وصل أول أمس", "وصل الخميس 10 يوليو 2025"),
        ("التقى السبت الماضي الوزير", "التقى السبت 5 يوليو 2025 الوزير"),
        ("يصل يوم الأحد المقبل", "يصل الأحد 13 يوليو 2025"),
        ("غداً الأحد يزور", "الأحد 13 يوليو 2025 يزور"),
        (
            "وفق ما ذكرته وسائل إعلام رسمية في بيونغ يانغ السبت.",
            "وفق ما ذكرته وسائل إعلام رسمية في بيونغ يانغ السبت 12 يوليو 2025.",
        ),
        ("قائم حتى اليوم.", "قائم حتى السبت 12 يوليو 2025."),
        ("واليوم، قال", "والسبت 12 يوليو 2025، قال"),
    ],
)
def test_arabic_relative_words_become_absolute_dates(sentence: str, expected: str) -> None:
    assert absolute_dates(sentence, SATURDAY) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "في اليوم السابق، سلط الحلف الضوء",  # "the day before": not today
        "غدا التعاون أقوى",  # «غدا» without tanween is the verb "became"
        "الاثنين دولتان",  # «الاثنين» alone is also "the two"
        "السبت 12 يوليو 2025 | 01:52",  # already absolute
        "يوم السبت الموافق 12 يوليو",
    ],
)
def test_arabic_text_that_is_not_a_relative_date_is_left_alone(sentence: str) -> None:
    assert absolute_dates(sentence, SATURDAY) == sentence


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Lavrov said on Saturday that", "Lavrov said on Saturday 12 July 2025 that"),
        ("Today, Lavrov said", "On 12 July 2025, Lavrov said"),
        ("Kim said yesterday that", "Kim said on 11 July 2025 that"),
        ("talks lasting until today", "talks lasting until 12 July 2025"),
        ("he arrived last Friday", "he arrived Friday 11 July 2025"),
        ("he leaves next Sunday", "he leaves Sunday 13 July 2025"),
    ],
)
def test_english_relative_words_become_absolute_dates(sentence: str, expected: str) -> None:
    assert absolute_dates(sentence, SATURDAY) == expected


@pytest.mark.parametrize(
    "sentence", ["Kim met Lavrov Saturday, July 12", "today's talks", "a saturday market"]
)
def test_english_text_that_is_not_a_relative_date_is_left_alone(sentence: str) -> None:
    assert absolute_dates(sentence, SATURDAY) == sentence


def test_the_weekday_wins_over_a_feed_date_one_day_off() -> None:
    # Published (by the feed's clock) on Sunday, the report still says «اليوم السبت»: it means Saturday.
    assert absolute_dates("اليوم السبت", date(2025, 7, 13)) == "السبت 12 يوليو 2025"


def test_without_the_articles_date_nothing_is_rewritten() -> None:
    assert absolute_dates("اليوم السبت", None) == "اليوم السبت"
    assert relative_dates("on Saturday", None) == []


def test_a_datetime_anchor_is_taken_by_its_day() -> None:
    [found] = relative_dates("أمس", datetime(2025, 7, 12, 23, 30, tzinfo=UTC))
    assert found.day == date(2025, 7, 11)


def test_format_date_in_both_languages() -> None:
    assert format_date(SATURDAY, "ar", weekday=True) == "السبت 12 يوليو 2025"
    assert format_date(SATURDAY, "en") == "12 July 2025"


def test_the_event_date_comes_from_the_lead_not_from_background() -> None:
    lead = "بدأ لافروف زيارة رسمية إلى كوريا الشمالية، أمس الجمعة، تستمر حتى 13 يوليو الجاري"
    assert event_date("", lead, SATURDAY) == date(2025, 7, 11)
    assert event_date("", "On July 11, Lavrov arrived", date(2025, 7, 14)) == date(2025, 7, 11)
    # A date two years back is background («كان قد التقى كيم في 27 يوليو 2023»), not the event.
    assert event_date("", "كان قد التقى كيم في 27 يوليو 2023 خلال احتفالات", SATURDAY) is None
    assert event_date("", "no date here", SATURDAY) is None


def test_a_day_and_month_without_a_year_take_the_year_of_the_article() -> None:
    assert event_date("", "وصل في 30 ديسمبر", date(2026, 1, 2)) == date(2025, 12, 30)
