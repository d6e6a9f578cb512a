"""The LLM summarizer: one call per story for both languages, validated, repaired once, else offline.

The articles go into the prompt as delimited, untrusted data. The reply is checked against a
schema (by bot.llm) and then by bot.summarize.validate: every bullet cites member articles, every figure and
thread entity in a bullet (and in the headline) appears in what it cites, and the Arabic and English
versions carry the same figures. A failing reply gets one repair prompt carrying the findings;
if that fails too, the story falls back to the offline summarizer and is marked "fallback".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import prompts
from bot.attribution.kinds import reconcile
from bot.llm import LLM, LLMError, LLMOutputError, LLMRequestError, LLMUnavailable
from bot.summarize import LANGS, Bullet, SourceArticle, StoryInput, Summary
from bot.summarize.offline import EntityCounter, OfflineSummarizer
from bot.summarize.validate import Finding, validate_bullets, validate_pair
from bot.text.glossary import Glossary

log = logging.getLogger(__name__)

PROMPT = "summarize_story_bilingual"
MAX_NAMES = 60
REPAIR_PROMPT = "repair"
PURPOSE = "summarize_story"
REPAIR_PURPOSE = "summarize_story_repair"
MAX_ARTICLES = 8
MAX_ARTICLE_CHARS = 3000
FALLBACK_NOTES = {
    "en": "Extracted offline: the model's summary failed its checks.",
    "ar": "ملخص مستخرج دون نموذج: لم يجتز ملخص النموذج التحقق.",
}
UNAVAILABLE_NOTES = {
    "en": "Extracted offline: the model endpoint was unavailable.",
    "ar": "ملخص مستخرج دون نموذج: تعذر الوصول إلى النموذج.",
}

_SIDE = prompts.schema("summarize_story")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(LANGS),
    "properties": {lang: _SIDE for lang in LANGS},
}
_SCRIPT = {"ar": re.compile(r"[\u0600-\u06ff]"), "en": re.compile(r"[A-Za-z]")}
_LANG_NAMES = {"ar": "Arabic", "en": "English"}


@dataclass(frozen=True, slots=True)
class _Attempt:
    data: dict[str, Any] | None
    raw: str
    findings: list[str]


class LLMSummarizer:
    """Summaries from an OpenAI-compatible model; `fallback` makes them when the model cannot."""

    def __init__(
        self,
        llm: LLM,
        *,
        entities: EntityCounter | None = None,
        fallback: OfflineSummarizer | None = None,
        max_articles: int = MAX_ARTICLES,
        max_article_chars: int = MAX_ARTICLE_CHARS,
        glossary: Glossary | None = None,
    ) -> None:
        self.llm = llm
        self._entities = entities
        self._glossary = glossary
        self.fallback = fallback or OfflineSummarizer(entities=entities)
        self.max_articles = max_articles
        self.max_article_chars = max_article_chars

    @property
    def model(self) -> str:
        """The chat model's name (part of the cache key)."""
        return self.llm.model

    @property
    def version(self) -> str:
        """The prompt templates' version (part of the cache key)."""
        return f"{prompts.version(PROMPT)}+{prompts.version(REPAIR_PROMPT)}"

    def _names(self, story: StoryInput, texts: Iterable[str]) -> str:
        """The English names of the thread entities and glossary terms the articles use, one per line."""
        joined = "\n".join(texts)
        named = set(self._entities(joined)) if self._entities else set()
        pairs = {
            e.name_ar: e.name_en
            for g in story.thread.groups
            for e in g.entities
            if e.id in named and e.name_ar
        }
        if self._glossary is not None:
            pairs.update(self._glossary.english(joined))
        return "\n".join(f"{ar} = {en}" for ar, en in sorted(pairs.items())[:MAX_NAMES]) or "(none)"

    def summarize(self, story: StoryInput) -> dict[str, Summary]:
        """Both languages from one validated model reply, or the offline fallback marked as such."""
        chosen = list(story.articles)[: self.max_articles]
        sources = {a.id: self._source_text(a) for a in chosen}
        prompt = prompts.render(
            PROMPT,
            thread=f"{story.thread.name_en} / {story.thread.name_ar}",
            names=self._names(story, sources.values()),
            articles=prompts.blocks("article", list(sources.items())),
        )
        try:
            attempt = self._ask(PURPOSE, prompt, sources)
            if attempt.findings:
                attempt = self._ask(REPAIR_PURPOSE, _repair_prompt(prompt, attempt), sources)
        except (LLMUnavailable, LLMRequestError):
            # bot.llm has logged the failure itself; one warning per failed call is enough.
            log.info("story %s: summarizing offline, the model is unavailable", story.story_id)
            return self._fallback(story, UNAVAILABLE_NOTES, transient=True)
        if attempt.data is None:
            # No usable JSON twice is a broken endpoint or model (garbage), not a verdict on this story:
            # not cached, so the next build asks again once the endpoint recovers.
            log.info(
                "story %s: summarizing offline, the model's replies were not the JSON asked for",
                story.story_id,
            )
            return self._fallback(story, FALLBACK_NOTES, transient=True)
        if attempt.findings:
            log.warning(
                "story %s: model output failed checks twice: %s", story.story_id, attempt.findings[:3]
            )
            return self._fallback(story, FALLBACK_NOTES, transient=False)
        return {lang: _summary(lang, attempt.data[lang]) for lang in LANGS}

    def _source_text(self, article: SourceArticle) -> str:
        return f"{article.title}\n\n{article.text}"[: self.max_article_chars]

    def _ask(self, purpose: str, prompt: prompts.RenderedPrompt, sources: Mapping[int, str]) -> _Attempt:
        try:
            data = self.llm.chat_json(purpose=purpose, prompt=prompt, schema=SCHEMA)
        except LLMOutputError as error:
            return _Attempt(None, error.raw, error.problems or [str(error)])
        raw = json.dumps(data, ensure_ascii=False)
        return _Attempt(data, raw, [f"[{lang}] {f.message}" for lang, f in self._check(data, sources)])

    def _check(self, data: Mapping[str, Any], sources: Mapping[int, str]) -> list[tuple[str, Finding]]:
        counter = self._entities
        finder = (lambda text: set(counter(text))) if counter is not None else None
        everything = list(sources)
        findings: list[tuple[str, Finding]] = []
        for lang in LANGS:
            side = data[lang]
            # The headline is checked like a bullet that may rest on any article.
            lines = [*side["bullets"], {"text": side["headline"], "cites": everything}]
            findings += [(lang, f) for f in validate_bullets(lines, sources=sources, entity_aliases=finder)]
            findings += [(lang, f) for f in _script_findings(lang, lines)]
        findings += [("ar/en", f) for f in validate_pair(data["ar"]["bullets"], data["en"]["bullets"])]
        return findings

    def _fallback(
        self, story: StoryInput, notes: Mapping[str, str], *, transient: bool
    ) -> dict[str, Summary]:
        made = self.fallback.summarize(story)
        return {
            lang: Summary(
                s.lang,
                s.headline,
                s.bullets,
                "fallback",
                " ".join(part for part in (notes[lang], s.note) if part),
                transient=transient,
            )
            for lang, s in made.items()
        }


def _repair_prompt(original: prompts.RenderedPrompt, attempt: _Attempt) -> prompts.RenderedPrompt:
    return prompts.render(
        REPAIR_PROMPT,
        request=original.user,
        previous=prompts.block("previous", attempt.raw or "(no JSON object)"),
        findings="\n".join(f"- {line}" for line in attempt.findings),
    )


def _script_findings(lang: str, lines: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """A line meant for `lang` must be written in its script."""
    return [
        Finding(
            "wrong_language",
            f"Line {i + 1} of the {_LANG_NAMES[lang]} version is not in {_LANG_NAMES[lang]}.",
            i,
        )
        for i, line in enumerate(lines)
        if not _SCRIPT[lang].search(str(line.get("text", "")))
    ]


def _summary(lang: str, side: Mapping[str, Any]) -> Summary:
    bullets = tuple(
        Bullet(
            str(b["text"]).strip(),
            tuple(sorted({int(str(c).strip()) for c in b["cites"]})),
            reconcile(b.get("kind"), str(b["text"]), lang).kind,
        )
        for b in side["bullets"]
    )
    return Summary(lang, str(side["headline"]).strip(), bullets, "llm")


__all__ = ["PROMPT", "SCHEMA", "LLMError", "LLMSummarizer"]
