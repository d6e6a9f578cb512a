"""Numbers, amounts, percentages, counts, years and dates in Arabic and English text.

`figures(text)` finds them with their unit and scale ("3.28 مليار دولار" is 3.28e9 USD, "20 ألف زائر"
is 20,000 visitors, "٣٫٢٨" is 3.28); `number_keys(text)` gives canonical keys for checking that a
summary's figures come from its sources; `english_figure(fig)` renders one for an English card.
Matching runs on a per-character fold of the text (see `bot.text.normalize`), so `raw` and the
offsets always point at the original, displayed text.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Literal

import numpy as np

from bot.text.normalize import normalize

Kind = Literal["number", "money", "percent", "date", "year", "count"]

ONE = Decimal(1)
YEAR_RANGE = range(1900, 2101)
# Integers below this print in full ("20000"); larger totals as mantissa and exponent ("3.28e9").
SCIENTIFIC_FROM = Decimal(10) ** 6

_SCALES: dict[Decimal, tuple[str, tuple[str, ...]]] = {
    Decimal(10) ** 3: ("thousand", ("ألف", "ألفا", "آلاف", "thousand", "thousands")),
    Decimal(10) ** 6: ("million", ("مليون", "ملايين", "million", "millions", "mn", "mln")),
    Decimal(10) ** 9: ("billion", ("مليار", "مليارا", "مليارات", "billion", "billions", "bn", "bln")),
    Decimal(10) ** 12: ("trillion", ("تريليون", "ترليون", "تريليونات", "trillion", "trillions", "tn")),
}
# Single letters count as a scale only when glued to the number ("$3.28bn", "10m", "5k").
_GLUED_SCALES = {"k": Decimal(10) ** 3, "m": Decimal(10) ** 6, "b": Decimal(10) ** 9}

# Currency: unit code, then the words that name it after a number.
_CURRENCIES: dict[str, tuple[str, ...]] = {
    "USD": ("دولار", "دولارا", "دولارات", "الدولارات", "dollar", "dollars", "usd"),
    "EUR": ("يورو", "euro", "euros", "eur"),
    "RUB": ("روبل", "روبلا", "روبلات", "ruble", "rubles", "rouble", "roubles", "rub"),
    "SAR": ("ريال سعودي", "ريالات سعودية", "sar", "saudi riyal", "saudi riyals"),
    "riyal": ("ريال", "ريالا", "ريالات", "riyal", "riyals", "rial", "rials"),
    "CNY": ("يوان", "yuan"),
    "won": ("وون", "won"),
}
_CURRENCY_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "₽": "RUB", "usd": "USD", "eur": "EUR"}
_CURRENCY_SYMBOLS |= {"rub": "RUB", "sar": "SAR", "sr": "SAR"}
# How english_figure writes an amount: a symbol before it, or a noun after it.
_CURRENCY_ENGLISH: dict[str, tuple[str, str]] = {
    "USD": ("$", ""),
    "EUR": ("€", ""),
    "RUB": ("", "rubles"),
    "SAR": ("", "Saudi riyals"),
    "riyal": ("", "riyals"),
    "CNY": ("", "yuan"),
    "won": ("", "won"),
}

# Counted things: unit id, its English plural, then the Arabic and English words after a number.
_COUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "visitor": ("visitors", ("زائر", "زوار", "زائرين", "visitor", "visitors")),
    "tourist": ("tourists", ("سائح", "سياح", "tourist", "tourists")),
    "soldier": ("soldiers", ("جندي", "جنود", "soldier", "soldiers", "troops")),
    "person": ("people", ("شخص", "أشخاص", "person", "persons", "people")),
    "company": ("companies", ("شركة", "شركات", "company", "companies", "firms")),
    "worker": ("workers", ("عامل", "عمال", "worker", "workers")),
    "country": ("countries", ("دولة", "دول", "country", "countries")),
    "project": ("projects", ("مشروع", "مشاريع", "project", "projects")),
    "agreement": ("agreements", ("اتفاقية", "اتفاقيات", "agreement", "agreements")),
    "missile": ("missiles", ("صاروخ", "صواريخ", "missile", "missiles")),
    "ton": ("tons", ("طن", "أطنان", "ton", "tons", "tonne", "tonnes")),
    "barrel": ("barrels", ("برميل", "براميل", "barrel", "barrels")),
    "kilometer": ("kilometers", ("كيلومتر", "كيلومترات", "كلم", "km", "kilometers", "kilometres")),
    "day": ("days", ("يوم", "أيام", "day", "days")),
    "week": ("weeks", ("أسبوع", "أسابيع", "week", "weeks")),
    "month": ("months", ("شهر", "أشهر", "شهور", "month", "months")),
    "year": ("years", ("عام", "أعوام", "سنة", "سنوات", "سنين", "year", "years")),
}

_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "جانفي", "january", "jan"),
    2: ("فبراير", "شباط", "فيفري", "february", "feb"),
    3: ("مارس", "آذار", "march", "mar"),
    4: ("أبريل", "إبريل", "أفريل", "نيسان", "april", "apr"),
    5: ("مايو", "أيار", "ماي", "may"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "june", "jun"),
    7: ("يوليو", "يوليه", "تموز", "جويلية", "july", "jul"),
    8: ("أغسطس", "آب", "أوت", "august", "aug"),
    9: ("سبتمبر", "أيلول", "september", "sept", "sep"),
    10: ("أكتوبر", "تشرين الأول", "october", "oct"),
    11: ("نوفمبر", "تشرين الثاني", "november", "nov"),
    12: ("ديسمبر", "كانون الأول", "december", "dec"),
}
_MONTH_NAMES_EN = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)

_NOT_AFTER_LETTER = r"(?<![^\W\d_])"
_NOT_BEFORE_LETTER = r"(?![^\W\d_])"
_NUMBER = re.compile(r"(?<![0-9a-z_.,])(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")
_DECIMAL_COMMA = re.compile(r",(\d{1,2})(?!\d)")
_SPACE = re.compile(r"\s*")
_RANGE_CONNECTOR = re.compile(r"\s*(?:[-–—]|الي|حتي|و|او|to|and|or|through)\s*")
_MASKED = re.compile(r"https?://\S+|www\.\S+|\S+\.(?:html?|php|aspx?)\b|\b\d{1,2}:\d{2}(?::\d{2})?\b")


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A calendar date that may lack its year or day, as news text often gives it."""

    year: int | None
    month: int
    day: int | None

    @property
    def key(self) -> str:
        """ISO 8601 form: 2025-07-12, 2025-07, or --07-12 when the year is unknown."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}" if self.day else f"--{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}" + (f"-{self.day:02d}" if self.day else "")

    def implied_keys(self) -> set[str]:
        """This date's key and every less precise key it implies (year, month, day without year)."""
        implied = {self.key}
        if self.year is not None:
            implied |= {str(self.year), f"{self.year:04d}-{self.month:02d}"}
        if self.day is not None:
            implied.add(f"--{self.month:02d}-{self.day:02d}")
        return implied


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure found in a text.

    `value` is the full amount (3.28e9 for "3.28 مليار"), or a `PartialDate` when `kind` is "date";
    `scale` is the multiplier the text used (1e9 there, 1 when none); `raw`, `start` and `end` locate
    the original text. `unit` is "%", a currency code ("USD", "RUB", "riyal"…), a counted thing
    ("visitor", "month"…) or None.
    """

    value: Decimal | PartialDate
    unit: str | None
    scale: Decimal
    raw: str
    kind: Kind
    start: int
    end: int

    @property
    def key(self) -> str:
        """Canonical comparison key: "3.28e9", "20000", "2024", "12.5%", "2025-07-12"."""
        if isinstance(self.value, PartialDate):
            return self.value.key
        return number_key(self.value) + ("%" if self.kind == "percent" else "")

    def implied_keys(self) -> set[str]:
        """`key`, plus for a date the less precise keys it implies."""
        return self.value.implied_keys() if isinstance(self.value, PartialDate) else {self.key}


@dataclass(frozen=True, slots=True)
class _Found:
    figure: Figure
    fold_start: int
    fold_end: int


def figures(text: str) -> list[Figure]:
    """Every figure in `text`, in reading order."""
    folded, origin = _fold(text)
    folded = _MASKED.sub(lambda m: " " * len(m.group()), folded)
    found = _dates(text, folded, origin)
    taken = [(f.fold_start, f.fold_end) for f in found]
    for match in _NUMBER.finditer(folded):
        if any(start <= match.start() < end for start, end in taken):
            continue
        number = _number(text, folded, origin, match)
        if number is not None:
            found.append(number)
    found.sort(key=lambda f: f.fold_start)
    return [f.figure for f in _spread_ranges(found, folded)]


def number_keys(text: str) -> set[str]:
    """Canonical keys of every figure in `text`, dates with their implied keys (see `Figure.keys`)."""
    keys: set[str] = set()
    for figure in figures(text):
        keys |= figure.implied_keys()
    return keys


def number_key(value: Decimal) -> str:
    """Canonical text of an amount: "20000", "3.28", "3.28e9"."""
    value = value.normalize()
    if abs(value) >= SCIENTIFIC_FROM:
        return format(value, "e").replace("e+", "e")
    return format(value, "f")


def english_figure(figure: Figure) -> str:
    """`figure` in English: "$3.28 billion", "20,000 visitors", "12.5%", "July 12, 2025"."""
    if isinstance(figure.value, PartialDate):
        return _english_date(figure.value)
    if figure.kind == "year":
        return str(figure.value)
    amount = _english_amount(figure.value, figure.scale)
    if figure.kind == "percent":
        return f"{amount}%"
    if figure.kind == "money" and figure.unit in _CURRENCY_ENGLISH:
        symbol, noun = _CURRENCY_ENGLISH[figure.unit]
        return f"{symbol}{amount}" + (f" {noun}" if noun else "")
    if figure.kind == "count" and figure.unit in _COUNTS:
        plural = _COUNTS[figure.unit][0]
        return f"{amount} {figure.unit if figure.value == 1 else plural}"
    return amount


def _english_amount(value: Decimal, scale: Decimal) -> str:
    if scale in _SCALES and scale >= Decimal(10) ** 6:
        return f"{_plain(value / scale)} {_SCALES[scale][0]}"
    return _plain(value)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), ",f")


def _english_date(value: PartialDate) -> str:
    month = _MONTH_NAMES_EN[value.month - 1]
    if value.day is None:
        return f"{month} {value.year}" if value.year else month
    return f"{month} {value.day}, {value.year}" if value.year else f"{month} {value.day}"


# Folding


@lru_cache(maxsize=4096)  # bounded: any character of any text can come through
def _fold_char(char: str) -> str:
    if char.isspace():
        return " "
    if char in "٪﹪％":
        return "%"
    return normalize(char)


class _FoldTable(dict[int, str]):
    """str.translate table filled on first sight of each character, so folding runs at C speed.

    `lengths` holds how many characters each code point folds to, for mapping offsets back.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lengths = np.ones(sys.maxunicode + 1, dtype=np.int64)

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        self.lengths[code] = len(folded)
        return folded


