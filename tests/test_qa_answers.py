"""Questions over the seed archive, offline, on every database backend under test."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.context import Context
from bot.embed import Embedder, LocalEmbedder, Matrix, NullEmbedder
from bot.qa import QAError, RateLimited, answer_question, render_answer
from bot.qa.answer import REFUSAL
from bot.qa.index import index_articles
from bot.text.figures import number_keys
from bot.threads.classify import load_threads
from storage.db import Database
from storage.models import Article, ArticleThread, Passage, QALog, Thread

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
FIRST_DAY = datetime(2025, 7, 10, 8, 0, tzinfo=UTC)


class MemoEmbedder:
    """The real local embedder, remembering each text's vector so every test does not pay for it again."""

    def __init__(self) -> None:
        self._inner = LocalEmbedder()
        self.name, self.dim = self._inner.name, self._inner.dim
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> Matrix:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            for text, row in zip(missing, self._inner.embed(missing), strict=True):
                self._memo[text] = row
        return np.array([self._memo[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


EMBEDDER = MemoEmbedder()


def make_context(db: Database, settings: Settings, *, embedder: Embedder | None = None) -> Context:
    """A context over `db` with the seeds' threads, offline, using `embedder` (the memoized local one)."""
    ctx = Context(settings=settings, db=db)
    ctx._embedder = embedder or EMBEDDER
    with db.session() as session:
        for thread in load_threads(REPO / "seeds" / "threads.toml"):
            session.add(
                Thread(
                    id=thread.id, name_en=thread.name_en, name_ar=thread.name_ar, definition=thread.to_dict()
                )
            )
    return ctx


def add_article(
    ctx: Context, title: str, text: str, *, lang: str, day: int = 0, url: str | None = None
) -> int:
    """Store one article with its thread links and index it; returns its id."""
    classifier = ctx.classifier()
    with ctx.db.session() as session:
        article = Article(
            title=title,
            text=text,
            lang=lang,
            outlet="Seed outlet",
            url=url,
            published_at=FIRST_DAY + timedelta(days=day),
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
        )
        session.add(article)
        session.flush()
        for match in classifier.classify(title, text):
            session.add(ArticleThread(article_id=article.id, thread_id=match.thread_id, score=match.score))
        session.flush()
        index_articles(session, [article.id], ctx.embedder(), classifier=classifier)
        return article.id


def seed_archive(ctx: Context) -> list[int]:
    """The five seed articles: headline = first non-empty line, text = the rest; one day apart."""
    ids = []
    for day, path in enumerate(SEEDS):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        ids.append(
            add_article(
                ctx, lines[0], "\n".join(lines[1:]), lang="ar", day=day, url=f"https://seed.example/{day}"
            )
        )
    return ids


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Context:
    context = make_context(db, settings)
    seed_archive(context)
    return context


def first_quote(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("«"))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Where did Lavrov meet Kim Jong Un?", "وونسان"),
        ("كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟", "3.28 مليار دولار"),
        ("من هو وزير الصناعة والثروة المعدنية السعودي؟", "بندر بن إبراهيم الخريف"),
        ("What did Lavrov say about North Korea's nuclear programme?", "تفهم"),
    ],
)
def test_seed_questions_put_the_answer_holding_sentence_first(
    ctx: Context, question: str, expected: str
) -> None:
    answer = answer_question(ctx, question)
    assert answer.covered and answer.method == "offline"
    assert expected in first_quote(answer.text)


def test_visitor_question_quotes_the_twenty_thousand_figure_first(ctx: Context) -> None:
    answer = answer_question(ctx, "How many visitors is the Wonsan-Kalma resort expected to receive?")
    assert "20000" in number_keys(first_quote(answer.text))
    assert "زائر" in first_quote(answer.text)


def test_english_question_over_arabic_sources_says_it_quotes_arabic(ctx: Context) -> None:
    answer = answer_question(ctx, "Where did Lavrov meet Kim Jong Un?")
    assert answer.lang == "en" and answer.quoted_lang == "ar"
    assert answer.text.startswith("From Arabic sources (quoted in the original, not translated)")


def test_world_cup_question_is_refused_not_guessed(ctx: Context) -> None:
    answer = answer_question(ctx, "Who won the 2022 World Cup?")
    assert not answer.covered and answer.method == "refusal"
    assert answer.text == REFUSAL["en"] and answer.citations == []


def test_refusal_speaks_the_questions_language(ctx: Context) -> None:
    answer = answer_question(ctx, "من فاز بكأس العالم لكرة القدم عام 2022؟")
    assert answer.text == REFUSAL["ar"] and not answer.covered


def test_answers_cite_outlet_title_date_link_and_are_as_of_the_newest_source(ctx: Context) -> None:
    answer = answer_question(ctx, "How many visitors is the Wonsan-Kalma resort expected to receive?")
    assert answer.citations
    for citation in answer.citations:
        assert citation.outlet == "Seed outlet (unknown outlet)" and citation.title and citation.url
        assert citation.date.startswith("2025-07-")
    newest = max(datetime.fromisoformat(c.date).date() for c in answer.citations)
    assert answer.as_of is not None and answer.as_of.date() == newest
    rendered = render_answer(answer)
    assert "Sources:" in rendered and f"As of {newest.isoformat()}" in rendered


def test_follow_up_resolves_he_to_the_previous_questions_subject(ctx: Context) -> None:
    answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", conversation_id="c1")
    follow = answer_question(ctx, "And what did he say about the nuclear programme?", conversation_id="c1")
    assert follow.entities == ["lavrov"]
    assert "تفهم" in first_quote(follow.text)


def test_follow_up_naming_no_entity_carries_the_previous_ones(ctx: Context) -> None:
    answer_question(ctx, "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟", conversation_id="c2")
    follow = answer_question(ctx, "وكم تنتج من الألمنيوم سنوياً؟", conversation_id="c2")
    assert set(follow.entities) == {"saudi-arabia", "russia"}
    assert "1.8 مليون طن" in first_quote(follow.text)


def test_a_new_conversation_does_not_inherit_another_ones_entities(ctx: Context) -> None:
    answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", conversation_id="c3")
    other = answer_question(ctx, "And what did he say about the nuclear programme?", conversation_id="c4")
    assert other.entities == [] and not other.covered


def test_questions_beyond_the_per_minute_limit_get_a_clear_message(db: Database, settings: Settings) -> None:
    ctx = make_context(db, settings.model_copy(update={"qa_rate_limit": 2}))
    seed_archive(ctx)
    for _ in range(2):
        answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", user="telegram:7")
    with pytest.raises(RateLimited, match="limit of 2 questions per minute") as caught:
        answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", user="telegram:7")
    assert 1 <= caught.value.retry_after <= 60
    assert answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", user="slack:U1").covered


def test_every_answer_is_logged_with_citations_and_latency(ctx: Context) -> None:
    answer = answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", user="slack:U1", conversation_id="t9")
    with ctx.db.session() as session:
        row = session.get(QALog, answer.log_id)
        assert row is not None and row.user == "slack:U1" and row.conversation_id == "t9"
        assert row.method == "offline" and row.latency_ms > 0
        assert row.answer["citations"][0]["passage_id"] == answer.citations[0].passage_id


def test_indexing_is_incremental_and_skips_duplicates(ctx: Context) -> None:
    with ctx.db.session() as session:
        before = session.scalar(select(func.count(Passage.id)))
        ids = list(session.scalars(select(Article.id)))
        assert index_articles(session, ids, ctx.embedder()) == 0
        original = session.get(Article, ids[0])
        assert original is not None
        copy = Article(
            title=original.title, text=original.text, lang="ar", content_hash="x", duplicate_of=ids[0]
        )
        session.add(copy)
        session.flush()
        assert index_articles(session, [copy.id], ctx.embedder()) == 0
        assert session.scalar(select(func.count(Passage.id))) == before


def test_new_articles_are_found_by_the_next_question(ctx: Context) -> None:
    assert not answer_question(ctx, "Did Shoigu visit Tehran?").covered
    add_article(
        ctx,
        "Shoigu in Tehran",
        "Sergei Shoigu visited Tehran on Monday for security talks.",
        lang="en",
        day=9,
    )
    answer = answer_question(ctx, "Did Shoigu visit Tehran?")
    assert answer.covered and "Tehran" in answer.text and answer.quoted_lang is None


def test_without_an_embedder_questions_are_answered_lexically(db: Database, settings: Settings) -> None:
    ctx = make_context(db, settings, embedder=NullEmbedder())
    seed_archive(ctx)
    assert "وونسان" in first_quote(answer_question(ctx, "Where did Lavrov meet Kim Jong Un?").text)


def test_arabic_question_over_english_sources_says_it_quotes_english(
    db: Database, settings: Settings
) -> None:
    ctx = make_context(db, settings)
    add_article(
        ctx,
        "Lavrov visits North Korea",
        "Russian Foreign Minister Sergei Lavrov met Kim Jong Un in Wonsan on Saturday. "
        "The two sides discussed the war in Ukraine.",
        lang="en",
    )
    answer = answer_question(ctx, "أين التقى لافروف كيم جونغ أون؟")
    assert answer.lang == "ar" and answer.quoted_lang == "en"
    assert answer.text.startswith("من مصادر باللغة الإنجليزية")
    assert "Wonsan" in first_quote(answer.text)


def test_thread_filter_keeps_other_threads_passages_out(ctx: Context) -> None:
    answer = answer_question(
        ctx, "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟", thread="saudi-russia"
    )
    assert answer.covered
    with ctx.db.session() as session:
        for citation in answer.citations:
            threads = set(
                session.scalars(
                    select(ArticleThread.thread_id).where(ArticleThread.article_id == citation.article_id)
                )
            )
            assert "saudi-russia" in threads


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001])
def test_empty_or_overlong_questions_raise_a_clear_error(ctx: Context, question: str) -> None:
    with pytest.raises(QAError, match=r"empty|too long"):
        answer_question(ctx, question)


