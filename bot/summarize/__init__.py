"""Story summaries: one structure, two producers (an LLM, or offline extraction).

A summary is, for one story and one language, a headline and one to three bullets, each bullet
citing the member articles (by article id) it rests on. Summarizers produce both languages at once,
so that an LLM answers one prompt per story, not one per language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.threads.classify import ThreadDef

Lang = Literal["ar", "en"]
LANGS: tuple[Lang, Lang] = ("ar", "en")
# How a summary was made: by the model, by extraction, as the English key-facts card, or by
# extraction after the model's output failed validation or the endpoint failed.
Method = Literal["llm", "offline", "keyfacts", "fallback"]


class SummarizeError(Exception):
    """A story could not be summarized (bad input, not a model failure: those fall back)."""


@dataclass(frozen=True, slots=True)
class Bullet:
    """One line of a summary and the ids of the member articles it rests on."""

    text: str
    cites: tuple[int, ...]
    # The model's kind of claim ("official" | "reporting" | "analysis"), "" when none was given;
    # bot.attribution.kinds checks it against the sentence's attribution cues.
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        data: dict[str, Any] = {"text": self.text, "cites": list(self.cites)}
        if self.kind:
            data["kind"] = self.kind
        return data


@dataclass(frozen=True, slots=True)
class Summary:
    """A story's headline and cited bullets in one language; `note` says how far to trust its form."""

    lang: str
    headline: str
    bullets: tuple[Bullet, ...]
    method: Method
    note: str = ""
    # A stand-in made while the endpoint was down: shown, never cached, so the next build retries.
    transient: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what the summary cache stores)."""
        return {
            "lang": self.lang,
            "headline": self.headline,
            "bullets": [b.to_dict() for b in self.bullets],
            "method": self.method,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """Rebuild a summary stored by `to_dict`."""
        bullets = tuple(
            Bullet(str(b["text"]), tuple(int(c) for c in b["cites"]), str(b.get("kind", "")))
            for b in data["bullets"]
        )
        return cls(
            str(data["lang"]), str(data["headline"]), bullets, data["method"], str(data.get("note", ""))
        )


@dataclass(frozen=True, slots=True)
class SourceArticle:
    """A member article as a summarizer sees it."""

    id: int
    title: str
    text: str
    lang: str
    when: datetime | None = None
    outlet: str = ""


@dataclass(frozen=True, slots=True)
class StoryInput:
    """One story to summarize: its thread, its member articles, and the entities clustering found."""

    story_id: int
    thread: ThreadDef
    articles: Sequence[SourceArticle]
    entities: Mapping[str, int] = field(default_factory=dict)
    first_report: datetime | None = None
    last_report: datetime | None = None


class Summarizer(Protocol):
    """Makes both languages' summaries of a story; `model` and `version` key the cache."""

    @property
    def model(self) -> str: ...

    @property
    def version(self) -> str: ...

    def summarize(self, story: StoryInput) -> dict[str, Summary]: ...


__all__ = [
    "LANGS",
    "Bullet",
    "Lang",
    "Method",
    "SourceArticle",
    "StoryInput",
    "SummarizeError",
    "Summarizer",
    "Summary",
]
