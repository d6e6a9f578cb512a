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

from bot.figures import number_keys
from bot.summarize import LANGS, Bullet, SourceArticle, StoryInput, Summary
from bot.summarize.keyfacts import key_facts
from bot.summarize.relevance import spans, text_figures, thread_paragraphs
from bot.text.sentences import split_sentences
from bot.text.stem import terms

OFFLINE_MODEL = "offline"
# Bump when the extraction changes, so cached offline summaries are rebuilt.
OFFLINE_VERSION = "extractive-1"
MAX_BULLETS = 3
MMR_LAMBDA = 0.7
# A candidate as close as this to a chosen bullet repeats it.
MAX_REDUNDANCY = 0.5
MIN_TERMS = 5
MAX_WORDS = 70
# A sentence in another member article supports a bullet when it shares this share of its terms.
SUPPORT_OVERLAP = 0.6
WEIGHTS = (0.55, 0.25, 0.20)  # centrality, position, density

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


class OfflineSummarizer:
    """Extractive summaries in both languages; `entities` counts thread entities in a text."""

    model = OFFLINE_MODEL
    version = OFFLINE_VERSION

    def __init__(self, *, entities: EntityCounter | None = None, max_bullets: int = MAX_BULLETS) -> None:
        self._entities = entities or (lambda text: {})
        self.max_bullets = max_bullets

    def summarize(self, story: StoryInput) -> dict[str, Summary]:
        """Both languages: extracted where the story has sources in that language, key facts otherwise."""
        return {lang: self.summarize_lang(story, lang) for lang in LANGS}

    def summarize_lang(self, story: StoryInput, lang: str) -> Summary:
        """One language's summary of `story`."""
        own = [a for a in story.articles if a.lang == lang]
        if not own:
            return key_facts(story, lang=lang, entities=self._entities)
        parsed = [self._parse(story, a) for a in own]
        sentences = self._candidates(parsed, lang)
        weights = _term_weights(parsed)
        _score(sentences, weights)
        chosen = _mmr(sentences, self.max_bullets)
        if not chosen:  # nothing sentence-like (a headline-only feed item): the titles are all there is
            return _titles_only(own, lang, weights)
        supports = {p.article.id: p.profile for p in parsed}
        bullets = tuple(Bullet(s.text, _cites(s, supports)) for s in chosen)
        return Summary(lang, _headline(own, weights), bullets, "offline")

    def _parse(self, story: StoryInput, article: SourceArticle) -> _Parsed:
        """The article's sentences on the story's thread, each with its terms and figures, computed once."""
        lang = article.lang
        paragraphs = [p for _, p in thread_paragraphs(article.text, story.thread, self._entities)]
        found = list(text_figures(article.text))
        sentences: list[tuple[int, str, frozenset[str], frozenset[str]]] = []
        for position, text in enumerate(t.strip() for p in paragraphs for t in split_sentences(p)):
            sentences.append((position, text, frozenset(terms(text, lang)), frozenset()))
        located = spans(article.text, [text for _, text, _, _ in sentences])
        if len(located) == len(sentences):  # figures by offset: one pass of bot.figures per article
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
        return _Parsed(article, sentences, (words, frozenset(numbers), entities))

    def _candidates(self, parsed: Sequence[_Parsed], lang: str) -> list[_Sentence]:
        found: list[_Sentence] = []
        seen: set[str] = set()
        titles = {p.article.title.strip() for p in parsed}
        for item in parsed:
            for position, text, stems, numbers in item.sentences:
                if text in seen or text in titles or len(stems) < MIN_TERMS or not _usable(text, lang):
                    continue
                seen.add(text)
                entities = frozenset(self._entities(text))
                found.append(_Sentence(item.article.id, position, text, stems, numbers, entities))
        return found


@dataclass(slots=True)
class _Parsed:
    article: SourceArticle
    sentences: list[tuple[int, str, frozenset[str], frozenset[str]]]  # position, text, terms, figure keys
    profile: tuple[frozenset[str], frozenset[str], frozenset[str]]  # terms, figure keys, entities


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


def _score(sentences: list[_Sentence], weights: Mapping[str, float]) -> None:
    if not sentences:
        return
    central = [sum(weights.get(t, 0.0) for t in s.terms) / math.sqrt(len(s.terms)) for s in sentences]
    top = max(central) or 1.0
    w_central, w_position, w_density = WEIGHTS
    for sentence, centrality in zip(sentences, central, strict=True):
        position = 1.0 / (1.0 + 0.3 * sentence.position)
        density = min(1.0, (len(sentence.entities) + 1.5 * len(sentence.numbers)) / len(sentence.terms) * 2)
        sentence.score = w_central * centrality / top + w_position * position + w_density * density


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _mmr(sentences: list[_Sentence], limit: int) -> list[_Sentence]:
    """Maximal marginal relevance: good sentences that do not repeat each other."""
    chosen: list[_Sentence] = []
    pool = sorted(sentences, key=lambda s: -s.score)
    while pool and len(chosen) < limit:
        best, best_value = None, -math.inf
        for sentence in pool:
            overlap = max((_jaccard(sentence.terms, c.terms) for c in chosen), default=0.0)
            if overlap >= MAX_REDUNDANCY:
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


def _headline(articles: Sequence[SourceArticle], weights: Mapping[str, float]) -> str:
    """The title that best represents the story: the most central one."""

    def centrality(article: SourceArticle) -> float:
        words = set(terms(article.title, article.lang))
        return sum(weights.get(t, 0.0) for t in words) / math.sqrt(len(words) or 1)

    titled = [a for a in articles if a.title.strip()] or list(articles)
    return max(titled, key=centrality).title.strip()


def _titles_only(articles: Sequence[SourceArticle], lang: str, weights: Mapping[str, float]) -> Summary:
    bullets = tuple(Bullet(a.title.strip(), (a.id,)) for a in articles[:MAX_BULLETS] if a.title.strip())
    return Summary(lang, _headline(articles, weights), bullets, "offline")
