"""Answers from retrieved passages: offline (quoted sentences), with an LLM (validated), or a refusal."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import prompts
from bot.attribution.citations import number
from bot.embed import Embedder
from bot.llm import LLM, LLMError, LLMOutputError
from bot.qa.model import LANG_NAMES, Answer, Citation, Method
from bot.qa.query import Query
from bot.qa.retrieve import Hit
from bot.summarize.bullets import absolute_dates, strip_dateline
from bot.summarize.validate import findings_text, validate_answer
from bot.text.figures import PartialDate, figures, number_keys
from bot.text.normalize import normalize, tokens
from bot.text.sentences import split_sentences
from bot.text.stem import terms
from bot.threads.classify import ThreadClassifier
from storage.search import index_tokens

log = logging.getLogger(__name__)

ANSWER_PURPOSE = "answer"
MAX_QUOTES = 2
# A second quote must score at least this share of the best one, or it is noise next to it.
SECOND_QUOTE_SHARE = 0.8
NEAREST_SHOWN = 3
SAME_SENTENCE_OVERLAP = 0.8
_SHORT_SENTENCE = 30
# Cross-language re-scoring: how many leading sentences are embedded, and how much meaning weighs.
RERANKED = 24
MEANING_WEIGHT = 10.0
# Only sentences scoring this share of the best are close enough for meaning to reorder them.
CLOSE_SHARE = 0.75
_PLACE_CUES = frozenset(normalize("في بمدينة مدينة بمنتجع منتجع in at city resort").split())
HEADING_PENALTY = 1.0
HEADING_WORDS = 15
_TERMINAL = (".", "!", "?", "؟", "…", "»", '"', "”")
_CREDIT = re.compile(r"\([^()]{1,15}\)\s*$")
# A question about an earlier event, and the words with which a report tells of one.
_EARLIER = re.compile(
    normalize(
        r"\b(previous(ly)?|before|earlier|last (time|met|visit)|first time|prior)\b|سابق|قبل|سبق|اخر|اول"
    )
)
_PAST = re.compile(
    r"\b(previously|earlier|had (met|visited|been)|last (met|visited)|first time|prior to)\b"
    r"|كان قد|كانت قد|سبق|سابق|قبل ذلك|في وقت سابق|آخر زيارة|اخر زيارة|أول زيارة|اول زيارة|للمرة الأولى",
    re.IGNORECASE,
)
PAST_BONUS = 1.0
FIGURE_MATCH = 1.5
_DURATION = re.compile(
    r"\b(hours?|days?|weeks?|months?|years?|minutes?)\b|ساعة|ساعات|ساعتين|دقيقة|دقائق|يوما|يومًا|أيام|ايام|"
    r"أسبوع|أسابيع|شهر|أشهر|شهرا|سنة|سنوات|عاما|أعوام",
    re.IGNORECASE,
)
# The share of the entity score a sentence gets for going on about the previous sentence's subject.
CONTINUED_SHARE = 0.5
REPEAT_PENALTY = 2.0

REFUSAL = {
    "en": "The sources I follow don't cover this, so I won't guess.",
    "ar": "المصادر التي أتابعها لا تغطي هذا السؤال، ولن أخمّن إجابة.",
}


@dataclass(frozen=True, slots=True)
class _Candidate:
    sentence: str
    hit: Hit
    rank: int
    score: float


def supporting(query: Query, hits: Sequence[Hit], classifier: ThreadClassifier) -> list[Hit]:
    """The hits that carry the question's key entities or terms; none means the sources don't cover it.

    Names in the question that are no thread entity ("Tehran") must be in the passage as written. With
    thread entities in the question, a passage must also name them all (all but one when there are three
    or more). Without, it must share at least half of the question's key terms (two at least, when the
    question has two), which only a passage in the question's language (or its translation's) can do.
    """
    return [hit for hit in hits if _carries(query, hit, classifier)]


def _carries(query: Query, hit: Hit, classifier: ThreadClassifier) -> bool:
    if query.names and not set(index_tokens(query.names)) <= set(index_tokens(terms(hit.text, hit.lang))):
        return False
    if query.entities:
        named = set(classifier.entities_in(hit.text))
        need = len(query.entities) if len(query.entities) <= 2 else len(query.entities) - 1
        return len(named & set(query.entities)) >= need
    wanted = set(index_tokens(query.key_terms + query.extra_terms))
    if not wanted:
        return False
    have = set(index_tokens(terms(hit.text, hit.lang))) | set(index_tokens(sorted(number_keys(hit.text))))
    shared = len(wanted & have)
    return shared >= max(min(2, len(wanted)), math.ceil(len(query.key_terms) / 2))


def refusal(query: Query, hits: Sequence[Hit], *, method: Method = "refusal") -> Answer:
    """ "The sources don't cover it", in the question's language, with the nearest articles' titles."""
    nearest = list(dict.fromkeys(hit.title for hit in hits if hit.title))[:NEAREST_SHOWN]
    return Answer(
        question=query.text,
        lang=query.lang,
        text=REFUSAL[query.lang],
        covered=False,
        method=method,
        nearest=nearest,
        entities=list(query.entities),
    )


def offline_answer(
    query: Query,
    hits: Sequence[Hit],
    classifier: ThreadClassifier,
    *,
    embedder: Embedder | None = None,
    said: Sequence[str] = (),
) -> Answer:
    """The best-matching sentences of the top passages, quoted with citations; the answer-holder first.

    When the question's topic words cannot match the passages' words (they are in the other language),
    the leading sentences of a what/why question are re-scored by their embedding's similarity to the
    question's (who/where/when/how-many questions keep the answer-holding sentence first instead).
    """
    ranked = _rank_sentences(query, hits, classifier, said)
    if (
        embedder is not None
        and embedder.dim
        and query.kind == "other"
        and query.topic_terms()
        and any(h.lang != query.lang for h in hits)
    ):
        ranked = _rerank_by_meaning(query, ranked, embedder)
    if not ranked:
        return refusal(query, hits)
    chosen = [ranked[0]]
    for candidate in ranked[1:]:
        if len(chosen) == MAX_QUOTES or candidate.score < SECOND_QUOTE_SHARE * ranked[0].score:
            break
        if not any(_same_sentence(candidate.sentence, c.sentence) for c in chosen):
            chosen.append(candidate)
    citations = _citations([c.hit for c in chosen])
    marker = {c.article_id: c.n for c in citations}
    quotes = [f"«{c.sentence}» [{marker[c.hit.article_id]}]" for c in chosen]
    other = sorted({c.hit.lang for c in chosen if c.hit.lang != query.lang})
    lines = [_quoting_note(query.lang, other)] if other else []
    return Answer(
        question=query.text,
        lang=query.lang,
        text="\n".join(lines + quotes),
        covered=True,
        method="offline",
        citations=citations,
        as_of=max(c.hit.when for c in chosen),
        quoted_lang=other[0] if len(other) == 1 else None,
        entities=list(query.entities),
    )


def _rerank_by_meaning(query: Query, ranked: list[_Candidate], embedder: Embedder) -> list[_Candidate]:
    if not ranked:
        return ranked
    close = [c for c in ranked[:RERANKED] if c.score >= CLOSE_SHARE * ranked[0].score]
    head, tail = close, ranked[len(close) :]
    # The entities are already matched; the question's meaning without them is its topic.
    names = set(query.alias_terms)
    topic = " ".join(word for word in tokens(query.text) if not set(terms(word)) & names)
    vectors = embedder.embed([topic or query.text] + [c.sentence for c in head])
    similarity = vectors[1:] @ vectors[0]
    rescored = [
        _Candidate(c.sentence, c.hit, c.rank, c.score + MEANING_WEIGHT * float(sim))
        for c, sim in zip(head, similarity, strict=True)
    ]
    return sorted(rescored, key=lambda c: (-c.score, c.rank)) + tail


def _quoting_note(lang: str, quoted: list[str]) -> str:
    names = " / ".join(LANG_NAMES[lang].get(q, q) for q in quoted)
    if lang == "ar":
        return f"من مصادر باللغة {names} (اقتباس بلغته الأصلية، دون ترجمة):"
    return f"From {names} sources (quoted in the original, not translated):"


def _rank_sentences(
    query: Query, hits: Sequence[Hit], classifier: ThreadClassifier, said: Sequence[str] = ()
) -> list[_Candidate]:
    """Every sentence of the hits, best first; `said` holds earlier answers of the conversation.

    Sentences are scored as they will be quoted: dateline cut, relative dates made absolute (so
    «اليوم السبت» holds the date a "when" question asks for).
    """
    wanted = set(index_tokens(query.key_terms + query.extra_terms + query.alias_terms))
    earlier = _asks_earlier(query.text)
    candidates = []
    for rank, hit in enumerate(hits):
        before: set[str] = set()
        for raw in _sentences(hit.text):
            sentence = absolute_dates(strip_dateline(raw), hit.lang, hit.published)
            score = _sentence_score(query, sentence, hit.lang, wanted, classifier) + 1.0 / (rank + 2)
            named = set(classifier.entities_in(sentence))
            if query.entities and not named & set(query.entities) and before & set(query.entities):
                score += (
                    CONTINUED_SHARE * 3.0
                )  # «وكان قد التقى كيم…» goes on about the last sentence's subject
            before = named or before
            if earlier and query.kind == "when" and _only_current_dates(sentence, hit):
                score -= 1.5  # the event being reported, not the earlier one asked about
            if _is_heading(raw, hit):
                score -= HEADING_PENALTY  # a title or caption names the topic but answers nothing
            if earlier and _PAST.search(sentence):
                score += PAST_BONUS
            if earlier and any(raw in previous or sentence in previous for previous in said):
                score -= REPEAT_PENALTY  # "before that": what was already said is not the answer
            candidates.append(_Candidate(sentence, hit, rank, score))
    return sorted(candidates, key=lambda c: (-c.score, c.rank))


def _only_current_dates(sentence: str, hit: Hit) -> bool:
    """Whether every date in the sentence is the article's own day (or later)."""
    if hit.published is None:
        return False
    days = [
        (f.value.year, f.value.month)
        for f in figures(sentence)
        if isinstance(f.value, PartialDate) and f.value.year is not None
    ]
    own = (hit.published.year, hit.published.month)
    return bool(days) and all(day >= own for day in days)


