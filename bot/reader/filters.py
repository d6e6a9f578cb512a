"""Keyword filters per subscription: include and exclude words or phrases, in Arabic or English.

A term is folded like thread aliases (bot/text/normalize.py) and matched as whole words in a row
(bot/reader/words.py), never as a regular expression. A term that names a thread entity (any of its
aliases, e.g. "Shoigu") matches every alias of that entity («شويغو», «شويجو», …) and any story whose
clustering found the entity. Include: at least one term must match (when any is set). Exclude: none may.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.reader.words import contains, phrase
from bot.threads.classify import ThreadDef

DEFAULT_MAX_WORDS = 5
DEFAULT_MAX_TERMS = 20
MAX_TERM_CHARS = 100


class FilterError(ValueError):
    """A filter term that is empty, too long or one too many; the message says which."""


def check_term(term: str, *, max_words: int = DEFAULT_MAX_WORDS) -> str:
    """A filter term cleaned up, or FilterError."""
    cleaned = " ".join(term.split())
    words = phrase(cleaned)
    if not words:
        raise FilterError(f"{term!r} has no word to match")
    if len(cleaned) > MAX_TERM_CHARS:
        raise FilterError(f"a filter term is at most {MAX_TERM_CHARS} characters")
    if len(words) > max_words:
        raise FilterError(f"{cleaned!r} has {len(words)} words; a filter term has at most {max_words}")
    return cleaned


@dataclass(frozen=True, slots=True)
class AliasTable:
    """Thread entities by each normalized alias, and every alias of each entity."""

    entity_of: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    aliases_of: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    @classmethod
    def from_threads(cls, threads: Iterable[ThreadDef]) -> AliasTable:
        entity_of: dict[tuple[str, ...], str] = {}
        aliases_of: dict[str, set[tuple[str, ...]]] = {}
        for thread in threads:
            for group in thread.groups:
                for entity in group.entities:
                    for alias in entity.aliases:
                        words = phrase(alias)
                        if words:
                            entity_of.setdefault(words, entity.id)
                            aliases_of.setdefault(entity.id, set()).add(words)
        return cls(entity_of, {k: tuple(sorted(v)) for k, v in aliases_of.items()})


@dataclass(frozen=True, slots=True)
class StoryText:
    """What a filter looks at in a story: its normalized words (headlines, titles) and its entities."""

    words: tuple[str, ...]
    entities: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str], entities: Iterable[str] = ()) -> StoryText:
        words: list[str] = []
        for text in texts:
            words += [*phrase(text), "\n"]  # a break between texts: no phrase spans two of them
        return cls(tuple(words), frozenset(entities))


def term_matches(term: str, story: StoryText, aliases: AliasTable) -> bool:
    """Whether one filter term matches the story, its entity's aliases included."""
    words = phrase(term)
    entity = aliases.entity_of.get(words)
    if entity is not None:
        if entity in story.entities:
            return True
        return any(contains(story.words, alias) for alias in aliases.aliases_of[entity])
    return contains(story.words, words)


def passes(include: Sequence[str], exclude: Sequence[str], story: StoryText, aliases: AliasTable) -> bool:
    """The subscription's filters let this story through."""
    if include and not any(term_matches(term, story, aliases) for term in include):
        return False
    return not any(term_matches(term, story, aliases) for term in exclude)
