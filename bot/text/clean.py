"""Clean article text copied from a web page: a title, the body, and what was dropped and why."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.text import lines as kinds
from bot.text.errors import require_str
from bot.text.lines import Line
from bot.text.sentences import split_sentences
from bot.text.stem import terms

Reason = Literal["repeated", "related", "comment-prompt", "appended-story", "junk"]
ContinuesStory = Callable[[str, str], bool]

_SHORT_FIRST_LINE_WORDS = 3
_TITLE_MIN_WORDS = 4
_LEAD_TITLE_CUT_WORDS = 8
_LEAD_TITLE_MAX_WORDS = 24
_LEADING_FURNITURE_WORDS = 4
_TRAILING_FURNITURE_WORDS = 6
_RELATED_BLOCK_MAX_LINES = 60
_SIGNAL_WINDOW = 6
_HEADER_WINDOW = 3
_OVERLAP_SHARE = 0.5
_STRIP_CHARS = " \t\u00a0\u200b\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069\ufeff"
_DATELINE = re.compile(r"^([^–—\-]{1,40}?)\s+[–—-]\s+")
_MERGED_REASONS = frozenset({"related", "appended-story"})


@dataclass(frozen=True)
class Dropped:
    """A piece of the input left out of the body, with the rule that left it out."""

    reason: Reason
    text: str


@dataclass(frozen=True)
class CleanedText:
    """An article's title and body (paragraphs separated by a blank line), and what was dropped."""

    title: str
    body: str
    dropped: list[Dropped] = field(default_factory=list)


def overlaps_title(title: str, segment_head: str) -> bool:
    """Fallback story test: the segment head repeats at least half of the title's content terms."""
    title_terms = set(terms(title))
    if not title_terms:
        return True
    shared = title_terms & set(terms(segment_head))
    return len(shared) >= len(title_terms) * _OVERLAP_SHARE


def _title_from_lead(lead: str) -> str:
    sentences = split_sentences(lead)
    sentence = sentences[0] if sentences else lead
    dateline = _DATELINE.match(sentence)
    if dateline and kinds.word_count(dateline.group(1)) <= _TITLE_MIN_WORDS:
        sentence = sentence[dateline.end() :]
    words = sentence.rstrip(" .!…؛").split()
    for index, word in enumerate(words):
        if index + 1 >= _LEAD_TITLE_CUT_WORDS and word.endswith(("،", ",")):
            return " ".join(words[: index + 1]).rstrip("،,")
    if len(words) > _LEAD_TITLE_MAX_WORDS:
        return " ".join(words[:_LEAD_TITLE_MAX_WORDS]) + "…"
    return " ".join(words)


