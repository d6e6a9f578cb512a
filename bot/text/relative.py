"""Relative dates («اليوم السبت», «أمس», «السبت الماضي», "on Saturday", "yesterday") made absolute.

A report says «اليوم السبت» on the day it is published; a brief read months later must say «السبت 12
يوليو 2025». Every relative word is resolved against the article's own date (its `published_at`), and
left as it is when that date is unknown: a wrong absolute date is worse than a relative one.

How a weekday is placed: news names days within a few days of publication, so a bare weekday is the
nearest such day to the article's date (up to three days either way, the past winning a tie); «الماضي»
and "last" take the one before, «المقبل» and "next" the one after; «اليوم/أمس/غداً + weekday» trust the
weekday, the nearest such day to the day the adverb names (a date one day off in the feed is common).

Only unambiguous uses are rewritten: «اليوم» as an adverb (before a weekday or punctuation, not «في اليوم
السابق»), «غداً» with its tanween (plain «غدا» is also the verb "became"), «الاثنين» only with «يوم»,
an adverb or «الماضي/المقبل» (it is also "the two"), and English weekdays only capitalised.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.text.figures import PartialDate, figures

AR_WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AR_MONTHS = (
    *("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو"),
    *("يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"),
)
EN_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_NEAR_DAYS = 3
_WEEK = 7
# Spellings of each weekday as written (hamza forms vary); index = date.weekday().
_AR_WEEKDAY_FORMS = (
    ("الاثنين", "الإثنين", "الأثنين"),
    ("الثلاثاء", "الثلاثا"),
    ("الأربعاء", "الاربعاء", "الأربعا"),
    ("الخميس",),
    ("الجمعة", "الجمعه"),
    ("السبت",),
    ("الأحد", "الاحد"),
)
_AR_LETTER = "\u0621-\u064a\u0660-\u0669\u066e-\u06d3"
_AR_BEFORE = rf"(?<![{_AR_LETTER}])(?P<clitic>[وف]?)"
_AR_AFTER = rf"(?![{_AR_LETTER}\u064b-\u0652])"
_DIACRITICS = "[\u064b-\u0652]*"
# A weekday already followed by its date («السبت 12 يوليو», «السبت الموافق …», "Saturday, July 12").
_DATED_AFTER = r"(?!\s*[,،]?\s*\(?\s*(?:\d|[٠-٩]|الموافق|" + "|".join(EN_MONTHS) + "))"
_AR_ADVERBS = {"اليوم": 0, "أمس": -1, "امس": -1, "أول أمس": -2, "أول من أمس": -2, "اول امس": -2}
_AR_PAST = ("الماضي", "الماضى", "المنصرم", "الفائت")
_AR_NEXT = ("المقبل", "القادم")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A relative expression at text[start:end], the day it names, and how it reads as an absolute date."""

    start: int
    end: int
    day: date
    replacement: str


def format_date(day: date, lang: str, *, weekday: bool = False) -> str:
    """«السبت 12 يوليو 2025» / "Saturday 12 July 2025" (without the weekday unless asked)."""
    if lang == "ar":
        text = f"{day.day} {AR_MONTHS[day.month - 1]} {day.year}"
        return f"{AR_WEEKDAYS[day.weekday()]} {text}" if weekday else text
    text = f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    return f"{EN_WEEKDAYS[day.weekday()]} {text}" if weekday else text


def absolute_dates(sentence: str, anchor: date | datetime | None) -> str:
    """`sentence` with its relative dates rewritten as absolute ones, resolved against `anchor`.

    «سلّم لافروف، اليوم السبت، رسالة» → «سلّم لافروف، السبت 12 يوليو 2025، رسالة»; "said on Saturday"
    → "said on Saturday 12 July 2025". With no anchor (the article's date is unknown) the sentence is
    returned unchanged.
    """
    found = relative_dates(sentence, anchor)
    for item in reversed(found):
        sentence = sentence[: item.start] + item.replacement + sentence[item.end :]
    return sentence


