"""The publication date written near the top of an article, in Arabic or English.

dateparser (installed as a dependency of htmldate) was tried first: it reads «السبت 12 يوليو 2025»
but not «12 يوليو/تموز 2025» nor the Levantine months (تموز, كانون الثاني), and its search_dates
turns bare years into dates. A date here is a day, a month name and a year, so a month table and
one pattern per order (day-month-year, month-day-year, ISO) read it exactly.
Times are read as written («01:52 صباحاً», "1:52 pm"); the outlet's time zone is unknown, so the
wall time is taken as UTC. Numeric dates are read day first (12/07/2025), as Arabic and European outlets
write them, unless the first number cannot be a month's day order (07/31/2025). Hijri dates
(«17 محرم 1447 هـ») are converted with the Umm al-Qura calendar (hijridate).

`plausible` is the one rule for a publication date that can be believed, whatever gave it.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from hijridate import Hijri

from bot.text.errors import TextError, require_str
from bot.text.normalize import normalize

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "كانون ثاني", "جانفي", "january", "jan"),
    2: ("فبراير", "شباط", "فيفري", "february", "feb"),
    3: ("مارس", "آذار", "march", "mar"),
    4: ("أبريل", "إبريل", "نيسان", "أفريل", "april", "apr"),
    5: ("مايو", "أيار", "ماي", "may"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "june", "jun"),
    7: ("يوليو", "يوليه", "يوليوز", "تموز", "جويلية", "july", "jul"),
    8: ("أغسطس", "آب", "أوت", "غشت", "august", "aug"),
    9: ("سبتمبر", "أيلول", "شتنبر", "september", "sept", "sep"),
    10: ("أكتوبر", "تشرين الأول", "تشرين أول", "october", "oct"),
    11: ("نوفمبر", "تشرين الثاني", "تشرين ثاني", "نونبر", "november", "nov"),
    12: ("ديسمبر", "كانون الأول", "كانون أول", "دجنبر", "december", "dec"),
}
_HIJRI_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("محرم", "المحرم"),
    2: ("صفر",),
    3: ("ربيع الأول", "ربيع أول"),
    4: ("ربيع الآخر", "ربيع الثاني", "ربيع ثاني"),
    5: ("جمادى الأولى", "جمادى الأول"),
    6: ("جمادى الآخرة", "جمادى الثانية", "جمادى الآخر"),
    7: ("رجب",),
    8: ("شعبان",),
    9: ("رمضان",),
    10: ("شوال",),
    11: ("ذو القعدة", "ذي القعدة"),
    12: ("ذو الحجة", "ذي الحجة"),
}
_MIN_YEAR, _MAX_YEAR = 1900, 2100
# hijridate's Umm al-Qura tables cover 1343-1500 AH (1924-2077).
_MIN_HIJRI, _MAX_HIJRI = 1343, 1500
_NOON = 12
_MONTHS_IN_YEAR = 12
# A publication date is believed from 1990 on, and up to a day ahead (time zones, clocks set slightly wrong).
EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


@functools.cache
def _month_numbers() -> dict[str, int]:
    return {normalize(name): number for number, names in _MONTH_NAMES.items() for name in names}


@functools.cache
def _hijri_month_numbers() -> dict[str, int]:
    return {normalize(name): number for number, names in _HIJRI_MONTH_NAMES.items() for name in names}


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    names = sorted(_month_numbers(), key=len, reverse=True)
    hijri = sorted(_hijri_month_numbers(), key=len, reverse=True)
    month = "(?<!\\w)(?:" + "|".join(re.escape(name) for name in names) + ")(?!\\w)\\.?"
    # «يوليو/تموز» and «يونيو (حزيران)»: outlets often give both month names; the first decides.
    months = rf"(?P<month>{month})(?:\s*[/(\-]\s*{month}\s*\)?)?"
    day = r"(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th)?"
    year = r"(?P<year>\d{4})(?!\d)"
    time = (
        r"(?:[\s|,\-–—·•]{0,6}(?:at\s+|الساعه\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::\d{2})?"
        r"\s*(?P<half>a\.m\.|p\.m\.|am|pm|صباحا|مساء|ص|م)?(?!\w))?"
    )
    return (
        re.compile(rf"{day}\s+(?:of\s+)?{months}\s*,?\s+{year}{time}"),
        re.compile(rf"{months}\s+{day},?\s+{year}{time}"),
        re.compile(
            r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
            r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2}))?(?P<half>)(?!\d)"
        ),
        # 12/07/2025, 12.07.2025, 12-07-2025: one separator throughout.
        re.compile(
            rf"(?<![\d/.\-])(?P<day>\d{{1,2}})(?P<sep>[/.\-])(?P<month>\d{{1,2}})(?P=sep){year}{time}"
        ),
        # «17 محرم 1447 هـ»: the year alone tells the calendar apart, the era mark is optional.
        re.compile(
            rf"{day}\s+(?P<hmonth>(?<!\w)(?:{'|'.join(re.escape(n) for n in hijri)})(?!\w))\s+"
            r"(?P<hyear>1[34]\d\d)(?!\d)(?:\s*(?:ه|هجريه|للهجره)(?!\w))?"
        ),
    )


def _month_number(value: str) -> int:
    if value.isdigit():
        return int(value)
    return _month_numbers()[value.rstrip(".")]


def _hour(match: re.Match[str]) -> tuple[int, int]:
    if match.groupdict().get("hour") is None:
        return 0, 0
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    half = match.group("half") or ""
    if half in {"pm", "p.m.", "مساء", "م"} and hour < _NOON:
        hour += _NOON
    elif half in {"am", "a.m.", "صباحا", "ص"} and hour == _NOON:
        hour = 0
    return hour, minute


def _to_datetime(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    if groups.get("hmonth"):
        return _hijri_datetime(int(groups["hyear"]), groups["hmonth"], int(match.group("day")))
    year = int(match.group("year"))
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    month, day = _month_number(match.group("month")), int(match.group("day"))
    if groups.get("sep") and month > _MONTHS_IN_YEAR >= day:  # 07/31/2025: written month first
        month, day = day, month
    try:
        return datetime(year, month, day, *_hour(match), tzinfo=UTC)
    except ValueError:  # 31 February, 25:70 and the like are not dates
        return None


def _hijri_datetime(year: int, month_name: str, day: int) -> datetime | None:
    if not _MIN_HIJRI <= year <= _MAX_HIJRI:
        return None
    try:
        gregorian = Hijri(year, _hijri_month_numbers()[month_name], day).to_gregorian()
    except (ValueError, OverflowError):  # 30 in a 29-day month, or outside the tables
        return None
    return datetime(gregorian.year, gregorian.month, gregorian.day, tzinfo=UTC)


def _date_in_line(line: str) -> datetime | None:
    matches = [m for pattern in _patterns() for m in pattern.finditer(line)]
    for match in sorted(matches, key=lambda m: m.start()):
        found = _to_datetime(match)
        if found is not None:
            return found
    return None


def find_date(text: str, *, lines: int = 12) -> datetime | None:
    """The first full date (day, month name, year; optional time) in the first `lines` non-empty lines.

    Returns a timezone-aware UTC datetime, or None when those lines hold no full date (a bare year
    or a month without a day is not one).
    """
    require_str(text)
    if lines < 0:
        raise TextError(f"lines must be zero or more, got {lines}")
    non_empty = [line for line in text.splitlines() if line.strip()][:lines]
    for line in non_empty:
        found = _date_in_line(normalize(line))
        if found is not None:
            return found
    return None


def plausible(moment: datetime | None, *, now: datetime) -> tuple[datetime | None, str | None]:
    """`moment` when it can be a publication date, else None with the reason (for the source's health).

    A date more than FUTURE_SLACK ahead of `now`, or before 1990, is a feed's or page's error (a wrong
    clock, a placeholder such as 1970-01-01 or 2099-12-31). It becomes unknown rather than the fetch
    time: the fetch time would pass for a real date in briefs and citations, while an unknown date
    lets the next evidence (the page's metadata, a date in the text) speak, and is shown as unknown.
    """
    if moment is None:
        return None, None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now + FUTURE_SLACK:
        return None, f"date {moment:%Y-%m-%d %H:%M} is in the future; stored as unknown"
    if moment < EARLIEST_PUBLISHED:
        return None, f"date {moment:%Y-%m-%d} is before 1990; stored as unknown"
    return moment, None
