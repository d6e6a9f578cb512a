"""The offline summarizer: extractive, no model.

Sentences are split on Arabic and Latin punctuation, scored by centrality across the story's
articles (on normalized, stemmed terms), by position, and by the density of entities and figures,
then picked with MMR so that three bullets say three things. Arabic bullets come from Arabic
sentences and English bullets from English sentences, word for word; a language with no source
gets the key-facts card (bot.summarize.keyfacts).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.embed import Embedder
from bot.summarize import LANGS, Bullet, SourceArticle, StoryInput, Summary
from bot.summarize.bullets import (
    TERM_REDUNDANCY,
    absolute_dates,
    format_date,
    redundancy,
    strip_dateline,
)
from bot.summarize.keyfacts import is_place, key_facts
from bot.summarize.relevance import spans, text_figures, thread_paragraphs
from bot.text.figures import number_keys
from bot.text.glossary import Glossary
from bot.text.sentences import split_sentences
from bot.text.stem import terms

OFFLINE_MODEL = "offline"
# Bump when the extraction changes, so cached offline summaries are rebuilt.
OFFLINE_VERSION = "extractive-2"
MAX_BULLETS = 3
MMR_LAMBDA = 0.7
MIN_TERMS = 5
MAX_WORDS = 70
# A sentence in another member article supports a bullet when it shares this share of its terms.
SUPPORT_OVERLAP = 0.6
WEIGHTS = (0.55, 0.25, 0.20)  # centrality, position, density
# A sentence that carries a figure of the headline backs the headline up: it should be a bullet.
HEADLINE_FIGURE_BONUS = 0.3
HEADING_MAX_WORDS = 20
# Embedding similarity at which two sentences say the same thing; only the best candidates are embedded.
MEANING_REDUNDANCY = 0.75
EMBEDDED_CANDIDATES = 16
_TERMINAL = (".", "!", "?", "؟", "…", "»", '"', "”", ")")

EntityCounter = Callable[[str], Mapping[str, int]]

_ARABIC = re.compile(r"[\u0600-\u06ff]")
_LATIN = re.compile(r"[A-Za-z]")
_URL = re.compile(r"https?://|www\.")
# A photo caption ends with its credit: "(ا.ف.ب)", "(AFP)", "(رويترز)".
_CREDIT = re.compile(r"\([^()]{1,15}\)\s*$")


@dataclass(slots=True)
class _Sentence:
    article_id: int
    position: int
    text: str
    terms: frozenset[str]
    numbers: frozenset[str]
    entities: frozenset[str]
    score: float = 0.0
    specific: frozenset[str] = frozenset()  # entities that are not places (countries, capitals)


class OfflineSummarizer:
    """Extractive summaries in both languages; `entities` counts thread entities in a text."""

    model = OFFLINE_MODEL
    version = OFFLINE_VERSION

    def __init__(
        self,
        *,
        entities: EntityCounter | None = None,
        max_bullets: int = MAX_BULLETS,
        embedder: Embedder | None = None,
        glossary: Glossary | None = None,
    ) -> None:
        self._entities = entities or (lambda text: {})
        self._glossary = glossary
        # With an embedder, two sentences that mean the same in other words are seen to repeat.
        self._embedder = embedder if embedder is not None and embedder.dim else None
        self.max_bullets = max_bullets

    def summarize(self, story: StoryInput) -> dict[str, Summary]:
        """Both languages: extracted where the story has sources in that language, key facts otherwise."""
        return {lang: self.summarize_lang(story, lang) for lang in LANGS}

    def summarize_lang(self, story: StoryInput, lang: str) -> Summary:
        """One language's summary of `story`."""
        own = [a for a in story.articles if a.lang == lang]
        if not own:
            return key_facts(story, lang=lang, entities=self._entities, glossary=self._glossary)
        parsed = [self._parse(story, a) for a in own]
        weights = _term_weights(parsed)
        headline = self._headline(story, parsed, weights)
        sentences = self._candidates(story, parsed, lang, exclude={headline})
        _score(sentences, weights, number_keys(headline))
        chosen = _mmr(sentences, self.max_bullets, self._meanings(sentences))
        if not chosen:  # nothing sentence-like (a headline-only feed item): the titles are all there is
            return _titles_only(own, lang, weights)
        supports = {p.article.id: p.profile for p in parsed}
        dates = {a.id: a.when for a in own}
        shown: set[str] = set()
        bullets = tuple(
            Bullet(dated(s.text, lang, dates[s.article_id], shown), _cites(s, supports)) for s in chosen
        )
        return Summary(lang, headline, bullets, "offline")

    def _meanings(self, sentences: list[_Sentence]) -> dict[int, Any]:
        """Embeddings of the best candidates (the only ones MMR can reach), by id; {} without an embedder."""
        if self._embedder is None or not sentences:
            return {}
        best = sorted(sentences, key=lambda s: -s.score)[:EMBEDDED_CANDIDATES]
        vectors = self._embedder.embed([s.text for s in best])
        return {id(s): vectors[i] for i, s in enumerate(best)}

    def _headline(self, story: StoryInput, parsed: Sequence[_Parsed], weights: Mapping[str, float]) -> str:
        """The line that says what the story is on ITS thread, the most central of the best kind.

        In order: a title that names every side of the thread and no other thread's actors; a
        subheading on the thread's paragraphs that does; a title with no other thread's actors; the
        most central title. An article on two threads (seed 000) thus gets a headline per thread.
        """
        sides = [{e.id for e in g.entities} for g in story.thread.groups]
        own = set().union(*sides)

        def kind(line: str) -> tuple[bool, bool]:
            named = set(self._entities(line))
            return all(named & side for side in sides), not named - own

        titles = [p.article for p in parsed if p.article.title.strip()]
        headings = [(p.article.lang, h) for p in parsed for h in p.headings]
        tiers: list[list[tuple[str, str]]] = [
            [(a.lang, a.title.strip()) for a in titles if kind(a.title) == (True, True)],
            [(lang, h) for lang, h in headings if kind(h) == (True, True)],
            [(a.lang, a.title.strip()) for a in titles if kind(a.title)[1]],
            [(a.lang, a.title.strip()) for a in titles] or [(p.article.lang, "") for p in parsed],
        ]
        best = next(tier for tier in tiers if tier)
        return max(best, key=lambda item: _centrality(item[1], item[0], weights))[1]

    def _parse(self, story: StoryInput, article: SourceArticle) -> _Parsed:
        """The article's sentences on the story's thread, each with its terms and figures, computed once."""
        lang = article.lang
        paragraphs = [p for _, p in thread_paragraphs(article.text, story.thread, self._entities)]
        headings = [p for p in paragraphs if _is_heading(p)]
        found = list(text_figures(article.text))
        sentences: list[tuple[int, str, frozenset[str], frozenset[str]]] = []
        for position, text in enumerate(t.strip() for p in paragraphs for t in split_sentences(p)):
            sentences.append((position, text, frozenset(terms(text, lang)), frozenset()))
        located = spans(article.text, [text for _, text, _, _ in sentences])
        if len(located) == len(sentences):  # figures by offset: one pass of bot.text.figures per article
            sentences = [
                (
                    pos,
                    text,
                    stems,
                    frozenset(k for f in found if start <= f.start < end for k in f.implied_keys()),
                )
                for (pos, text, stems, _), (start, end) in zip(sentences, located, strict=True)
            ]
        else:
            sentences = [
                (pos, text, stems, frozenset(number_keys(text))) for pos, text, stems, _ in sentences
            ]
        words = frozenset(terms(article.title, lang)).union(*(stems for _, _, stems, _ in sentences))
        numbers = frozenset(k for f in found for k in f.implied_keys()) | number_keys(article.title)
        entities = frozenset(self._entities(f"{article.title}\n{article.text}"))
        return _Parsed(article, sentences, (words, frozenset(numbers), entities), headings)

    def _candidates(
        self, story: StoryInput, parsed: Sequence[_Parsed], lang: str, *, exclude: set[str]
    ) -> list[_Sentence]:
        """Sentences that may be bullets, datelines cut; titles and subheadings are not sentences."""
        found: list[_Sentence] = []
        seen: set[str] = set()
        skip = {p.article.title.strip() for p in parsed} | exclude | {h for p in parsed for h in p.headings}
        # Countries and capitals are named by most sentences of a story; people and events tell them apart.
        common = {e.id for g in story.thread.groups for e in g.entities if is_place(e)}
        for item in parsed:
            for position, raw, stems, numbers in item.sentences:
                text = strip_dateline(raw)
                if raw in skip or text in seen or len(stems) < MIN_TERMS or not _usable(text, lang):
                    continue
                seen.add(text)
                entities = frozenset(self._entities(text))
                found.append(
                    _Sentence(
                        item.article.id, position, text, stems, numbers, entities, specific=entities - common
                    )
                )
        return found


