"""Sentence and paragraph splitting for Arabic and English news text.

No installed library splits Arabic sentences (its terminators ؟ ؛ and its «» quotes), so this is a
small rule set: split after . ! ? ؟ ؛ … and at line breaks; never inside a figure (3.28), after a
known abbreviation (U.S., Mr., a.m.) or an initial (J. Smith, د. أحمد), before a lowercase Latin
word, or inside a «…» or “…” quotation; closing quotes and brackets stay with their sentence.
The Arabic comma ، never ends a sentence.
"""

from __future__ import annotations

import re

from bot.text.errors import require_str

_EVENTS = re.compile(r"[«»“”\n]|\.{2,}|[.!?؟؛…]+")
_CLOSERS = frozenset("»”’\"')]}")
_OPENERS = {"«": "»", "“": "”"}
_ALNUM = re.compile(r"[^\W_]")
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
# A quotation left open this long is taken as unbalanced, not as one huge sentence.
_MAX_QUOTE_CHARS = 600
_WRAP_MIN, _WRAP_MAX = 50, 100
_TERMINATORS = frozenset(".!?؟؛…:")

_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof st jr sr gen col lt maj capt sgt cpl adm rep sen gov pres rev hon mt ft vs
    inc ltd co corp dept univ est approx fig jan feb mar apr jun jul aug sep sept oct nov dec
    u.s u.k u.n e.g i.e a.m p.m d.c u.s.a e.u
"""
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())


def _word_before(text: str, end: int) -> str:
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip("\"'«“(‘[").casefold()


def _is_abbreviation(word: str) -> bool:
    if word in _ABBREVIATIONS:
        return True
    # A single letter (J., د.) or dotted single letters (U.S, ا.ف.ب) are initials, not sentence ends.
    parts = word.split(".")
    return all(len(part) == 1 and part.isalpha() for part in parts)


def _next_visible(text: str, pos: int) -> str:
    while pos < len(text) and text[pos] in " \t\u00a0":
        pos += 1
    return text[pos] if pos < len(text) else ""


def _period_ends_sentence(text: str, start: int, end: int) -> bool:
    after = text[end] if end < len(text) else ""
    if after and not after.isspace() and after not in _CLOSERS:
        return False  # 3.28, example.com, U.S.A
    if end - start == 1 and _is_abbreviation(_word_before(text, start)):
        return False
    following = _next_visible(text, end)
    return not ("a" <= following <= "z")


def _absorb_closers(text: str, end: int) -> int:
    while end < len(text) and text[end] in _CLOSERS:
        end += 1
    return end


def _boundaries(text: str) -> list[int]:
    cuts: list[int] = []
    open_stack: list[tuple[str, int]] = []
    for match in _EVENTS.finditer(text):
        mark, start, end = match.group(), match.start(), match.end()
        if open_stack and start - open_stack[-1][1] > _MAX_QUOTE_CHARS:
            open_stack.clear()
        if mark == "\n":
            cuts.append(end)
            open_stack.clear()
        elif mark in _OPENERS:
            open_stack.append((_OPENERS[mark], start))
        elif mark in ("»", "”"):
            if open_stack and open_stack[-1][0] == mark:
                open_stack.pop()
        elif _is_sentence_end(text, mark, start, end, open_stack):
            # The closing quotes after the cut are events of their own and close the quotation.
            cuts.append(_absorb_closers(text, end))
    return cuts


def _is_sentence_end(text: str, mark: str, start: int, end: int, open_stack: list[tuple[str, int]]) -> bool:
    if open_stack:
        # Inside a quotation only a terminator that the quotation closes right after ends a sentence.
        closing = text[end : _absorb_closers(text, end)]
        if not any(quote for quote, _ in open_stack if quote in closing):
            return False
    if mark == ".":
        return _period_ends_sentence(text, start, end)
    following = _next_visible(text, _absorb_closers(text, end))
    return not ("a" <= following <= "z")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` in order, stripped; pieces without a letter or digit are left out."""
    require_str(text)
    pieces: list[str] = []
    last = 0
    for cut in [*_boundaries(text), len(text)]:
        piece = text[last:cut].strip()
        last = cut
        if _ALNUM.search(piece):
            pieces.append(piece)
    return pieces


def _is_hard_wrapped(lines: list[str]) -> bool:
    # Wrapped prose: every line but the last is of a wrap width and stops mid-sentence.
    return len(lines) > 1 and all(
        _WRAP_MIN <= len(line) <= _WRAP_MAX and line[-1] not in _TERMINATORS for line in lines[:-1]
    )


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of `text`, stripped: one per line, except that hard-wrapped blocks are joined.

    A blank-line separated block whose lines (all but the last) are 50-100 characters long and end
    mid-sentence is wrapped prose and becomes one paragraph; otherwise, as in pages copied from the
    web, each non-empty line is its own paragraph.
    """
    require_str(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[str] = []
    for block in _BLANK_LINE.split(text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return paragraphs
