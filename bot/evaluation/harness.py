"""Run the real pipeline on a labelled dev set, in a fresh temporary database, and score what it stored.

The articles arrive as a source would give them, a day at a time in order of publication (undated ones
last), each day stored by the ingest pipeline (cleaning, language, near-duplicates, threads, dates,
passages for questions) and then clustered, as the write path does; the clock reads the end of that
day. The feed date of an article is its labelled publication date, so "date accuracy" checks what is
stored (unknown stays unknown, implausible dates are set aside); the event date, which the pipeline
derives from the headline and lead, is scored separately. Questions are asked offline, follow-ups in
their parent's conversation; briefs are built offline for every thread and language.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import build_context
from bot.briefs.build import build_brief
from bot.config import Settings
from bot.context import Context
from bot.evaluation.devset import DevArticle, DevQuestion, DevSet, load_devset
from bot.evaluation.metrics import (
    PRF,
    accuracy,
    answer_is_right,
    bcubed,
    labelled_pairs,
    pair_recall,
    set_f1,
)
from bot.ingest.pipeline import ArticlePipeline
from bot.ingest.sources.model import RawItem
from bot.qa.ask import answer_question
from bot.qa.index import index_new_articles
from bot.qa.model import QAError
from bot.stories.cluster import cluster_pending
from bot.summarize.offline import OfflineSummarizer
from bot.text.figures import figures, number_keys
from bot.text.relative import event_date, relative_dates
from storage.models import Article, ArticleThread, StoryArticle

KINDS_MODULE = "bot.attribution.kinds"
KINDS_FUNCTION = "classify_kind"
EVENT_LEAD_CHARS = 400


@dataclass(slots=True)
class EvalReport:
    """The figures `newsbrief eval` prints."""

    articles: int
    questions: int
    thread: PRF
    stories: dict[str, PRF]  # per thread, and "all" (over every article–thread item)
    near_dup_pairs: int
    near_dup_recall: float | None
    date_accuracy: float | None
    event_date_accuracy: float | None
    qa_accuracy: float | None
    qa_by_lang: dict[str, float | None]
    brief_figures: int
    brief_figures_found: float | None
    kinds_by_lang: dict[str, float | None] | None  # None: no classifier (bot.attribution.kinds.classify_kind)
    seconds: float = 0.0
    wrong_answers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "questions": self.questions,
            "thread": self.thread.to_dict(),
            "stories": {k: v.to_dict() for k, v in self.stories.items()},
            "near_dup_pairs": self.near_dup_pairs,
            "near_dup_recall": self.near_dup_recall,
            "date_accuracy": self.date_accuracy,
            "event_date_accuracy": self.event_date_accuracy,
            "qa_accuracy": self.qa_accuracy,
            "qa_by_lang": self.qa_by_lang,
            "brief_figures": self.brief_figures,
            "brief_figures_found": self.brief_figures_found,
            "kinds_by_lang": self.kinds_by_lang,
            "seconds": round(self.seconds, 1),
            "wrong_answers": self.wrong_answers,
        }


@dataclass(slots=True)
class _Stored:
    """Where each dev article ended up."""

    article: dict[str, int] = field(default_factory=dict)  # dev id -> article id
    original: dict[int, int] = field(default_factory=dict)  # article id -> its original (itself if none)
    published: dict[int, datetime | None] = field(default_factory=dict)


def evaluate(
    folder: Path, *, embedder: str = "local", settings: Settings | None = None, questions: bool = True
) -> EvalReport:
    """Load the dev set below `folder`, run the pipeline on it offline, and score it.

    `questions=False` skips the passage index and the questions (the costliest part: every passage is
    embedded); Q&A accuracy is then None.
    """
    devset = load_devset(folder)
    if not questions:
        devset.questions = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsbrief-eval-") as tmp:
        ctx = _context(Path(tmp), embedder, settings)
        try:
            stored = _ingest(ctx, devset.articles, index=questions)
            report = _score(ctx, devset, stored)
        finally:
            ctx.db.engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _context(tmp: Path, embedder: str, settings: Settings | None) -> Context:
    empty = tmp / "sources.toml"
    empty.write_text("", encoding="utf-8")
    base = settings or Settings()
    offline = base.model_copy(
        update={
            "database_url": f"sqlite:///{tmp / 'eval.db'}",
            "data_dir": tmp,
            "sources_file": empty,
            "llm_base_url": "",
            "embedding_model": "",
            "embedder": embedder,
            "qa_rate_limit": 0,
        }
    )
    return build_context(offline)


def _ingest(ctx: Context, articles: Sequence[DevArticle], *, index: bool = True) -> _Stored:
    """Store the articles a day at a time, oldest first, clustering after each day as the write path does."""
    stored = _Stored()
    clock = [datetime.now(UTC)]
    ctx.clock = lambda: clock[0]
    pipeline = ArticlePipeline(ctx.classifier(), now=ctx.now)
    days: dict[date | None, list[DevArticle]] = {}
    for article in articles:
        days.setdefault(article.published, []).append(article)
    dated = sorted(d for d in days if d is not None)
    last = dated[-1] if dated else date.today()
    for day in [*dated, None]:
        batch = days.get(day, [])
        if not batch:
            continue
        clock[0] = datetime.combine(day or last + timedelta(days=1), dtime(23, 59), UTC)
        prepared = [pipeline.prepare(_raw_item(a)) for a in batch]
        with ctx.db.session() as session:
            results = pipeline.store_all(session, None, [p for p in prepared if p is not None])
        kept = [a for a, p in zip(batch, prepared, strict=True) if p is not None]
        for article, result in zip(kept, results, strict=True):
            stored.article[article.id] = result.article_id
        if index:
            index_new_articles(ctx, sorted({r.article_id for r in results if r.duplicate_of is None}))
        cluster_pending(ctx)
    with ctx.db.session() as session:
        for row in session.execute(select(Article.id, Article.duplicate_of, Article.published_at)):
            stored.original[row.id] = row.duplicate_of or row.id
            stored.published[row.id] = row.published_at
    return stored


def _raw_item(article: DevArticle) -> RawItem:
    published = datetime.combine(article.published, dtime(), UTC) if article.published else None
    return RawItem(
        title=article.title,
        text=article.text,
        url=article.url,
        guid=f"devset:{article.id}",
        published=published,
        outlet=article.outlet or None,
    )


# ---------------------------------------------------------------- scoring


def _score(ctx: Context, devset: DevSet, stored: _Stored) -> EvalReport:
    articles = [a for a in devset.articles if a.id in stored.article]
    threads, stories = _placements(ctx, stored)
    gold_threads = {a.id: set(a.threads) for a in articles}
    predicted_threads = {a.id: threads.get(_original(stored, a.id), set()) for a in articles}
    qa = _questions(ctx, devset.questions)
    figures_found = _brief_figures(ctx)
    pairs = labelled_pairs({a.id: a.near_dup for a in devset.articles})
    return EvalReport(
        articles=len(devset.articles),
        questions=len(devset.questions),
        thread=set_f1(gold_threads, predicted_threads),
        stories=_story_scores(articles, stories, stored),
        near_dup_pairs=len(pairs),
        near_dup_recall=pair_recall(pairs, _linked(stories, stored)) if pairs else None,
        date_accuracy=accuracy(_published_day(stored, a) == a.published for a in articles),
        event_date_accuracy=accuracy(
            _event_day(stored, a) == a.event_date for a in articles if a.event_date is not None
        ),
        qa_accuracy=accuracy(right for _, _, right in qa),
        qa_by_lang={
            lang: accuracy(right for q, _, right in qa if q.lang == lang)
            for lang in sorted({q.lang for q, _, _ in qa})
        },
        brief_figures=len(figures_found),
        brief_figures_found=accuracy(figures_found),
        kinds_by_lang=_kinds(devset),
        wrong_answers=[f"{q.id}: {q.question} -> {text[:200]}" for q, text, right in qa if not right],
    )


def _original(stored: _Stored, dev_id: str) -> int:
    article_id = stored.article[dev_id]
    return stored.original.get(article_id, article_id)


def _placements(ctx: Context, stored: _Stored) -> tuple[dict[int, set[str]], dict[tuple[int, str], int]]:
    """Threads of each original article, and the story of each (article, thread)."""
    threads: dict[int, set[str]] = {}
    stories: dict[tuple[int, str], int] = {}
    with ctx.db.session() as session:
        for article_id, thread_id in session.execute(
            select(ArticleThread.article_id, ArticleThread.thread_id)
        ):
            threads.setdefault(article_id, set()).add(thread_id)
        for row in session.execute(
            select(StoryArticle.article_id, StoryArticle.thread_id, StoryArticle.story_id)
        ):
            stories[(row.article_id, row.thread_id)] = row.story_id
    return threads, stories


def _story_scores(
    articles: Sequence[DevArticle], stories: dict[tuple[int, str], int], stored: _Stored
) -> dict[str, PRF]:
    """B-cubed per thread over the articles labelled in it, and over every (article, thread) item."""
    scores: dict[str, PRF] = {}
    every_gold: dict[str, tuple[str, str]] = {}
    every_predicted: dict[str, tuple[str, int]] = {}
    for thread in sorted({t for a in articles for t in a.threads}):
        gold = {a.id: a.event for a in articles if thread in a.threads}
        predicted = {
            dev_id: story
            for dev_id in gold
            if (story := stories.get((stored.article[dev_id], thread))) is not None
        }
        scores[thread] = bcubed(gold, predicted)
        every_gold |= {f"{thread}/{k}": (thread, v) for k, v in gold.items()}
        every_predicted |= {f"{thread}/{k}": (thread, v) for k, v in predicted.items()}
    scores["all"] = bcubed(every_gold, every_predicted)
    return scores


def _linked(stories: dict[tuple[int, str], int], stored: _Stored) -> Callable[[str, str], bool]:
    story_sets: dict[int, set[int]] = {}
    for (article_id, _), story in stories.items():
        story_sets.setdefault(article_id, set()).add(story)

    def linked(a: str, b: str) -> bool:
        first, second = stored.article[a], stored.article[b]
        if first == second or _original(stored, a) == _original(stored, b):
            return True  # one is stored as the other's duplicate (or both as one original's)
        return bool(story_sets.get(first, set()) & story_sets.get(second, set()))

    return linked


def _published_day(stored: _Stored, article: DevArticle) -> date | None:
    moment = stored.published.get(stored.article[article.id])
    return moment.date() if moment else None


def _event_day(stored: _Stored, article: DevArticle) -> date | None:
    return event_date(article.title, article.text[:EVENT_LEAD_CHARS], _published_day(stored, article))


def _questions(ctx: Context, questions: Sequence[DevQuestion]) -> list[tuple[DevQuestion, str, bool]]:
    """Ask each question offline; a follow-up in its parent's conversation."""
    conversation: dict[str, str] = {}
    results = []
    for question in questions:
        root = conversation.get(question.follow_up_of or "", question.id)
        conversation[question.id] = root
        try:
            answer = answer_question(
                ctx, question.question, lang=question.lang or None, conversation_id=f"eval:{root}"
            )
            text, covered = answer.text, answer.covered
        except QAError as error:
            text, covered = f"(error: {error})", False
        right = answer_is_right(text, covered=covered, answer_any=question.answer_any, refuse=question.refuse)
        results.append((question, text, right))
    return results