@dataclass(slots=True)
class _Parsed:
    article: SourceArticle
    sentences: list[tuple[int, str, frozenset[str], frozenset[str]]]  # position, text, terms, figure keys
    profile: tuple[frozenset[str], frozenset[str], frozenset[str]]  # terms, figure keys, entities
    headings: list[str]  # subheadings among the thread's paragraphs: headline candidates, not bullets


def _is_heading(paragraph: str) -> bool:
    """A short line with no sentence end: a subheading (or a title repeated in the text)."""
    line = paragraph.strip()
    return bool(line) and len(line.split()) <= HEADING_MAX_WORDS and not line.endswith(_TERMINAL)


def dated(sentence: str, lang: str, article_date: datetime | None, shown: set[str]) -> str:
    """A bullet that says when: relative dates made absolute, else the article's date in front.

    `shown` holds the dates earlier bullets already gave, so a date is put in front only once.
    """
    if article_date is None:
        return sentence
    day = format_date(article_date.date(), lang)
    rewritten = absolute_dates(sentence, lang, article_date)
    if rewritten != sentence or _has_full_date(sentence) or day in shown:
        shown.update(d for d in [day] if d in rewritten)
        return rewritten
    shown.add(day)
    return f"{day} — {sentence}"


def _has_full_date(sentence: str) -> bool:
    return any(f.kind == "date" and getattr(f.value, "day", None) for f in text_figures(sentence))


