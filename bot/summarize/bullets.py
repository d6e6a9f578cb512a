"""What makes a source sentence a good bullet: no dateline or byline, an absolute date, no repetition.

- A dateline or byline («وكالات –», "MOSCOW (Reuters) -", «موسكو - سبوتنيك -», "By Jane Doe -") is
  the outlet's furniture, not the news: it is cut from the front of the sentence.
- Relative dates («اليوم السبت», «أمس», "today", "on Saturday") are rewritten as absolute dates
  against the article's date, so a bullet read months later still says when. `absolute_dates` is the
  single call site for that rewriting.
- Two sentences repeat each other when they share most of their terms, or when they name the same
  three or more specific (not common) entities: "Lavrov conveyed Putin's greetings to Kim in Wonsan"
  and "Lavrov handed Kim a message from Putin" say one thing in different words.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, timedelta

MONTHS = {
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
    "ar": [
        "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
        "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
    ],
}  # fmt: skip
# Monday first, as date.weekday() counts.
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "ar": ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"],
}
# Terms shared (Jaccard) beyond which two sentences say the same thing.
TERM_REDUNDANCY = 0.5
# Specific entities two sentences must share, and the share of the smaller set, to say the same thing.
ENTITY_REDUNDANCY_MIN = 3
ENTITY_REDUNDANCY_SHARE = 0.75
# Figures two sentences naming a same specific entity must share to tell the same fact.
FIGURE_REDUNDANCY_MIN = 2

_AGENCIES = (
    r"Reuters|AP|AFP|Yonhap|KCNA|TASS|Sputnik|RIA|Xinhua|Bloomberg|dpa|"
    r"وكالات|رويترز|سبوتنيك|تاس|ريا نوفوستي|يونهاب|واس|أ ف ب|ا ف ب|أ\.ف\.ب|ا\.ف\.ب|د ب أ|شينخوا|الأناضول"
)
_DASH = r"(?:\s+[-–—]{1,2}|\s*[–—]|\s*:)\s+"
# A dateline: up to four words (a city, a date, an agency in parentheses) then a dash; it must hold an
# agency name, a parenthesis, or be Latin capitals ("MOSCOW") or one or two Arabic words before the dash.
_DATELINE = re.compile(
    rf"^\s*(?P<head>(?:[^\s–—:]+\s*){{1,4}}?){_DASH}",
)
_AGENCY = re.compile(rf"(?:^|[\s(]){_AGENCIES}(?:$|[\s)])")
_BYLINE = re.compile(r"^\s*(?:By\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}|كتب[ت]?\s+\S+(?:\s+\S+)?)" + _DASH)


def strip_dateline(sentence: str) -> str:
    """`sentence` without a leading dateline or byline (up to two in a row: «موسكو - سبوتنيك -»)."""
    text = sentence
    for _ in range(2):
        byline = _BYLINE.match(text)
        if byline:
            text = text[byline.end() :]
            continue
        match = _DATELINE.match(text)
        if not match or not _is_dateline(match.group("head").strip()):
            break
        text = text[match.end() :]
    return text.strip() if len(text.split()) >= 4 else sentence.strip()


def _is_dateline(head: str) -> bool:
    words = head.split()
    if _AGENCY.search(head) or "(" in head:
        return True
    if all(w.isupper() and w.isalpha() for w in words if w.isascii()) and head.isascii():
        return head.replace(",", "").replace(" ", "").isalpha() and head.isupper()
    arabic = all(any("\u0600" <= c <= "\u06ff" for c in w) for w in words)
    return arabic and len(words) <= 2


def format_date(day: date, lang: str) -> str:
    """`12 July 2025` / `12 يوليو 2025`."""
    return f"{day.day} {MONTHS['ar' if lang == 'ar' else 'en'][day.month - 1]} {day.year}"


def _weekday_before(day: date, weekday: int, *, strictly: bool = False) -> date:
    back = (day.weekday() - weekday) % 7
    if strictly and back == 0:
        back = 7
    return day - timedelta(days=back)


_AR_DAYS = "|".join(WEEKDAYS["ar"])
_AR_RELATIVE = re.compile(
    rf"(?<!\w)(?P<rel>اليوم|أمس|امس|البارحة)(?:\s+(?P<day>{_AR_DAYS}))?(?!\w)"
    rf"(?!\s+(?:السابق|التالي|الأول|الثاني|نفسه|ذاته))"
)
_AR_WEEKDAY = re.compile(
    rf"(?<!\w)(?:(?P<pre>يوم)\s+)?(?P<day>{_AR_DAYS})(?P<last>\s+الماضي)?(?!\w)"
    rf"(?!\s*[\d٠-٩])"
)
_EN_DAYS = "|".join(WEEKDAYS["en"])
_EN_RELATIVE = re.compile(r"\b(?:(?P<today>today)|(?P<yesterday>yesterday))\b", re.IGNORECASE)
_EN_WEEKDAY = re.compile(rf"\b(?P<pre>on|last)\s+(?P<day>{_EN_DAYS})\b(?!,?\s*\d)(?!,?\s+[A-Z][a-z]+ \d)")


def absolute_dates(sentence: str, lang: str, article_date: date | datetime | None) -> str:
    """`sentence` with its relative date words made absolute against `article_date` (None: unchanged).

    «اليوم السبت» → «يوم السبت 12 يوليو 2025»; «أمس» → «يوم 11 يوليو 2025»; «السبت الماضي» → the
    Saturday before; "today" → "on 12 July 2025"; "on Saturday" → "on Saturday, 12 July 2025" (the
    last Saturday on or before the article's date: news reports what happened).
    """
    if article_date is None:
        return sentence
    day = article_date.date() if isinstance(article_date, datetime) else article_date
    if lang == "ar":
        return _absolute_ar(sentence, day)
    return _absolute_en(sentence, day)


def _absolute_ar(sentence: str, day: date) -> str:
    def relative(match: re.Match[str]) -> str:
        when = day if match.group("rel") == "اليوم" else day - timedelta(days=1)
        name = WEEKDAYS["ar"][when.weekday()]
        if match.group("day") and match.group("day") != name:
            return match.group()  # «اليوم السبت» on a Friday: the article's date is wrong, not the text
        return f"يوم {name} {format_date(when, 'ar')}"

    text, count = _AR_RELATIVE.subn(relative, sentence)
    if count:
        return text

    def weekday(match: re.Match[str]) -> str:
        index = WEEKDAYS["ar"].index(match.group("day"))
        when = _weekday_before(day, index, strictly=bool(match.group("last")))
        return f"{match.group('pre') or ''} {match.group('day')} {format_date(when, 'ar')}".strip()

    return _AR_WEEKDAY.sub(weekday, text)


def _absolute_en(sentence: str, day: date) -> str:
    def relative(match: re.Match[str]) -> str:
        when = day if match.group("today") else day - timedelta(days=1)
        return f"on {format_date(when, 'en')}"

    text = _EN_RELATIVE.sub(relative, sentence)

    def weekday(match: re.Match[str]) -> str:
        index = WEEKDAYS["en"].index(match.group("day"))
        when = _weekday_before(day, index, strictly=match.group("pre").lower() == "last")
        return f"on {match.group('day')}, {format_date(when, 'en')}"

    return _EN_WEEKDAY.sub(weekday, text)


def jaccard(a: Collection[str], b: Collection[str]) -> float:
    """Shared over all, 0 for two empty sets."""
    left, right = set(a), set(b)
    return len(left & right) / len(left | right) if left or right else 0.0


def redundancy(
    terms_a: Collection[str],
    terms_b: Collection[str],
    entities_a: Collection[str],
    entities_b: Collection[str],
    figures_a: Collection[str] = (),
    figures_b: Collection[str] = (),
) -> float:
    """How far two sentences say the same thing, 0..1.

    Shared terms; or the same three specific entities; or the same two figures and a specific entity
    ("5,000 workers and 1,000 sappers to Kursk" told by two outlets).
    """
    lexical = jaccard(terms_a, terms_b)
    left, right = set(entities_a), set(entities_b)
    shared = len(left & right)
    if shared >= ENTITY_REDUNDANCY_MIN and shared / min(len(left), len(right)) >= ENTITY_REDUNDANCY_SHARE:
        return max(lexical, shared / min(len(left), len(right)))
    if shared and len(set(figures_a) & set(figures_b)) >= FIGURE_REDUNDANCY_MIN:
        return max(lexical, TERM_REDUNDANCY)
    return lexical


def repeats(*pair: Collection[str]) -> bool:
    """Whether two sentences repeat each other; the arguments are those of `redundancy`."""
    return redundancy(*pair) >= TERM_REDUNDANCY