class _Cleaner:
    """One cleaning run: the lines, a label per line (None while kept), and the chosen title."""

    def __init__(self, raw: str, continues_story: ContinuesStory) -> None:
        self.lines = [
            Line.of(text) for text in (line.strip(_STRIP_CHARS) for line in raw.splitlines()) if text
        ]
        self.labels: list[Reason | None] = [None] * len(self.lines)
        self.continues_story = continues_story
        self.title = ""
        self.title_index: int | None = None
        self.lead_index = len(self.lines)

    def run(self) -> CleanedText:
        if not self.lines:
            return CleanedText(title="", body="", dropped=[])
        self._pick_title()
        self._find_lead()
        self._label_related_blocks()
        self._label_lines()
        self._label_leading_furniture()
        self._label_appended_story()
        self._label_trailing_furniture()
        return self._result()

    def _kept(self, index: int) -> bool:
        return self.labels[index] is None and index != self.title_index

    def _pick_title(self) -> None:
        """The first line is the title, unless it is a bare name or caption of three words or fewer.

        Then the next line is the title when it reads as a headline; otherwise the title is the
        lead's first sentence without its dateline («وكالات –»), cut at its first comma after eight
        words (seed 001 opens with the caption «سيرجي لافروف» and goes straight into the lead).
        """
        first = self.lines[0]
        if first.words > _SHORT_FIRST_LINE_WORDS or len(self.lines) == 1:
            self.title, self.title_index = first.text, 0
            return
        self.labels[0] = "junk"
        second = self.lines[1]
        if kinds.is_headline_like(second, min_words=_TITLE_MIN_WORDS):
            self.title, self.title_index = second.text, 1
        else:
            self.title = _title_from_lead(second.text)

    def _find_lead(self) -> None:
        start = 0 if self.title_index is None else self.title_index + 1
        for index in range(start, len(self.lines)):
            if self.labels[index] is None and kinds.is_paragraph_like(self.lines[index]):
                self.lead_index = index
                return

    def _related_block_end(self, start: int) -> int:
        limit = min(len(self.lines), start + _RELATED_BLOCK_MAX_LINES)
        region_end = next(
            (i for i in range(start + 1, limit) if kinds.is_real_paragraph(self.lines[i])), limit
        )
        outlets = [i for i in range(start + 1, region_end) if kinds.is_outlet_line(self.lines[i])]
        if outlets:
            # Teasers end with their outlet line («الشرق الأوسط» (الرياض)): nothing after the last is one.
            return outlets[-1]
        end = start
        while end + 1 < region_end and kinds.is_headline_like(self.lines[end + 1]):
            end += 1
        return end

    def _label_related_blocks(self) -> None:
        index = 0
        while index < len(self.lines):
            kind = kinds.related_marker(self.lines[index]) if index != self.title_index else None
            end = self._related_block_end(index) if kind == "block" else index
            if kind is not None:
                for covered in range(index, end + 1):
                    self.labels[covered] = "related"
            index = end + 1

    def _label_lines(self) -> None:
        seen = {self.lines[self.title_index].key} if self.title_index is not None else set()
        for index, line in enumerate(self.lines):
            if index == self.title_index:
                continue
            if self.labels[index] is None:
                self.labels[index] = self._line_reason(line, seen)
            seen.add(line.key)

    @staticmethod
    def _line_reason(line: Line, seen: set[str]) -> Reason | None:
        if line.key in seen:
            return "repeated"
        if kinds.is_comment_prompt(line):
            return "comment-prompt"
        if kinds.is_junk(line):
            return "junk"
        return None

    def _label_leading_furniture(self) -> None:
        """Between title and lead, bylines, datelines and short captions («حسين أنسي») are furniture."""
        for index in range(self.lead_index):
            line = self.lines[index]
            if self._kept(index) and (line.words <= _LEADING_FURNITURE_WORDS or kinds.is_date_line(line)):
                self.labels[index] = "junk"

    def _starts_new_page(self, index: int) -> bool:
        """A headline opening another page: it follows a related block or comment prompt, or has furniture."""
        previous = index - 1
        if previous >= 0 and self.labels[previous] in {"related", "comment-prompt"}:
            return True
        window = self.lines[index + 1 : index + 1 + _SIGNAL_WINDOW]
        keys = [line.key for line in window]
        if self.lines[index].key in keys or any(a == b for a, b in itertools.pairwise(keys)):
            return True
        header = window[:_HEADER_WINDOW]
        return any(kinds.is_date_line(line) or kinds.is_caption(line) for line in header) or any(
            kinds.is_widget(line) for line in window
        )

    def _segment_head(self, index: int) -> str:
        paragraph = next(
            (
                self.lines[i].text
                for i in range(index + 1, len(self.lines))
                if self._kept(i) and kinds.is_paragraph_like(self.lines[i])
            ),
            "",
        )
        return f"{self.lines[index].text}\n{paragraph}".strip()

    def _label_appended_story(self) -> None:
        for index in range(self.lead_index + 1, len(self.lines)):
            line = self.lines[index]
            if not (self._kept(index) and kinds.is_headline_like(line, min_words=2)):
                continue
            if self._starts_new_page(index) and not self.continues_story(
                self.title, self._segment_head(index)
            ):
                for covered in range(index, len(self.lines)):
                    self.labels[covered] = "appended-story"
                return

    def _label_trailing_furniture(self) -> None:
        """After the last paragraph, bylines and short credits («هونغ آنه (مساهم)») are furniture."""
        kept = [i for i in range(len(self.lines)) if self._kept(i)]
        last = max((i for i in kept if kinds.is_paragraph_like(self.lines[i])), default=None)
        if last is None:
            return
        for index in kept:
            if index > last and self.lines[index].words <= _TRAILING_FURNITURE_WORDS:
                self.labels[index] = "junk"

    def _result(self) -> CleanedText:
        body = "\n\n".join(line.text for index, line in enumerate(self.lines) if self._kept(index))
        return CleanedText(
            title=self.title, body=body, dropped=_dropped(self.lines, self.labels, self.title_index)
        )


def _dropped(
    lines: Sequence[Line], labels: Sequence[Reason | None], title_index: int | None
) -> list[Dropped]:
    dropped: list[Dropped] = []
    previous: Reason | None = None
    for index, (line, reason) in enumerate(zip(lines, labels, strict=True)):
        if reason is None or index == title_index:
            previous = None
            continue
        if reason == previous and reason in _MERGED_REASONS:
            dropped[-1] = Dropped(reason, f"{dropped[-1].text}\n{line.text}")
        else:
            dropped.append(Dropped(reason, line.text))
        previous = reason
    return dropped


def clean_plain_text(raw: str, *, continues_story: ContinuesStory | None = None) -> CleanedText:
    """Split copied article text into title and body, dropping page furniture and appended stories.

    The title is the first non-empty line (see _Cleaner._pick_title for a leading bare name).
    Dropped, each with its reason: lines repeated verbatim, including the title inside the body
    ("repeated"); related-articles blocks, from their marker through the teasers and their outlet
    lines ("related"); comment prompts ("comment-prompt"); "TT", share widgets, URLs, photo captions
    with a credit, and bylines or datelines before the lead or after the last paragraph ("junk");
    and a trailing story glued after the article ("appended-story"). A story is only suspected at a
    headline that opens another page (right after a related block or comment prompt, or followed by
    its own repeated headline, captions, dateline or "TT"), never at an inner subheading, and it is
    dropped with everything after it when `continues_story(title, headline + first paragraph)` is
    False. Without a callback, the segment continues the story when it repeats at least half of the
    title's content terms. The body keeps the original characters, paragraphs joined by a blank line.
    """
    require_str(raw, name="raw")
    return _Cleaner(raw, continues_story or overlaps_title).run()