_FOLD_TABLE = _FoldTable()


def _fold(text: str) -> tuple[str, Sequence[int]]:
    """The matching key of `text`, and for each of its characters the index it came from."""
    folded = text.translate(_FOLD_TABLE)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    lengths = _FOLD_TABLE.lengths[codes]
    origin = np.repeat(np.arange(len(text), dtype=np.int64), lengths)
    return folded, [*origin.tolist(), len(text)]


def _alternatives(words: tuple[str, ...] | list[str]) -> str:
    folded = {normalize(word) for word in words}
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in sorted(folded, key=len, reverse=True))


def _word(words: tuple[str, ...] | list[str]) -> str:
    return rf"{_NOT_AFTER_LETTER}(?:{_alternatives(words)}){_NOT_BEFORE_LETTER}"


# Dates


@cache
def _month_lookup() -> dict[str, int]:
    return {normalize(name): month for month, names in _MONTHS.items() for name in names}


@cache
def _date_patterns() -> tuple[re.Pattern[str], ...]:
    names = _alternatives([name for names in _MONTHS.values() for name in names])
    month = rf"{_NOT_AFTER_LETTER}(?P<month>{names})\.?{_NOT_BEFORE_LETTER}"
    also = rf"(?:\s*/\s*(?:{names}){_NOT_BEFORE_LETTER}|\s*\(\s*(?:{names})\s*\))?"
    day = r"(?<![\d.,])(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)"
    year = r"(?P<year>\d{4})(?!\d)"
    return (
        re.compile(rf"{day}\s+(?:of\s+)?{month}{also}(?:,?\s+{year})?"),
        re.compile(rf"{month}{also}\s+{day}(?:,?\s+{year})?"),
        re.compile(rf"{month}{also},?\s+{year}"),
        re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"),
    )