def relative_dates(sentence: str, anchor: date | datetime | None) -> list[Resolved]:
    """Every relative date expression in `sentence`, in reading order, with the day it names."""
    if anchor is None:
        return []
    day = anchor.date() if isinstance(anchor, datetime) else anchor
    found: list[Resolved] = []
    taken: list[tuple[int, int]] = []
    for pattern, resolve in _rules():
        for match in pattern.finditer(sentence):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            resolved = resolve(match, day)
            if resolved is not None:
                found.append(resolved)
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda r: r.start)


def event_date(title: str, lead: str, anchor: date | datetime | None) -> date | None:
    """The day the reported event happened, as the headline and lead say it, or None.

    The first date written in full or as day and month (the year taken from `anchor`: the latest such
    day not more than a week after it), or the first relative word resolved against `anchor`. Dates
    far from the article's own date (more than 60 days) are background («التقى كيم في يوليو 2023»),
    not the event.
    """
    text = f"{title}\n{lead}"
    day = anchor.date() if isinstance(anchor, datetime) else anchor
    candidates: list[tuple[int, date]] = [(r.start, r.day) for r in relative_dates(text, day)]
    for figure in figures(text):
        if isinstance(figure.value, PartialDate) and figure.value.day is not None:
            resolved = _complete(figure.value, day)
            if resolved is not None:
                candidates.append((figure.start, resolved))
    for _, found in sorted(candidates):
        if day is None or abs((found - day).days) <= 60:
            return found
    return None


def _complete(value: PartialDate, anchor: date | None) -> date | None:
    assert value.day is not None
    year = value.year or (anchor.year if anchor else None)
    if year is None:
        return None
    try:
        found = date(year, value.month, value.day)
    except ValueError:
        return None
    if value.year is None and anchor is not None and found > anchor + timedelta(days=_WEEK):
        found = found.replace(year=year - 1) if not (found.month == 2 and found.day == 29) else found
    return found


# ---------------------------------------------------------------- rules

Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Resolved | None]]


