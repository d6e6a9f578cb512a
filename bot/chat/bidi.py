"""Directional isolates: Latin runs inside Arabic lines are wrapped in U+2068 … U+2069.

Without them a right-to-left line that quotes "Sergei Lavrov, 2024" or a URL is reordered by the
client's bidi algorithm into nonsense. Only lines holding Arabic letters are touched, and in HTML mode
tags and entities are left whole.
"""

from __future__ import annotations

import re

FSI = "\u2068"  # first strong isolate
PDI = "\u2069"  # pop directional isolate

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
# A run starts and ends with a Latin letter or digit; spaces and light punctuation may join words.
_LATIN_RUN = re.compile(
    r"[A-Za-z\u00C0-\u024F](?:[A-Za-z\u00C0-\u024F0-9 .,'’&/:_\-+%@#]*[A-Za-z\u00C0-\u024F0-9%])?"
)
_MARKUP = re.compile(r"(<[^>]*>|&#?\w+;)")


def isolate_latin(text: str, *, html: bool = False) -> str:
    """`text` with every Latin run of an Arabic line wrapped in directional isolates."""
    return "\n".join(_line(line, html) for line in text.split("\n"))


def _line(line: str, html: bool) -> str:
    if not _ARABIC.search(line):
        return line
    if not html:
        return _wrap(line)
    return "".join(
        segment if _MARKUP.fullmatch(segment) else _wrap(segment) for segment in _MARKUP.split(line)
    )


def _wrap(segment: str) -> str:
    def one(match: re.Match[str]) -> str:
        start, end = match.span()
        if start > 0 and segment[start - 1] == FSI and segment[end : end + 1] == PDI:
            return match.group(0)  # already isolated
        return f"{FSI}{match.group(0)}{PDI}"

    return _LATIN_RUN.sub(one, segment)


# Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and C0/C1 controls: in text from an
# article they can reorder the rest of a chat line (a U+202E reverses it) or break a message.
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(text: object) -> str:
    """An article-derived string on one line, with no control that could reorder or break the line."""
    return " ".join(_CONTROLS.sub("", str(text or "")).split())