def _dates(text: str, folded: str, origin: Sequence[int]) -> list[_Found]:
    candidates = [
        (match.start(), -match.end(), match)
        for pattern in _date_patterns()
        for match in pattern.finditer(folded)
    ]
    found: list[_Found] = []
    covered_to = -1
    for start, _, match in sorted(candidates, key=lambda c: (c[0], c[1])):
        if start < covered_to:
            continue
        value = _date_value(match)
        raw = text[origin[match.start()] : origin[match.end()]]
        if value is None or (_is_latin_month(match) and not _capitalised_month(raw)):
            continue
        figure = Figure(value, None, ONE, raw, "date", origin[match.start()], origin[match.end()])
        found.append(_Found(figure, match.start(), match.end()))
        covered_to = match.end()
    return found


def _date_value(match: re.Match[str]) -> PartialDate | None:
    groups = match.groupdict()
    month_text = groups["month"]
    month = int(month_text) if month_text.isdigit() else _month_lookup().get(re.sub(r"\s+", " ", month_text))
    day = int(groups["day"]) if groups.get("day") else None
    year = int(groups["year"]) if groups.get("year") else None
    if month is None or not 1 <= month <= 12 or (year is not None and year not in YEAR_RANGE):
        return None
    try:
        date(year or 2000, month, day or 1)  # 2000 is a leap year: 29 February stays valid
    except ValueError:
        return None
    return PartialDate(year, month, day)


