"""Passage vectors off the ingest path: queued on the way in, given by the embedding job, then found densely."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from bot.app import build_context
from bot.config import Settings
from bot.embed import Matrix, normalize_rows
from bot.ingest.catalog import add_source
from bot.qa.dense import DenseIndex
from bot.qa.index import DENSE_PASSAGES, index_articles
from bot.qa.vectors import embed_pending
from bot.runtime.ingest_cycle import ingest_due
from storage.db import Database
from storage.models import Article, EmbedQueue, Passage
from storage.search import lexical_search
from tests.servers.web import WebServer

TOPICS = ("wonsan", "riyadh", "kursk", "opec")


class TopicEmbedder:
    """A deterministic stand-in for the encoder: one dimension per topic word the text names."""

    name = "topics"
    dim = len(TOPICS)

    def embed(self, texts: Sequence[str]) -> Matrix:
        rows = [[float(topic in text.lower()) for topic in TOPICS] for text in texts]
        return normalize_rows(np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim))


def _store(db: Database, title: str, text: str, *, defer: bool) -> list[int]:
    """One article, indexed; its passage ids in order (a title repeating the text's start is no passage)."""
    with db.session() as session:
        article = Article(title=title, text=text, lang="en", content_hash=title)
        session.add(article)
        session.flush()
        index_articles(session, [article.id], TopicEmbedder(), defer=defer)
        return list(
            session.scalars(select(Passage.id).where(Passage.article_id == article.id).order_by(Passage.ord))
        )


def _query(word: str) -> Matrix:
    return TopicEmbedder().embed([word])[0]


def test_queued_passages_are_found_lexically_at_once_and_densely_after_the_job(db: Database) -> None:
    ids = _store(
        db, "Lavrov in Wonsan", "Talks in Wonsan lasted three hours.\n\nMore talks followed.", defer=True
    )
    dense = DenseIndex(TopicEmbedder.dim)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmbedQueue)) == min(len(ids), DENSE_PASSAGES)
        assert {pid for pid, _ in lexical_search(session, ["wonsan"])} >= {ids[0]}
        assert dense.refresh(session) == 0 and dense.search(_query("wonsan"), 3) == []
        drained = embed_pending(session, TopicEmbedder())
    assert drained.passages == min(len(ids), DENSE_PASSAGES)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmbedQueue)) == 0
        assert dense.refresh(session) == drained.passages
    assert dense.search(_query("wonsan"), 1)[0][0] == ids[0]


def test_the_dense_matrix_picks_up_a_passage_embedded_after_later_ones_were_loaded(db: Database) -> None:
    early = _store(db, "Opec ministers met in Riyadh", "Opec ministers met in Riyadh.", defer=True)[0]
    dense = DenseIndex(TopicEmbedder.dim)
    late = _store(db, "Mines were cleared in Kursk", "Mines were cleared in Kursk.", defer=False)[0]
    with db.session() as session:
        assert dense.refresh(session) == 1  # the later passage had its vector at once; the earlier waits
        assert [pid for pid, _ in dense.search(_query("kursk"), 5)] == [late]
        embed_pending(session, TopicEmbedder())
    with db.session() as session:
        assert dense.refresh(session) == 1 and dense.refresh(session) == 0
    assert dense.search(_query("riyadh"), 1)[0][0] == early and len(dense) == 2


def test_a_queued_passage_deleted_before_its_vector_is_dropped_not_awaited(db: Database) -> None:
    _store(db, "Opec ministers met in Riyadh", "Opec ministers met in Riyadh.", defer=True)
    _store(db, "Mines were cleared in Kursk", "Mines were cleared in Kursk.", defer=False)
    dense = DenseIndex(TopicEmbedder.dim)
    with db.session() as session:
        dense.refresh(session)
        session.execute(delete(Article).where(Article.title.startswith("Opec")))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmbedQueue)) == 0  # cascaded with its passage
        assert dense.refresh(session) == 0 and len(dense) == 1
    later = _store(db, "Lavrov met Kim in Wonsan", "Lavrov met Kim in Wonsan.", defer=True)[0]
    with db.session() as session:
        embed_pending(session, TopicEmbedder())
        assert dense.refresh(session) == 1
    assert dense.search(_query("wonsan"), 1)[0][0] == later


@pytest.fixture
def local_settings(settings: Settings, tmp_path: Path) -> Settings:
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    return settings.model_copy(update={"sources_file": empty, "embedder": "local"})


async def test_an_ingest_round_leaves_new_articles_with_their_lead_vectors_and_an_empty_queue(
    local_settings: Settings, web_server: WebServer
) -> None:
    body = "<p>Russian Foreign Minister Sergei Lavrov met Kim Jong Un in Wonsan on Saturday.</p>" * 3
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        "<item><title>Lavrov meets Kim</title><link>http://example.com/a</link><guid>a</guid>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
    ).encode()
    url = web_server.add("/feed.xml", feed, content_type="application/rss+xml")
    ctx = build_context(local_settings)
    with ctx.db.session() as session:
        add_source(session, location=url, kind="feed", actor="test")
    [report] = await ingest_due(ctx, embed_passages=False)
    assert len(report.new) == 1
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmbedQueue)) >= 1
        assert session.scalar(select(func.count()).where(Passage.embedding.is_not(None))) == 0
    await ingest_due(ctx, force=True)  # nothing new to read; the round's job embeds what waited
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EmbedQueue)) == 0
        embedded = session.scalars(select(Passage.ord).where(Passage.embedding.is_not(None))).all()
    assert embedded and all(ord_ < DENSE_PASSAGES for ord_ in embedded)