def _asks_earlier(question: str) -> bool:
    """ "previously", "before that", "last time", «سابقا», «قبل»: the question wants an earlier event."""
    return bool(_EARLIER.search(normalize(question)))


def _is_heading(sentence: str, hit: Hit) -> bool:
    text = sentence.strip()
    if text == hit.title.strip() or _CREDIT.search(text):
        return True
    return len(text.split()) < HEADING_WORDS and not text.endswith(_TERMINAL)


def _sentences(text: str) -> list[str]:
    return [s.strip() for line in text.split("\n") for s in (split_sentences(line) or [line]) if s.strip()]


def _sentence_score(
    query: Query, sentence: str, lang: str, wanted: set[str], classifier: ThreadClassifier
) -> float:
    named = set(classifier.entities_in(sentence))
    asked = set(query.entities)
    score = 3.0 * len(named & asked) / len(asked) if asked else 0.0
    if wanted:
        have = set(index_tokens(terms(sentence, lang)))
        score += 2.0 * len(wanted & have) / len(wanted)
    if query.figures:  # "in September 2023", "the 1961 treaty": the sentence about that time or figure
        have = {k for f in figures(sentence) for k in f.implied_keys()}
        score += FIGURE_MATCH * len(query.figures & have) / len(query.figures)
    if _holds_answer(query, sentence, named - asked, classifier):
        score += 1.5
        counted = _counted_noun(query)
        if counted and counted & set(index_tokens(terms(sentence, lang))):
            score += 1.0  # "how many soldiers": a figure of soldiers, not of any thing
    if len(sentence) < _SHORT_SENTENCE:
        score -= 1.0  # a heading or a caption repeats the topic but answers nothing
    return score


