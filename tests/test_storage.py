"""Storage on both backends: migrations, UTC times, cascades, the LSH band index, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from storage import queries
from storage.db import Database
from storage.models import Article, ArticleBand, ArticleThread, AuditLog, Source, Thread


def _thread(session, thread_id: str = "russia-dprk") -> Thread:
    thread = Thread(
        id=thread_id, name_en="Russia–DPRK", name_ar="روسيا وكوريا الشمالية", definition={"id": thread_id}
    )
    session.add(thread)
    session.flush()
    return thread


def _article(session, **fields) -> Article:
    values = {"title": "t", "text": "x", "lang": "ar", "content_hash": "h"} | fields
    article = Article(**values)
    session.add(article)
    session.flush()
    return article


def test_migrations_create_every_table_and_reach_head(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {"sources", "articles", "article_threads", "article_bands", "audit_log", "threads"} <= tables
    assert db.current_revision() is not None


def test_upgrading_twice_changes_nothing(db: Database) -> None:
    before = db.current_revision()
    db.upgrade()
    assert db.current_revision() == before


def test_times_come_back_timezone_aware_utc(db: Database) -> None:
    moment = datetime(2025, 7, 12, 1, 52, tzinfo=UTC) + timedelta(hours=3)
    with db.session() as session:
        article_id = _article(session, published_at=moment).id
    with db.session() as session:
        stored = session.get(Article, article_id)
        assert stored.published_at == moment
        assert stored.published_at.tzinfo is not None


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.session() as session:
        _article(session, published_at=datetime(2025, 7, 12))


def test_deleting_an_article_removes_its_thread_links_and_bands(db: Database) -> None:
    with db.session() as session:
        _thread(session)
        article = _article(session)
        session.add(ArticleThread(article_id=article.id, thread_id="russia-dprk", score=0.9, evidence=[]))
        session.add(ArticleBand(band=0, bucket="abc", article_id=article.id))
    with db.session() as session:
        session.delete(session.get(Article, article.id))
    with db.session() as session:
        assert session.scalars(select(ArticleThread)).all() == []
        assert session.scalars(select(ArticleBand)).all() == []


def test_band_candidates_find_articles_sharing_a_bucket_only(db: Database) -> None:
    with db.session() as session:
        first, second = _article(session, content_hash="a"), _article(session, content_hash="b")
        session.add_all(
            [
                ArticleBand(band=0, bucket="k1", article_id=first.id),
                ArticleBand(band=1, bucket="k2", article_id=second.id),
            ]
        )
    with db.session() as session:
        assert queries.band_candidates(session, [(0, "k1"), (3, "zz")]) == [first.id]
        assert queries.band_candidates(session, [(1, "k1")]) == []


def test_due_sources_skip_paused_and_future_ones(db: Database) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as session:
        session.add_all(
            [
                Source(kind="feed", location="https://a.example/rss", recent_guids=[]),
                Source(kind="feed", location="https://b.example/rss", paused=True, recent_guids=[]),
                Source(
                    kind="feed", location="https://c.example/rss", next_check_at=now + timedelta(minutes=5)
                ),
                Source(
                    kind="feed", location="https://d.example/rss", next_check_at=now - timedelta(minutes=5)
                ),
            ]
        )
    with db.session() as session:
        due = [s.location for s in queries.due_sources(session, now)]
    assert due == ["https://a.example/rss", "https://d.example/rss"]


def test_audit_entries_keep_actor_action_and_outcome(db: Database) -> None:
    with db.session() as session:
        queries.audit(session, actor="telegram:42", action="source.add", target="https://x", allowed=False)
    with db.session() as session:
        entry = session.scalars(select(AuditLog)).one()
    assert (entry.actor, entry.action, entry.allowed) == ("telegram:42", "source.add", False)


def test_article_counts_ignore_duplicates(db: Database) -> None:
    with db.session() as session:
        source = Source(kind="file", location="/tmp/x", recent_guids=[])
        session.add(source)
        session.flush()
        original = _article(session, source_id=source.id, content_hash="1")
        _article(session, source_id=source.id, content_hash="2", duplicate_of=original.id)
    with db.session() as session:
        assert queries.article_counts(session) == {source.id: 1}


def test_the_migrations_match_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.db import include_object
    from storage.models import Base

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        assert compare_metadata(context, Base.metadata) == []