def test_unknown_answer_language_is_refused(ctx: Context) -> None:
    with pytest.raises(QAError, match="use ar or en"):
        answer_question(ctx, "Where did Lavrov meet Kim Jong Un?", lang="fr")


def test_a_previously_question_finds_the_earlier_meeting_the_source_holds(ctx: Context) -> None:
    # Seed 002: «وكان قد التقى كيم في يوليو (تموز) 2023»; "Kim" alone is part of an entity's name.
    answer = answer_question(ctx, "When did Shoigu previously meet Kim?", conversation_id="p1")
    assert answer.covered
    assert "يوليو (تموز) 2023" in first_quote(answer.text)


def test_a_follow_up_asking_for_an_earlier_time_does_not_repeat_the_first_answer(ctx: Context) -> None:
    first = answer_question(ctx, "When did Shoigu previously meet Kim?", conversation_id="p2")
    follow = answer_question(ctx, "When did he last meet him before that?", conversation_id="p2")
    assert first_quote(first.text) not in follow.text


def test_an_answer_cites_each_article_once(ctx: Context) -> None:
    for question in ("When did Shoigu previously meet Kim?", "Where did Lavrov meet Kim Jong Un?"):
        answer = answer_question(ctx, question)
        articles = [c.article_id for c in answer.citations]
        assert len(articles) == len(set(articles))
        assert [c.n for c in answer.citations] == list(range(1, len(articles) + 1))


def test_quoted_relative_dates_are_made_absolute(ctx: Context) -> None:
    answer = answer_question(ctx, "When did Kim pledge to deepen ties with Russia during Shoigu's visit?")
    assert "اليوم السبت" not in answer.text


def test_an_english_question_reaches_arabic_text_through_the_glossary(ctx: Context) -> None:
    # "non-oil trade" is no thread entity: the glossary gives its Arabic form «التجارة غير النفطية».
    answer = answer_question(ctx, "How much was Saudi Arabia's non-oil trade with Russia in 2024?")
    assert answer.covered and "3.28 مليار دولار" in answer.text
