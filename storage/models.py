"""The tables. One migration tree (storage/migrations) creates them on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Thread(Base):
    """A news thread, defined by data (entity groups with bilingual aliases), not code."""

    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Source(Base):
    """A feed, an article URL or a local path, with its polling state and health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # feed | url | file
    location: Mapped[str] = mapped_column(String(2000), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    threads: Mapped[list[Any]] = mapped_column(default=list)  # thread ids pinned by the admin; empty = all
    added_by: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    last_checked_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    pause_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_until: Mapped[datetime | None]
    recent_guids: Mapped[list[Any]] = mapped_column(default=list)  # window of entry keys already seen
    # Which rule decided the last read's character encoding, e.g. "detected: cp1252".
    charset: Mapped[str | None] = mapped_column(String(500))
    # Dates the source gave that cannot be publication dates (future, before 1990), stored as unknown.
    date_issues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_date_issue: Mapped[str | None] = mapped_column(Text)
    last_date_issue_at: Mapped[datetime | None]
    last_items: Mapped[int | None] = mapped_column(Integer)  # entries the last successful read offered
    last_cut: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of those, left out


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    url: Mapped[str | None] = mapped_column(String(2000), index=True)
    guid: Mapped[str | None] = mapped_column(String(2000))
    outlet: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), index=True)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    cleaning: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the cleaner dropped, and why
    charset: Mapped[str | None] = mapped_column(String(500))  # the rule that decoded its bytes

    threads: Mapped[list[ArticleThread]] = relationship(
        back_populates="article", cascade="all, delete-orphan"
    )

    @property
    def when(self) -> datetime:
        return self.published_at or self.fetched_at


class ArticleBand(Base):
    """MinHash-LSH band keys, so a near-duplicate is found by index lookups, not by scanning."""

    __tablename__ = "article_bands"

    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)


class ArticleThread(Base):
    __tablename__ = "article_threads"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(default=list)

    article: Mapped[Article] = relationship(back_populates="threads")

    __table_args__ = (Index("ix_article_threads_thread", "thread_id", "article_id"),)


class AuditLog(Base):
    """Every admin action: who, what, on what, from where, and whether it was allowed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # e.g. cli:root, telegram:123, slack:U123
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(2000), default="")
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Setting(Base):
    """Small persistent key/value state (e.g. the seeded-defaults marker)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Story(Base):
    """One event as several outlets covered it, within one thread."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    first_report_at: Mapped[datetime | None]
    last_report_at: Mapped[datetime | None] = mapped_column(index=True)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    entities: Mapped[dict[str, Any]] = mapped_column(default=dict)  # entity id -> mentions
    figures: Mapped[list[Any]] = mapped_column(default=list)  # normalized number keys
    title: Mapped[str] = mapped_column(Text, default="")
    member_count: Mapped[int] = mapped_column(Integer, default=0)


class StoryArticle(Base):
    __tablename__ = "story_articles"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64))
    similarity: Mapped[float] = mapped_column(Float, default=1.0)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("article_id", "thread_id", name="uq_story_articles_article_thread"),)


class Summary(Base):
    """A story's summary in one language, cached by its member set, model and prompt version."""

    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    members_key: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))  # llm | offline | keyfacts | fallback
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "story_id", "lang", "members_key", "model", "prompt_version", name="uq_summaries_cache"
        ),
    )


class Brief(Base):
    """A built brief: one thread, one language, as of a moment. Immutable once stored."""

    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime | None]
    as_of: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    story_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]]


class LLMCallLog(Base):
    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(32))


class Passage(Base):
    """A few sentences of an article: the unit of retrieval for questions."""

    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    ord: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    terms: Mapped[str] = mapped_column(Text)  # normalized, stemmed terms: what lexical search indexes
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class EmbedQueue(Base):
    """A passage waiting for its vector: ingestion writes passages lexically searchable at once and
    queues the ones dense search covers (the title and lead); the embedding job drains this in batches."""

    __tablename__ = "embed_queue"

    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class QALog(Base):
    """Every question and answer, with citations and latency, for follow-ups and evaluation."""

    __tablename__ = "qa_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    user: Mapped[str] = mapped_column(String(200), default="")
    question: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    answer: Mapped[dict[str, Any]]
    method: Mapped[str] = mapped_column(String(32))
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    feedback: Mapped[int | None] = mapped_column(Integer)


class ChatUser(Base):
    """A chat user's interface language."""

    __tablename__ = "chat_users"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ui_lang: Mapped[str] = mapped_column(String(8), default="en")


class Subscription(Base):
    """A chat's daily brief: one thread, one content language, at a local time."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))  # ar | en
    deliver_at: Mapped[str] = mapped_column(String(5))  # HH:MM local
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_brief_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Reader control (issue 15): how often briefs come, instant alerts, quiet hours and keyword filters.
    chat_kind: Mapped[str] = mapped_column(String(16), default="private", server_default="private")
    cadence: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")  # daily | weekly
    weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # weekly: 0 = Monday
    alerts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # HH:MM local; None = no quiet hours
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    include_terms: Mapped[list[Any]] = mapped_column(default=list)  # words or phrases, as written
    exclude_terms: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (
        UniqueConstraint(
            "platform", "chat_id", "thread_id", "lang", name="uq_subscriptions_chat_thread_lang"
        ),
    )


class StoryAlert(Base):
    """A story found corroborated: alerted once, whoever asks again, and why."""

    __tablename__ = "story_alerts"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(200))  # e.g. "outlets:3" or "official:KCNA"
    briefs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # lang -> brief id of the alert message


class SubscriptionAlert(Base):
    """What became of one story's alert for one subscription: sent, held (quiet hours) or capped."""

    __tablename__ = "subscription_alerts"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # sent | held | released | capped
    at: Mapped[datetime] = mapped_column(default=utcnow)
    local_day: Mapped[str] = mapped_column(String(10))  # the reader's date, for ALERT_MAX_PER_DAY
    release_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (Index("ix_subscription_alerts_day", "subscription_id", "local_day"),)


class Delivery(Base):
    """The outbox: one row per (subscription, brief), written before anything is sent."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    kind: Mapped[str] = mapped_column(String(16), default="brief", server_default="brief")  # brief | alert
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class RateBucket(Base):
    """A send rate shared by every process: the next free slot of one bot token, moved atomically."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)  # epoch seconds, database clock


class ProcessedEvent(Base):
    """Platform event ids already handled (Slack retries events)."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminNotice(Base):
    """A notice to one admin, claimed by inserting its key: a second claim fails, so it is sent once."""

    __tablename__ = "admin_notices"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. budget:2026-11-23:telegram:42
    at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "AdminNotice",
    "Article",
    "ArticleBand",
    "ArticleThread",
    "AuditLog",
    "Base",
    "Brief",
    "ChatUser",
    "Delivery",
    "LLMCallLog",
    "Passage",
    "ProcessedEvent",
    "QALog",
    "RateBucket",
    "Setting",
    "Source",
    "Story",
    "StoryAlert",
    "StoryArticle",
    "Subscription",
    "SubscriptionAlert",
    "Summary",
    "Thread",
    "UniqueConstraint",
]