def _is_latin_month(match: re.Match[str]) -> bool:
    return match.group("month").isascii() and not match.group("month").isdigit()


def _capitalised_month(raw: str) -> bool:
    # "may 5" or "mar" in running English text is not a date; "May 5" is.
    first = re.search(r"[A-Za-z]", raw)
    return first is None or first.group().isupper()


# Numbers with their scale and unit


@cache
def _unit_patterns() -> dict[str, re.Pattern[str]]:
    scale_words = [word for _, words in _SCALES.values() for word in words]
    currency_words = [word for words in _CURRENCIES.values() for word in words]
    count_words = [word for _, words in _COUNTS.values() for word in words]
    arabic_tail = r"(?:ا|ين|ون)?"  # tanween alef and sound plural endings after a counted noun
    return {
        "scale": re.compile(rf"\s*(?P<word>{_alternatives(scale_words)}){_NOT_BEFORE_LETTER}"),
        "glued": re.compile(rf"(?P<word>[kmb]){_NOT_BEFORE_LETTER}"),
        "percent": re.compile(r"\s*(?:%|(?:في\s*|ب)الما?يه|percent|per\s+cent|pct)" + _NOT_BEFORE_LETTER),
        "currency": re.compile(
            rf"\s*(?:us\s+)?(?P<word>{_alternatives(currency_words)}){_NOT_BEFORE_LETTER}"
        ),
        "count": re.compile(
            rf"\s*(?:من\s+ال)?(?P<word>{_alternatives(count_words)}){arabic_tail}{_NOT_BEFORE_LETTER}"
        ),
        "symbol": re.compile(r"(?:(?<![a-z])(?:us\$|usd|eur|rub|sar|sr)|[$€₽])\s?$"),
    }