def _usable(text: str, lang: str) -> bool:
    """A bullet candidate: in the right script, sentence-sized, not a list heading or a link."""
    words = len(text.split())
    if words > MAX_WORDS or text.endswith((":", "：")) or _URL.search(text) or _CREDIT.search(text):
        return False
    arabic, latin = len(_ARABIC.findall(text)), len(_LATIN.findall(text))
    return arabic > latin if lang == "ar" else latin > arabic


def _term_weights(parsed: Sequence[_Parsed]) -> dict[str, float]:
    """A term weighs more the more of the story's articles use it, and the more often."""
    df: Counter[str] = Counter()
    tf: Counter[str] = Counter()
    for item in parsed:
        for _, _, stems, _ in item.sentences:
            tf.update(stems)
        df.update(item.profile[0])
    n = len(parsed)
    return {t: (df[t] / n) * math.log1p(tf[t]) for t in tf}


def _score(sentences: list[_Sentence], weights: Mapping[str, float], headline_numbers: set[str]) -> None:
    if not sentences:
        return
    central = [sum(weights.get(t, 0.0) for t in s.terms) / math.sqrt(len(s.terms)) for s in sentences]
    top = max(central) or 1.0
    w_central, w_position, w_density = WEIGHTS
    for sentence, centrality in zip(sentences, central, strict=True):
        position = 1.0 / (1.0 + 0.3 * sentence.position)
        density = min(1.0, (len(sentence.entities) + 1.5 * len(sentence.numbers)) / len(sentence.terms) * 2)
        sentence.score = w_central * centrality / top + w_position * position + w_density * density
        if sentence.numbers & headline_numbers:
            sentence.score += HEADLINE_FIGURE_BONUS


def _overlap(a: _Sentence, b: _Sentence, meanings: Mapping[int, Any]) -> float:
    lexical = redundancy(a.terms, b.terms, a.specific, b.specific, a.numbers, b.numbers)
    if id(a) in meanings and id(b) in meanings:
        cosine = float(meanings[id(a)] @ meanings[id(b)])
        return max(lexical, cosine * TERM_REDUNDANCY / MEANING_REDUNDANCY)
    return lexical


def _mmr(sentences: list[_Sentence], limit: int, meanings: Mapping[int, Any]) -> list[_Sentence]:
    """Maximal marginal relevance: good sentences that do not repeat each other."""
    chosen: list[_Sentence] = []
    pool = sorted(sentences, key=lambda s: -s.score)
    while pool and len(chosen) < limit:
        best, best_value = None, -math.inf
        for sentence in pool:
            overlap = max((_overlap(sentence, c, meanings) for c in chosen), default=0.0)
            if overlap >= TERM_REDUNDANCY:
                continue
            value = MMR_LAMBDA * sentence.score - (1 - MMR_LAMBDA) * overlap
            if value > best_value:
                best, best_value = sentence, value
        if best is None:
            break
        chosen.append(best)
        pool.remove(best)
    return chosen


def _cites(
    sentence: _Sentence, supports: Mapping[int, tuple[frozenset[str], frozenset[str], frozenset[str]]]
) -> tuple[int, ...]:
    """The sentence's own article, and every other member that carries its terms, figures and entities."""
    cited = [sentence.article_id]
    for article_id, (words, numbers, entities) in supports.items():
        if article_id == sentence.article_id:
            continue
        shared = len(sentence.terms & words) / len(sentence.terms)
        if shared >= SUPPORT_OVERLAP and sentence.numbers <= numbers and sentence.entities <= entities:
            cited.append(article_id)
    return tuple(sorted(cited))


def _centrality(line: str, lang: str, weights: Mapping[str, float]) -> float:
    words = set(terms(line, lang))
    return sum(weights.get(t, 0.0) for t in words) / math.sqrt(len(words) or 1)


def _headline(articles: Sequence[SourceArticle], weights: Mapping[str, float]) -> str:
    """The most central title."""
    titled = [a for a in articles if a.title.strip()] or list(articles)
    return max(titled, key=lambda a: _centrality(a.title, a.lang, weights)).title.strip()


def _titles_only(articles: Sequence[SourceArticle], lang: str, weights: Mapping[str, float]) -> Summary:
    bullets = tuple(Bullet(a.title.strip(), (a.id,)) for a in articles[:MAX_BULLETS] if a.title.strip())
    return Summary(lang, _headline(articles, weights), bullets, "offline")
