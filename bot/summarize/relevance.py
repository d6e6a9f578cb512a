"""Which parts of an article speak to the story's thread.

One article may cover two threads (seed 000: Lavrov in Wonsan, then Saudi mining talks in Moscow).
A summary of one thread's story draws only on paragraphs where every side of that thread is named,
in the paragraph itself or the one before it (a paragraph often names one side and leans on the
previous one for the other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from bot.text.figures import Figure, figures
from bot.text.sentences import split_paragraphs
from bot.threads.classify import ThreadDef

EntityCounter = Callable[[str], Mapping[str, int]]


def thread_paragraphs(text: str, thread: ThreadDef, entities: EntityCounter) -> list[tuple[int, str]]:
    """(index, paragraph) of the paragraphs of `text` on `thread`; every paragraph when none qualifies."""
    paragraphs = split_paragraphs(text)
    sides = [{e.id for e in group.entities} for group in thread.groups]
    own = set().union(*sides)
    named = [set(entities(p)) for p in paragraphs]
    kept = []
    for index, paragraph in enumerate(paragraphs):
        if all(named[index] & side for side in sides):
            kept.append((index, paragraph))
            continue
        # Leaning on the previous paragraph is fine unless this one turns to another thread's actors.
        window = named[index] | (named[index - 1] if index else set())
        if named[index] & own and not named[index] - own and all(window & side for side in sides):
            kept.append((index, paragraph))
    return kept or list(enumerate(paragraphs))


@lru_cache(maxsize=4096)
def text_figures(text: str) -> tuple[Figure, ...]:
    """`bot.text.figures.figures(text)`, memoized: summaries look at the same article several times."""
    return tuple(figures(text))


def spans(text: str, parts: Iterable[str]) -> list[tuple[int, int]]:
    """Where each of `parts` (in order, as split from `text`) sits in `text`; parts not found are skipped."""
    found, cursor = [], 0
    for part in parts:
        start = text.find(part, cursor)
        if start < 0:
            start = text.find(part)
        if start >= 0:
            found.append((start, start + len(part)))
            cursor = start + len(part)
    return found


def figures_within(text: str, ranges: Iterable[tuple[int, int]]) -> list[Figure]:
    """The figures of `text` that lie inside any of `ranges`."""
    bounds = list(ranges)
    return [f for f in text_figures(text) if any(start <= f.start < end for start, end in bounds)]
