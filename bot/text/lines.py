"""What a line of copied article text is: headline, paragraph, caption, teaser, junk or a prompt.

These predicates read the line's original text for shape (length, final punctuation) and its
normalized key for wording, so «إقرأ أيضاً» and «اقرأ أيضا» are the same marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.text.dates import find_date
from bot.text.normalize import normalize
from bot.text.sentences import split_sentences

_ALNUM = re.compile(r"[^\W_]")
_CLOSERS = " \t»”’\"')]}"
_STOPS = frozenset(".!…؛")
_OPEN_ENDS = frozenset(":،,;")
_BULLET = re.compile(r"^\s*(?:[-–—•*·▪●]|\d{1,2}[.)])\s")
_CREDIT = re.compile(r"\(([^()]{1,60})\)\s*$")
_URL_LINE = re.compile(r"^(?:(?:المصدر|مصدر|source|link|الرابط)\s*:\s*)?(?:https?://|www\.)\S+$")
_KEY_TRIM = " \t:：.-–—|»«\"'"

HEADLINE_MAX_WORDS = 20
PARAGRAPH_WORDS = 25
REAL_PARAGRAPH_WORDS = 30
_SENTENCE_PARAGRAPH_WORDS = 8
_MULTI_SENTENCE_WORDS = 20
_OUTLET_MAX_WORDS = 6
_OUTLET_NAME_WORDS = 4
_CREDIT_MAX_WORDS = 5
_CAPTION_WORDS = (5, 40)
_PROMPT_MAX_WORDS = 8
_INLINE_TEASER_MAX_WORDS = 30
_DATE_LINE_MAX_WORDS = 12

_RELATED_MARKERS = frozenset(
    normalize(marker)
    for marker in (
        "مقالات ذات صلة",
        "مواضيع ذات صلة",
        "أخبار ذات صلة",
        "موضوعات ذات صلة",
        "اقرأ أيضا",
        "اقرأ أيضاً",
        "إقرأ أيضاً",
        "اقرأ ايضا",
        "اقرأ المزيد",
        "شاهد أيضا",
        "اخترنا لك",
        "قد يهمك",
        "قد يهمك أيضا",
        "الأكثر قراءة",
        "related articles",
        "related stories",
        "related news",
        "related content",
        "related",
        "read more",
        "read also",
        "also read",
        "see also",
        "more on this story",
        "you may also like",
        "recommended",
        "most read",
    )
)
_COMMENT_PROMPTS = frozenset(
    normalize(prompt)
    for prompt in (
        "اترك تعليقاً",
        "اترك تعليقا",
        "اترك تعليق",
        "اترك تعليقك",
        "اترك رداً",
        "أضف تعليق",
        "أضف تعليقاً",
        "أضف تعليقك",
        "اكتب تعليقك",
        "شاركنا رأيك",
        "التعليقات",
        "leave a comment",
        "leave a reply",
        "add a comment",
        "post a comment",
        "write a comment",
        "join the conversation",
        "share your thoughts",
        "show comments",
        "view comments",
        "comments",
    )
)
_COMMENT_COUNT = re.compile(r"^(?:\d+\s+)?(?:تعليق|تعليقات|comment|comments)(?:\s*\(\d+\))?$")
_JUNK_KEYS = frozenset(
    normalize(junk)
    for junk in (
        "TT",
        "share",
        "tweet",
        "print",
        "email",
        "advertisement",
        "إعلان",
        "شارك",
        "طباعة",
        "مشاركة",
    )
)

MarkerKind = Literal["block", "inline"]


@dataclass(frozen=True)
class Line:
    """One non-empty line: its original text (stripped), its matching key and its word count."""

    text: str
    key: str
    words: int

    @classmethod
    def of(cls, text: str) -> Line:
        """Build a Line from stripped original text."""
        return cls(text=text, key=normalize(text), words=word_count(text))


def word_count(text: str) -> int:
    """Whitespace-separated pieces that hold a letter or a digit (a lone dash is no word)."""
    return sum(1 for piece in text.split() if _ALNUM.search(piece))


def _bare_end(text: str) -> str:
    return text.rstrip(_CLOSERS)[-1:]


def ends_with_stop(text: str) -> bool:
    """The line ends a sentence with . ! … or ؛ (closing quotes and brackets aside)."""
    return _bare_end(text) in _STOPS


def is_bullet(text: str) -> bool:
    """The line is a list item (- item, • item, 1. item)."""
    return bool(_BULLET.match(text))


def is_headline_like(line: Line, *, min_words: int = 1) -> bool:
    """Short, not a list item, and not ending as a sentence or an introduction (. ! : ،) does."""
    end = _bare_end(line.text)
    return (
        min_words <= line.words <= HEADLINE_MAX_WORDS
        and end not in _STOPS
        and end not in _OPEN_ENDS
        and not is_bullet(line.text)
    )


def is_paragraph_like(line: Line) -> bool:
    """Long, or a sentence of some length: prose, not a heading, caption or byline."""
    if line.words >= PARAGRAPH_WORDS:
        return True
    return line.words >= _SENTENCE_PARAGRAPH_WORDS and (
        ends_with_stop(line.text) or _bare_end(line.text) in "?؟"
    )


def is_real_paragraph(line: Line) -> bool:
    """Longer than any teaser lede: where a related-articles block has surely ended."""
    if line.words >= REAL_PARAGRAPH_WORDS:
        return True
    return line.words >= _MULTI_SENTENCE_WORDS and len(split_sentences(line.text)) >= 2


def _credit_words(text: str) -> int | None:
    match = _CREDIT.search(text)
    if match is None:
        return None
    return word_count(match.group(1))


def is_outlet_line(line: Line) -> bool:
    """A teaser's outlet or byline: «الشرق الأوسط» (الرياض), سعيد عبد الرازق (أنقرة)."""
    credit = _credit_words(line.text)
    return (
        credit is not None
        and line.words <= _OUTLET_MAX_WORDS
        and line.words - credit <= _OUTLET_NAME_WORDS
        and not ends_with_stop(line.text)
    )