_HOW_MANY_NOUN = re.compile(r"\bhow many (?:\w+ ){0,2}?(\w+)|(?:^|\s)و?كم (\w+)")


def _counted_noun(query: Query) -> set[str]:
    """The stemmed noun a how-many question counts ("how many North Korean soldiers" -> soldier)."""
    if query.kind != "how_many":
        return set()
    match = _HOW_MANY_NOUN.search(query.text.casefold())
    if not match:
        return set()
    word = match.group(1) or match.group(2)
    return set(index_tokens(terms(word, query.lang)))


def _holds_answer(query: Query, sentence: str, new_entities: set[str], classifier: ThreadClassifier) -> bool:
    """Whether the sentence has what a who/where/when/how-many question asks for."""
    if query.kind == "how_long":
        return bool(_DURATION.search(sentence))
    if query.kind == "how_many":
        found = [
            f for f in figures(sentence) if f.kind not in ("year", "date") and f.key not in query.figures
        ]
        return bool(found)
    if query.kind == "when":
        return any(f.kind in ("year", "date") and f.key not in query.figures for f in figures(sentence))
    if query.kind == "where":
        return any(_located(sentence, alias) for e in new_entities for alias in _aliases(e, classifier))
    if query.kind == "who":
        return bool(new_entities)
    return False