def _brief_figures(ctx: Context) -> list[bool]:
    """For every figure in every offline brief: whether the story's own sources give it."""
    offline = OfflineSummarizer(entities=ctx.classifier().entities_in)
    found: list[bool] = []
    texts: dict[int, set[str]] = {}
    for thread in ctx.classifier().threads:
        for lang in ("ar", "en"):
            payload = build_brief(
                ctx, thread_id=thread.id, lang=lang, summarizer=offline, max_stories=10_000
            ).payload
            for story in payload["stories"]:
                sources = set().union(*(_keys(ctx, s["article_id"], texts) for s in story["sources"]))
                written = [story["headline"], *(b["text"] for b in story["bullets"])]
                found += [f.key in sources for text in written for f in figures(text)]
    return found


def _keys(ctx: Context, article_id: int, cache: dict[int, set[str]]) -> set[str]:
    if article_id not in cache:
        with ctx.db.session() as session:
            article = session.get(Article, article_id)
            cache[article_id] = _grounded_keys(article) if article else set()
    return cache[article_id]


def _kinds(devset: DevSet) -> dict[str, float | None] | None:
    """Bullet-kind accuracy per language, when a classifier `bot.attribution.kinds.classify_kind(sentence, lang)` exists."""
    classify = kind_classifier()
    if classify is None:
        return None
    return {
        lang: accuracy(classify(k.sentence, k.lang) == k.kind for k in devset.kinds if k.lang == lang)
        for lang in sorted({k.lang for k in devset.kinds})
    }


def kind_classifier() -> Callable[[str, str], str] | None:
    """`bot.attribution.kinds.classify_kind` (issue 14's claim-kind classifier) when it is importable, else None."""
    try:
        module = importlib.import_module(KINDS_MODULE)
    except ImportError:
        return None
    function = getattr(module, KINDS_FUNCTION, None)
    return function if callable(function) else None


def _grounded_keys(article: Article) -> set[str]:
    """The figures an article gives: those it writes, and the days its relative dates name («اليوم السبت»
    resolved against its own publication date, as briefs print them) and that date itself."""
    text = f"{article.title}\n{article.text}"
    keys = number_keys(text)
    if article.published_at is not None:
        keys.add(article.published_at.date().isoformat())
        keys |= {resolved.day.isoformat() for resolved in relative_dates(text, article.published_at)}
    return keys