def _alternatives(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _ar_weekday_pattern(*, with_ambiguous: bool) -> str:
    forms = [f for i, fs in enumerate(_AR_WEEKDAY_FORMS) for f in fs if with_ambiguous or i != 0]
    return rf"(?P<weekday>{_alternatives(forms)}){_AR_AFTER}"


@functools.cache
def _ar_weekday_numbers() -> dict[str, int]:
    return {form: i for i, forms in enumerate(_AR_WEEKDAY_FORMS) for form in forms}


@functools.cache
def _rules() -> tuple[Rule, ...]:
    any_day = _ar_weekday_pattern(with_ambiguous=True)
    plain_day = _ar_weekday_pattern(with_ambiguous=False)
    adverb = rf"(?P<adverb>{_alternatives(list(_AR_ADVERBS))}|غد{_DIACRITICS}ا{_DIACRITICS})"
    past, following = _alternatives(list(_AR_PAST)), _alternatives(list(_AR_NEXT))
    en_day = rf"(?P<weekday>{'|'.join(EN_WEEKDAYS)})"
    return (
        # «اليوم السبت», «أمس الجمعة», «غداً الأحد»: the weekday decides.
        (re.compile(rf"{_AR_BEFORE}{adverb}{_AR_AFTER}\s*[،,]?\s*{any_day}{_DATED_AFTER}"), _ar_adverb_day),
        # «السبت الماضي», «يوم الأحد المقبل».
        (
            re.compile(rf"{_AR_BEFORE}(?:يوم\s+)?{any_day}\s+(?P<side>{past}|{following}){_AR_AFTER}"),
            _ar_side_day,
        ),
        # «يوم السبت», and a bare weekday other than «الاثنين».
        (re.compile(rf"{_AR_BEFORE}(?P<yawm>يوم)\s+{any_day}{_DATED_AFTER}"), _ar_bare_day),
        (re.compile(rf"{_AR_BEFORE}{plain_day}{_DATED_AFTER}"), _ar_bare_day),
        # «أمس», «أول أمس», «غداً», and «اليوم» as an adverb.
        (re.compile(rf"{_AR_BEFORE}(?P<adverb>أول (?:من )?أمس|اول امس|أمس|امس){_AR_AFTER}"), _ar_adverb),
        (re.compile(rf"{_AR_BEFORE}(?P<adverb>غد{_DIACRITICS}اً|غداً){_AR_AFTER}"), _ar_adverb),
        (
            re.compile(rf"{_AR_BEFORE}(?P<adverb>اليوم)(?=\s*(?:[،,.؛:!؟)\"»]|$))", re.MULTILINE),
            _ar_adverb,
        ),
        # "last Saturday", "next Sunday", "this Monday".
        (re.compile(rf"\b(?P<side>[Ll]ast|[Nn]ext|[Tt]his)\s+{en_day}\b{_DATED_AFTER}"), _en_side_day),
        (re.compile(rf"\b{en_day}\b{_DATED_AFTER}"), _en_bare_day),
        (
            re.compile(r"\b(?P<prep>(?:[Oo]n|[Uu]ntil|[Ss]ince|[Bb]y|[Ff]rom|[Aa]s of|[Tt]ill|[Bb]efore|[Aa]fter)\s+)?"
                       r"(?P<adverb>[Tt]oday|[Yy]esterday|[Tt]omorrow)\b(?!['’]s)"),
            _en_adverb,
        ),
    )  # fmt: skip


def _nearest(target_weekday: int, around: date) -> date:
    """The day with `target_weekday` nearest to `around` (the past wins a tie)."""
    ahead = (target_weekday - around.weekday()) % _WEEK
    return around + timedelta(days=ahead) if ahead < _WEEK - ahead else around - timedelta(days=_WEEK - ahead)


def _ar(match: re.Match[str], day: date) -> Resolved:
    text = match.group("clitic") + format_date(day, "ar", weekday=True)
    return Resolved(match.start(), match.end(), day, text)


def _ar_offset(adverb: str) -> int:
    if adverb.startswith("غد"):
        return 1
    return _AR_ADVERBS.get(adverb, _AR_ADVERBS.get(adverb.replace("أ", "ا"), 0))


def _ar_adverb_day(match: re.Match[str], anchor: date) -> Resolved:
    weekday = _ar_weekday_numbers()[match.group("weekday")]
    around = anchor + timedelta(days=_ar_offset(match.group("adverb")))
    return _ar(match, _nearest(weekday, around))


def _ar_side_day(match: re.Match[str], anchor: date) -> Resolved:
    weekday = _ar_weekday_numbers()[match.group("weekday")]
    return _ar(match, _side(weekday, anchor, before=match.group("side") in _AR_PAST))


def _ar_bare_day(match: re.Match[str], anchor: date) -> Resolved:
    weekday = _ar_weekday_numbers()[match.group("weekday")]
    found = _nearest(weekday, anchor)
    prefix = match.group("clitic") + ("يوم " if match.groupdict().get("yawm") else "")
    return Resolved(match.start(), match.end(), found, prefix + format_date(found, "ar", weekday=True))


def _ar_adverb(match: re.Match[str], anchor: date) -> Resolved:
    return _ar(match, anchor + timedelta(days=_ar_offset(match.group("adverb"))))


def _side(weekday: int, anchor: date, *, before: bool) -> date:
    if before:
        return anchor - timedelta(days=(anchor.weekday() - weekday) % _WEEK or _WEEK)
    return anchor + timedelta(days=(weekday - anchor.weekday()) % _WEEK or _WEEK)


def _en_side_day(match: re.Match[str], anchor: date) -> Resolved:
    weekday = EN_WEEKDAYS.index(match.group("weekday"))
    side = match.group("side").lower()
    found = _nearest(weekday, anchor) if side == "this" else _side(weekday, anchor, before=side == "last")
    return Resolved(match.start(), match.end(), found, format_date(found, "en", weekday=True))


def _en_bare_day(match: re.Match[str], anchor: date) -> Resolved:
    found = _nearest(EN_WEEKDAYS.index(match.group("weekday")), anchor)
    return Resolved(match.start(), match.end(), found, format_date(found, "en", weekday=True))


def _en_adverb(match: re.Match[str], anchor: date) -> Resolved:
    adverb = match.group("adverb")
    offset = {"today": 0, "yesterday": -1, "tomorrow": 1}[adverb.lower()]
    found = anchor + timedelta(days=offset)
    prep = match.group("prep") or ""
    # "said yesterday" → "said on 11 July 2025"; "until today" keeps its preposition.
    lead = prep if prep else ("On " if adverb[0].isupper() else "on ")
    return Resolved(match.start(), match.end(), found, lead + format_date(found, "en"))
