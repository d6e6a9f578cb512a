"""Figures in Arabic and English text: values, units, scales, dates, keys and English rendering."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text.figures import Figure, PartialDate, english_figure, figures, number_key, number_keys

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
ARABIC_DIGITS = str.maketrans("0123456789.,", "٠١٢٣٤٥٦٧٨٩٫٬")


def only(text: str) -> Figure:
    found = figures(text)
    assert len(found) == 1, found
    return found[0]


def described(text: str) -> list[tuple[str, str, str | None]]:
    return [(figure.kind, figure.key, figure.unit) for figure in figures(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit", "scale"),
    [
        ("3.28 مليار دولار", "money", Decimal("3.28e9"), "USD", Decimal("1e9")),
        ("٣٫٢٨ مليار دولار", "money", Decimal("3.28e9"), "USD", Decimal("1e9")),
        ("$3.28 billion", "money", Decimal("3.28e9"), "USD", Decimal("1e9")),
        ("$3.28bn", "money", Decimal("3.28e9"), "USD", Decimal("1e9")),
        ("3,28 مليار دولار", "money", Decimal("3.28e9"), "USD", Decimal("1e9")),
        ("2.5 تريليون دولار", "money", Decimal("2.5e12"), "USD", Decimal("1e12")),
        ("500 مليون روبل", "money", Decimal("5e8"), "RUB", Decimal("1e6")),
        ("3 مليارات ريال سعودي", "money", Decimal("3e9"), "SAR", Decimal("1e9")),
        ("20 ألف زائر", "count", Decimal(20000), "visitor", Decimal(1000)),
        ("20,000 زائر", "count", Decimal(20000), "visitor", Decimal(1)),
        ("٢٠٬٠٠٠ زائر", "count", Decimal(20000), "visitor", Decimal(1)),
        ("20 ألفا من الزوار", "count", Decimal(20000), "visitor", Decimal(1000)),
        ("30 شهرا", "count", Decimal(30), "month", Decimal(1)),
        ("1.8 مليون طن سنوياً", "count", Decimal("1.8e6"), "ton", Decimal("1e6")),
        ("3 ملايين طن", "count", Decimal("3e6"), "ton", Decimal("1e6")),
        ("11 ألف جندي", "count", Decimal(11000), "soldier", Decimal(1000)),
        ("20 بالمئة", "percent", Decimal(20), "%", Decimal(1)),
        ("12.5 في المائة", "percent", Decimal("12.5"), "%", Decimal(1)),
        ("٪20", "percent", Decimal(20), "%", Decimal(1)),
        ("4 آلاف قتيل", "number", Decimal(4000), None, Decimal(1000)),
        ("عام 2024", "year", Decimal(2024), None, Decimal(1)),
        ("عام ٢٠٢٠", "year", Decimal(2020), None, Decimal(1)),
    ],
)
def test_figures_read_value_unit_and_scale(
    text: str, kind: str, value: Decimal, unit: str | None, scale: Decimal
) -> None:
    figure = only(text)
    assert (figure.kind, figure.value, figure.unit, figure.scale) == (kind, value, unit, scale)


def test_raw_and_offsets_point_at_the_original_text() -> None:
    text = "ارتفعت التجارة إلى ٣٫٢٨ مليار دولار في ٢٠٢٤."
    money, year = figures(text)
    assert money.raw == "٣٫٢٨ مليار دولار" == text[money.start : money.end]
    assert year.raw == "٢٠٢٤" == text[year.start : year.end]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("12 يوليو 2025", "2025-07-12"),
        ("السبت 12 يوليو 2025 | 01:52 صباحاً", "2025-07-12"),
        ("July 12, 2025", "2025-07-12"),
        ("on 12 July 2025", "2025-07-12"),
        ("2025-07-12", "2025-07-12"),
        ("12 يوليو/تموز", "--07-12"),
        ("25 سبتمبر (أ.ف.ب)", "--09-25"),
        ("في نوفمبر 2024", "2024-11"),
        ("يوليو (تموز) 2023", "2023-07"),
        ("في 1 تشرين الأول 2024", "2024-10-01"),
    ],
)
def test_dates_in_arabic_and_english_are_read(text: str, key: str) -> None:
    assert described(text) == [("date", key, None)]


def test_a_clock_time_is_not_a_figure() -> None:
    assert described("01:52 صباحاً") == []


def test_an_impossible_date_is_not_a_date() -> None:
    assert ("date", "2025-02-30", None) not in described("30 فبراير 2025")


def test_a_lowercase_english_month_word_is_not_a_date() -> None:
    assert described("officials may 5 agree") == [("number", "5", None)]


def test_numbers_inside_links_are_ignored() -> None:
    assert described("المصدر: https://example.com/news/2025/254815.htm و www.x.com/7") == []
    assert described("inh-hinh-ban-co-dia-chinh-tri-254815.htm") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25,000 to 30,000", [("number", "25000", None), ("number", "30000", None)]),
        ("ما بين 25 إلى 30 ألف جندي", [("count", "25000", "soldier"), ("count", "30000", "soldier")]),
        ("25-30 ألف زائر", [("count", "25000", "visitor"), ("count", "30000", "visitor")]),
        ("بين 14 و15 يوليو", [("date", "--07-14", None), ("date", "--07-15", None)]),
        ("من 13 إلى 15 يوليو 2025", [("date", "2025-07-13", None), ("date", "2025-07-15", None)]),
        ("1950-1953", [("year", "1950", None), ("year", "1953", None)]),
        ("2024 و30 ألف زائر", [("year", "2024", None), ("count", "30000", "visitor")]),
    ],
)
def test_the_start_of_a_range_borrows_the_end_s_scale_unit_or_month(
    text: str, expected: list[tuple[str, str, str | None]]
) -> None:
    assert described(text) == expected


def test_number_keys_are_canonical_across_scripts_and_scales() -> None:
    assert number_keys("٣٫٢٨ مليار دولار") == number_keys("3.28 مليار دولار") == {"3.28e9"}
    assert number_keys("$3,280,000,000") == {"3.28e9"}
    assert number_keys("20 ألف زائر") == number_keys("20,000 visitors") == {"20000"}
    assert number_keys("عام 2024") == {"2024"}
    assert number_keys("20%") == number_keys("20 في المئة") == {"20%"}


def test_a_date_key_implies_its_year_and_day_without_year() -> None:
    assert number_keys("12 يوليو 2025") == {"2025-07-12", "2025-07", "2025", "--07-12"}


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("20000", "20000"),
        ("3.280", "3.28"),
        ("3.28e9", "3.28e9"),
        ("1e6", "1e6"),
        ("0.5", "0.5"),
        ("999999", "999999"),
    ],
)
def test_number_key_formats(value: str, key: str) -> None:
    assert number_key(Decimal(value)) == key


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("3.28 مليار دولار", "$3.28 billion"),
        ("20 ألف زائر", "20,000 visitors"),
        ("1.8 مليون طن", "1.8 million tons"),
        ("30 شهرا", "30 months"),
        ("1 شهر", "1 month"),
        ("500 مليون روبل", "500 million rubles"),
        ("20 بالمئة", "20%"),
        ("عام 2024", "2024"),
        ("12 يوليو 2025", "July 12, 2025"),
        ("نوفمبر 2024", "November 2024"),
        ("25 سبتمبر", "September 25"),
        ("4 آلاف قتيل", "4,000"),
        ("7 دبابات", "7"),
    ],
)
def test_english_figure_renders_only_units_it_can_render_faithfully(text: str, english: str) -> None:
    assert english_figure(figures(text)[0]) == english


def test_the_seed_articles_yield_their_headline_figures() -> None:
    trade = (SEEDS / "000_774df062bfbac8d6.txt").read_text(encoding="utf-8")
    troops = (SEEDS / "003_8f9c598dab314c26.txt").read_text(encoding="utf-8")
    assert {"3.28e9", "4.91e8", "20000", "1.8e6", "2016", "2024"} <= number_keys(trade)
    assert {"25000", "30000", "11000", "2025-07-12"} <= number_keys(troops)


def test_partial_date_keys() -> None:
    assert PartialDate(None, 7, 12).key == "--07-12"
    assert PartialDate(2025, 7, None).key == "2025-07"
    assert PartialDate(None, 7, None).key == "--07"


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_arabic_indic_digits_give_the_same_keys_as_latin(whole: int, cents: int) -> None:
    latin = f"{whole:,}.{cents:02d} مليون دولار"
    assert number_keys(latin.translate(ARABIC_DIGITS)) == number_keys(latin)


@given(st.text())
def test_figures_never_raise_and_raw_is_the_original_span(text: str) -> None:
    for figure in figures(text):
        assert text[figure.start : figure.end].strip() == figure.raw
