"""Dates written near the top of an article, in Arabic and English."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.dates import find_date
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