def _aliases(entity_id: str, classifier: ThreadClassifier) -> list[str]:
    return [
        a
        for t in classifier.threads
        for g in t.groups
        for e in g.entities
        if e.id == entity_id
        for a in e.aliases
    ]


def _located(sentence: str, alias: str) -> bool:
    """Whether `alias` follows a word of place ("in", «في», «مدينة») in the sentence."""
    folded, name = normalize(sentence), normalize(alias)
    start = folded.find(name)
    while start >= 0:
        before = folded[:start].split()[-2:]
        if any(word in _PLACE_CUES or (word.startswith(("ب", "في")) and len(word) <= 2) for word in before):
            return True
        start = folded.find(name, start + 1)
    return False


def _same_sentence(a: str, b: str) -> bool:
    left, right = set(tokens(a)), set(tokens(b))
    # Overlap over the shorter one: a headline that is the lead sentence cut short is the same sentence.
    return bool(left and right) and len(left & right) / min(len(left), len(right)) > SAME_SENTENCE_OVERLAP


def _citations(hits: Sequence[Hit]) -> list[Citation]:
    """One citation per article, in order of first use, whichever of its passages were quoted."""
    dates = {h.article_id: h.published for h in reversed(hits)}
    passages = {h.article_id: h.passage_id for h in reversed(hits)}
    return number(hits, dates=dates, passages=passages)


def llm_answer(
    llm: LLM,
    query: Query,
    hits: Sequence[Hit],
    classifier: ThreadClassifier,
    *,
    history: str = "(none)",
) -> Answer | None:
    """The model's answer once the validator accepts it (one repair allowed); None means fall back."""
    by_id = {str(hit.passage_id): hit for hit in hits}
    prompt = prompts.render(
        "answer_question",
        language=query.lang,
        history=history,
        passages=prompts.blocks("passage", [(hit.passage_id, hit.text) for hit in hits]),
        question=prompts.quote_untrusted(query.text),
    )
    schema = prompts.schema("answer_question")
    try:
        reply, problems, raw = _attempt(llm, ANSWER_PURPOSE, prompt, schema, by_id, classifier)
        if problems:
            repair = prompts.render(
                "repair", request=prompt.user, previous=prompts.block("previous", raw), findings=problems
            )
            reply, problems, _ = _attempt(llm, f"{ANSWER_PURPOSE}-repair", repair, schema, by_id, classifier)
    except LLMError as error:
        log.info("LLM answer unavailable, answering offline: %s", error)
        return None
    if problems or reply is None:
        log.info("LLM answer failed validation after a repair, answering offline")
        return None
    if not reply["covered"]:
        return refusal(query, hits, method="llm")
    cited = [by_id[str(cite)] for cite in dict.fromkeys(reply["cites"])]
    citations = _citations(cited)
    markers = " ".join(f"[{c.n}]" for c in citations)
    return Answer(
        question=query.text,
        lang=query.lang,
        text=f"{reply['answer'].strip()} {markers}",
        covered=True,
        method="llm",
        citations=citations,
        as_of=max(hit.when for hit in cited),
        entities=list(query.entities),
    )


def _attempt(
    llm: LLM,
    purpose: str,
    prompt: prompts.RenderedPrompt,
    schema: dict[str, Any],
    by_id: dict[str, Hit],
    classifier: ThreadClassifier,
) -> tuple[dict[str, Any] | None, str, str]:
    """One call: the reply, the problems to repair (empty if none) and the raw text to show the model."""
    try:
        reply = llm.chat_json(purpose=purpose, prompt=prompt, schema=schema)
    except LLMOutputError as error:
        return None, "\n".join(f"- {problem}" for problem in error.problems), error.raw
    return reply, _problems(reply, by_id, classifier), json.dumps(reply, ensure_ascii=False)


def _problems(reply: dict[str, object], by_id: dict[str, Hit], classifier: ThreadClassifier) -> str:
    """The validator's findings as repair instructions; empty when the answer may be shown."""
    if not reply.get("covered"):
        return ""  # "not covered" carries no claim to check; we show our own refusal text
    answer, cites = str(reply.get("answer", "")), reply.get("cites")
    findings = validate_answer(
        answer,
        list(cites) if isinstance(cites, list) else [],
        passages={pid: hit.text for pid, hit in by_id.items()},
        retrieved=set(by_id),
        entities=lambda text: set(classifier.entities_in(text)),
    )
    if not answer.strip():
        return "- The answer is empty; answer the question or set covered to false."
    return findings_text(findings)
