"""Dates written near the top of an article, in Arabic and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.dates import find_date, plausible
from bot.text.errors import TextError

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_seed_003_dateline_gives_12_july_2025() -> None:
    found = find_date(_seed("003"))
    assert found == _utc(2025, 7, 12, 1, 52)
    assert found is not None and found.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("السبت 12 يوليو 2025", _utc(2025, 7, 12)),
        ("12 يوليو/تموز 2025", _utc(2025, 7, 12)),
        ("12 يوليو (تموز) 2025", _utc(2025, 7, 12)),
        ("الأحد ١٢ كانون الثاني ٢٠٢٥", _utc(2025, 1, 12)),
        ("3 تشرين الأول 2024", _utc(2024, 10, 3)),
        ("5 كانون الأول 2023", _utc(2023, 12, 5)),
        ("1 شباط 2024", _utc(2024, 2, 1)),
        ("20 آب 2024", _utc(2024, 8, 20)),
        ("14 جويلية 2024", _utc(2024, 7, 14)),
    ],
)
def test_arabic_dates_with_egyptian_levantine_and_maghrebi_months(text: str, expected: datetime) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("السبت 12 يوليو 2025 | 01:52 صباحاً", _utc(2025, 7, 12, 1, 52)),
        ("الأحد 3 تشرين الأول 2024 الساعة 08:15 مساءً", _utc(2024, 10, 3, 20, 15)),
        ("12 يوليو 2025 12:30 ص", _utc(2025, 7, 12, 0, 30)),
        ("July 12, 2025 at 1:52 pm", _utc(2025, 7, 12, 13, 52)),
    ],
)
def test_times_after_the_date_are_read(text: str, expected: datetime) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "July 12, 2025",
        "12 July 2025",
        "Saturday, 12 July 2025",
        "Jul. 12, 2025",
        "12th of July 2025",
        "2025-07-12",
    ],
)
def test_english_and_iso_dates(text: str) -> None:
    assert find_date(text) == _utc(2025, 7, 12)


@pytest.mark.parametrize(
    "text",
    [
        "في عام 2025 وقعت الاتفاقية",
        "في يوليو (تموز) 2023",
        "حتى 13 يوليو الجاري",
        "31 فبراير 2025",
        "",
        "2025",
    ],
)
def test_no_date_without_day_month_and_year(text: str) -> None:
    assert find_date(text) is None


def test_seeds_without_a_dateline_give_none() -> None:
    # 004 names «12 يوليو/تموز» without a year and «عام 2025» without a day: neither is a date.
    assert [find_date(_seed(prefix)) for prefix in ("000", "001", "002", "004")] == [None] * 4


def test_only_the_first_lines_are_searched() -> None:
    text = "عنوان\n\n" + "فقرة\n" * 12 + "12 يوليو 2025"
    assert find_date(text) is None
    assert find_date(text, lines=20) == _utc(2025, 7, 12)


def test_negative_line_count_is_refused() -> None:
    with pytest.raises(TextError, match="lines must be zero or more"):
        find_date("12 July 2025", lines=-1)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_find_date_never_raises_on_any_str(text: str) -> None:
    find_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/07/2025", _utc(2025, 7, 12)),
        ("١٢/٠٧/٢٠٢٥", _utc(2025, 7, 12)),
        ("12.07.2025 10:30", _utc(2025, 7, 12, 10, 30)),
        ("07/31/2025", _utc(2025, 7, 31)),  # 31 cannot be a month: written month first
    ],
)
def test_numeric_dates_are_read_day_first(text: str, expected: datetime) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("السبت 17 محرم 1447 هـ", _utc(2025, 7, 12)),
        ("17 مُحَرَّم 1447هـ", _utc(2025, 7, 12)),
        ("1 رمضان 1446 هجرية", _utc(2025, 3, 1)),
        ("10 ذو الحجة 1445", _utc(2024, 6, 16)),
    ],
)
def test_hijri_dates_are_converted_with_umm_al_qura(text: str, expected: datetime) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize("text", ["12/07/25", "1/2/3/2025", "31/02/2025", "17 محرم 2025", "35 رجب 1447"])
def test_no_date_from_partial_or_impossible_numbers(text: str) -> None:
    assert find_date(text) is None


NOW = _utc(2026, 12, 4, 12)


def test_a_plausible_date_is_kept() -> None:
    assert plausible(_utc(2025, 7, 12), now=NOW) == (_utc(2025, 7, 12), None)
    assert plausible(NOW + timedelta(hours=20), now=NOW) == (NOW + timedelta(hours=20), None)
    assert plausible(None, now=NOW) == (None, None)


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (NOW + timedelta(days=2), "in the future"),
        (_utc(2099, 12, 31), "in the future"),
        (_utc(1970, 1, 1), "1990"),
    ],
)
def test_dates_in_the_future_or_before_1990_become_unknown_with_a_reason(
    moment: datetime, reason: str
) -> None:
    kept, problem = plausible(moment, now=NOW)
    assert kept is None
    assert problem is not None and reason in problem