@cache
def _word_units() -> dict[str, dict[str, str]]:
    currency = {normalize(word): code for code, words in _CURRENCIES.items() for word in words}
    count = {normalize(word): unit for unit, (_, words) in _COUNTS.items() for word in words}
    scale = {normalize(word): str(value) for value, (_, words) in _SCALES.items() for word in words}
    return {"currency": currency, "count": count, "scale": scale}


def _number(text: str, folded: str, origin: Sequence[int], match: re.Match[str]) -> _Found | None:
    digits, end = match.group().replace(",", ""), match.end()
    comma = _DECIMAL_COMMA.match(folded, end)
    if comma and "." not in digits and _scaled_or_percent(folded, comma.end()):
        digits, end = f"{digits}.{comma.group(1)}", comma.end()
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None
    scale, end = _scale_after(folded, end)
    symbol = _unit_patterns()["symbol"].search(folded, max(0, match.start() - 6), match.start())
    if symbol:
        unit: str | None = _CURRENCY_SYMBOLS[symbol.group().strip()]
        kind: Kind = "money"
    else:
        unit, kind, end = _unit_after(folded, match.start(), end)
    if kind == "number" and _looks_like_year(match.group(), scale):
        kind = "year"
    start = symbol.start() if symbol else match.start()
    raw = text[origin[start] : origin[end]].strip()
    figure = Figure(amount * scale, unit, scale, raw, kind, origin[start], origin[end])
    return _Found(figure, start, end)


def _scale_after(folded: str, end: int) -> tuple[Decimal, int]:
    patterns = _unit_patterns()
    if glued := patterns["glued"].match(folded, end):
        return _GLUED_SCALES[glued.group("word")], glued.end()
    if scaled := patterns["scale"].match(folded, end):
        return Decimal(_word_units()["scale"][_key(scaled)]), scaled.end()
    return ONE, end


def _unit_after(folded: str, start: int, end: int) -> tuple[str | None, Kind, int]:
    patterns, units = _unit_patterns(), _word_units()
    if percent := patterns["percent"].match(folded, end):
        return "%", "percent", percent.end()
    if folded[start - 1 : start] == "%":  # "%20": a right-to-left line can put the sign first
        return "%", "percent", end
    if currency := patterns["currency"].match(folded, end):
        return units["currency"][_key(currency)], "money", currency.end()
    if count := patterns["count"].match(folded, end):
        return units["count"][_key(count)], "count", count.end()
    return None, "number", end


def _key(match: re.Match[str]) -> str:
    return re.sub(r"\s+", " ", match.group("word"))


def _scaled_or_percent(folded: str, position: int) -> bool:
    patterns = _unit_patterns()
    return bool(patterns["scale"].match(folded, position) or patterns["percent"].match(folded, position))


def _looks_like_year(digits: str, scale: Decimal) -> bool:
    return scale == ONE and len(digits) == 4 and digits.isdigit() and int(digits) in YEAR_RANGE


# Ranges: "25 إلى 30 ألف جندي" is 25,000 to 30,000 soldiers; "14 و15 يوليو" is 14 and 15 July.


def _spread_ranges(found: list[_Found], folded: str) -> list[_Found]:
    result = list(found)
    for index in range(len(result) - 2, -1, -1):
        first, second = result[index], result[index + 1]
        if not _RANGE_CONNECTOR.fullmatch(folded, first.fold_end, second.fold_start):
            continue
        widened = _widen(first.figure, second.figure)
        if widened is not None:
            result[index] = _Found(widened, first.fold_start, first.fold_end)
    return result


def _widen(first: Figure, second: Figure) -> Figure | None:
    """`first` read with `second`'s month or scale and unit, when it is the bare start of a range."""
    if first.kind not in ("number", "year") or first.scale != ONE or not isinstance(first.value, Decimal):
        return None
    low = first.value
    if isinstance(second.value, PartialDate):
        day = second.value.day
        if day is None or low != low.to_integral_value() or not 1 <= low < day:
            return None
        return replace(first, value=replace(second.value, day=int(low)), kind="date")
    if second.scale == ONE and second.unit is None:
        return None
    if low >= second.value / second.scale:
        return None
    return replace(first, value=low * second.scale, scale=second.scale, unit=second.unit, kind=second.kind)