def is_caption(line: Line) -> bool:
    """A photo caption: a phrase ending in a short credit in brackets, as in «… (أ.ف.ب)»."""
    credit = _credit_words(line.text)
    if credit is None or credit > _CREDIT_MAX_WORDS:
        return False
    before = line.text[: line.text.rindex("(")]
    low, high = _CAPTION_WORDS
    return low <= line.words <= high and not ends_with_stop(before) and _bare_end(before) not in "?؟"


def is_date_line(line: Line) -> bool:
    """A short line holding a full date: a dateline such as «السبت 12 يوليو 2025 | 01:52 صباحاً»."""
    return line.words <= _DATE_LINE_MAX_WORDS and find_date(line.text, lines=1) is not None


def is_widget(line: Line) -> bool:
    """A page widget's leftover: a line without letters, "TT", "Share", «طباعة»."""
    return not _ALNUM.search(line.text) or line.key.strip(_KEY_TRIM) in _JUNK_KEYS


def is_junk(line: Line) -> bool:
    """Page furniture: widget leftovers, bare or source URLs, photo captions with a credit."""
    return is_widget(line) or bool(_URL_LINE.match(line.key)) or is_caption(line)


def is_comment_prompt(line: Line) -> bool:
    """A comment widget's text: «اترك تعليقاً», «تعليق (0)», "Leave a comment"."""
    if line.words > _PROMPT_MAX_WORDS:
        return False
    key = line.key.strip(_KEY_TRIM)
    return key in _COMMENT_PROMPTS or bool(_COMMENT_COUNT.match(key))


def related_marker(line: Line) -> MarkerKind | None:
    """ "block" for a related-articles heading, "inline" for «اقرأ أيضا: عنوان», else None."""
    key = line.key.strip(_KEY_TRIM)
    if key in _RELATED_MARKERS:
        return "block"
    if line.words > _INLINE_TEASER_MAX_WORDS:
        return None
    for marker in _RELATED_MARKERS:
        rest = key[len(marker) :]
        if key.startswith(marker) and rest[:1] in {":", "-", "–", "—", "|"} and rest[1:].strip():
            return "inline"
    return None
