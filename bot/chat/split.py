"""Split a message into parts within a platform's length limit, at the most natural boundary.

Paragraphs first, then lines, then sentences (Latin and Arabic punctuation: . ! ? ; ؟ ؛), then
clauses (, ،), then words, and characters only as a last resort. A cut never falls inside an HTML tag
or entity, and in HTML mode every part is balanced: tags open at a cut are closed at the end of one
part and reopened at the start of the next, so no part fails with "can't parse entities".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.chat.bidi import FSI, PDI

TELEGRAM_LIMIT = 4096
SLACK_SECTION_LIMIT = 3000
HTML_MARGIN = 64

Measure = Callable[[str], int]

# Boundaries from the coarsest to the finest; each keeps its separator with the piece before it.
_LEVELS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?;؟؛…])[\"'»”)\]]*\s+"),
    re.compile(r"(?<=[,،:])\s+"),
    re.compile(r"\s+"),
)
_MARKUP = re.compile(r"<[^>]*>|&#?\w+;")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9-]+)[^>]*?(/?)>")


class SplitError(ValueError):
    """The text cannot be split within the limit (a single tag or entity longer than the limit)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the way Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int, *, measure: Measure = len, html: bool = False) -> list[str]:
    """`text` as parts each measuring at most `limit`, cut at paragraph, then sentence boundaries."""
    if limit < 2 * HTML_MARGIN:
        raise SplitError(f"a limit of {limit} is too small to split messages")
    text = text.strip()
    if not text:
        return []
    # Room for the tags reopened at the start of a part and closed at its end, and for the
    # directional isolates closed and reopened where a cut falls inside one.
    margin = 2 * _isolate_depth(text)
    piece_limit = (limit - HTML_MARGIN if html else limit) - margin
    pieces = _pieces(text, piece_limit, measure, 0, html)
    parts = _pack(pieces, limit - margin, measure, html)
    return _balance_isolates(parts) if margin else parts


def _isolate_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char == FSI:
            depth += 1
            deepest = max(deepest, depth)
        elif char == PDI:
            depth = max(0, depth - 1)
    return deepest


def _balance_isolates(parts: list[str]) -> list[str]:
    """Close the isolates a part leaves open, and reopen them at the start of the next part."""
    balanced, carry = [], 0
    for part in parts:
        part = FSI * carry + part
        carry = 0
        for char in part:
            if char == FSI:
                carry += 1
            elif char == PDI:
                carry = max(0, carry - 1)
        balanced.append(part + PDI * carry)
    return balanced


def split_telegram(html_text: str, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram HTML split to at most `limit` UTF-16 units per message."""
    return split_message(html_text, limit, measure=utf16_len, html=True)


def _protected(text: str, html: bool) -> list[tuple[int, int]]:
    return [m.span() for m in _MARKUP.finditer(text)] if html else []


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < position < end for start, end in spans)


def _cut(text: str, pattern: re.Pattern[str], html: bool) -> list[str]:
    """Text cut after each boundary match that is not inside markup."""
    spans = _protected(text, html)
    parts, start = [], 0
    for match in pattern.finditer(text):
        if match.end() <= start or _inside(match.start(), spans) or _inside(match.end(), spans):
            continue
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p]


def _pieces(text: str, limit: int, measure: Measure, level: int, html: bool) -> list[str]:
    """Atomic pieces, each within the limit, found by descending to finer boundaries only as needed."""
    if measure(text) <= limit:
        return [text]
    if level == len(_LEVELS):
        return _hard_cut(text, limit, measure, html)
    result: list[str] = []
    for part in _cut(text, _LEVELS[level], html):
        result += _pieces(part, limit, measure, level + 1, html)
    return result


def _hard_cut(text: str, limit: int, measure: Measure, html: bool) -> list[str]:
    """Character cuts for a word longer than the limit, never inside a tag or an entity."""
    spans = _protected(text, html)
    parts, start = [], 0
    while start < len(text):
        end = start + 1
        while end < len(text) and measure(text[start : end + 1]) <= limit:
            end += 1
        while _inside(end, spans) and end > start + 1:
            end -= 1
        if _inside(end, spans) or measure(text[start:end]) > limit:
            raise SplitError(f"markup longer than the limit of {limit} cannot be split")
        parts.append(text[start:end])
        start = end
    return parts


def _open_tags(opened: list[str], text: str) -> list[str]:
    """The stack of open tags (their full opening text) after `text`."""
    stack = list(opened)
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if self_closing:
            continue
        if not closing:
            stack.append(match.group(0))
            continue
        for index in range(len(stack) - 1, -1, -1):
            if _tag_name(stack[index]) == name:
                del stack[index]
                break
    return stack


def _tag_name(opening: str) -> str:
    match = _TAG.match(opening)
    return match.group(2).lower() if match else ""


def _closers(stack: list[str]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _render(opened: list[str], body: str, html: bool) -> str:
    if not html:
        return body.strip()
    return "".join(opened) + body.strip() + _closers(_open_tags(opened, body))


def _pack(pieces: list[str], limit: int, measure: Measure, html: bool) -> list[str]:
    """Greedy packing of pieces into parts; in HTML mode each part is balanced."""
    parts: list[str] = []
    opened: list[str] = []
    body = ""
    for piece in pieces:
        candidate = body + piece
        if not body or measure(_render(opened, candidate, html)) <= limit:
            body = candidate
            continue
        parts.append(_render(opened, body, html))
        opened = _open_tags(opened, body) if html else []
        body = piece
        if measure(_render(opened, body, html)) > limit:
            raise SplitError(f"nested markup leaves no room within the limit of {limit}")
    if body.strip():
        parts.append(_render(opened, body, html))
    return [p for p in parts if p.strip() and _has_text(p, html)]


def _has_text(part: str, html: bool) -> bool:
    return bool(_TAG.sub("", part).strip()) if html else True
