"""Use cases for briefs: build a thread's brief in one language from the stories the write path made.

Database work happens in short sessions around the summarizer, never across a model call: the
LLM client records each call in its own session, and SQLite allows one writer at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.attribution import outlets
from bot.briefs import compose as briefs
from bot.briefs.compose import BriefError, Member, StoryEntry
from bot.briefs.links import brief_url
from bot.context import Context
from bot.qa import transparency
from bot.stories.cluster import story_members
from bot.summarize import LANGS, SourceArticle, StoryInput, Summarizer, Summary
from bot.summarize import cache as summary_cache
from bot.summarize.llm import LLMSummarizer
from bot.summarize.offline import OfflineSummarizer
from bot.threads.classify import ThreadDef
from storage.models import Article, Brief, Story, StoryArticle, Thread

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class BuiltBrief:
    """A stored brief: its row id and its immutable payload."""

    id: int
    payload: dict[str, Any]


@dataclass(slots=True)
class _Pending:
    story_id: int
    story: StoryInput
    members: list[Member]
    key: str
    first: datetime | None
    last: datetime | None
    figure_count: int
    summaries: dict[str, Summary] | None


def summarizer_for(ctx: Context) -> Summarizer:
    """The LLM summarizer when an endpoint is configured, else the offline one."""
    entities = ctx.classifier().entities_in
    glossary = ctx.glossary()
    offline = OfflineSummarizer(entities=entities, embedder=ctx.embedder(), glossary=glossary)
    llm = ctx.llm()
    if llm is None:
        return offline
    return LLMSummarizer(llm, entities=entities, fallback=offline, glossary=glossary)


def parse_since(text: str, *, now: datetime) -> datetime:
    """`--since`: an ISO date or time (UTC unless it says otherwise), or a span back: 30m, 24h, 7d, 2w."""
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2).lower()]: int(relative.group(1))})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BriefError(
            f"cannot read {text!r} as a time: give an ISO date like 2025-07-12, or 24h, 7d"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_brief(
    ctx: Context,
    *,
    thread_id: str,
    lang: str,
    since: datetime | None = None,
    max_stories: int = briefs.DEFAULT_MAX_STORIES,
    summarizer: Summarizer | None = None,
) -> BuiltBrief:
    """Summarize the stories new or updated since `since`, and store the brief.

    Reading never clusters: stories are made on the write path, after ingestion (`bot.stories.cluster`).
    """
    briefs.labels(lang)  # rejects an unknown language before any work
    thread = _thread(ctx, thread_id)
    summarizer = summarizer or summarizer_for(ctx)
    as_of = ctx.now()
    with ctx.db.session() as session:
        pending = [
            _load(session, story, thread, summarizer) for story in _stories_since(session, thread_id, since)
        ]
    _summarize(ctx, pending, summarizer)
    with ctx.db.session() as session:
        entries = [_entry(item, lang) for item in pending]
        name = thread.name_ar if lang == "ar" else thread.name_en
        payload = briefs.compose(
            thread_id=thread_id,
            thread_name=name,
            lang=lang,
            as_of=as_of,
            since=since,
            entries=entries,
            max_stories=max_stories,
        )
        transparency.annotate_brief(session, payload, thread=thread, catalogue=outlets.catalogue(session))
        row = store_brief(session, thread_id, lang, as_of, payload, since=since)
        if ctx.settings.public_base_url:  # the renderers link the full page when a message is cut
            payload = {**payload, "page_url": brief_url(ctx.settings.public_base_url, row.id)}
            row.payload = payload
        ctx.metrics.briefs_built.labels(thread_id, lang).inc()
        return BuiltBrief(row.id, payload)


def _summarize(ctx: Context, pending: list[_Pending], summarizer: Summarizer) -> None:
    """Summaries for the stories not in the cache (outside any session: the model is called here)."""
    for item in pending:
        if item.summaries is None:
            item.summaries = summarizer.summarize(item.story)
    with ctx.db.session() as session:
        for item in pending:
            assert item.summaries is not None
            if not any(s.transient for s in item.summaries.values()):
                summary_cache.store(
                    session,
                    story_id=item.story_id,
                    key=item.key,
                    model=summarizer.model,
                    version=summarizer.version,
                    summaries=item.summaries,
                )


def story_entries(
    ctx: Context, thread_id: str, story_ids: list[int], *, summarizer: Summarizer | None = None
) -> dict[int, dict[str, StoryEntry]]:
    """Chosen stories of a thread summarized in every language (cached), as brief entries."""
    thread = _thread(ctx, thread_id)
    summarizer = summarizer or summarizer_for(ctx)
    with ctx.db.session() as session:
        stories = session.scalars(select(Story).where(Story.id.in_(story_ids)).order_by(Story.id))
        pending = [_load(session, story, thread, summarizer) for story in stories]
    _summarize(ctx, pending, summarizer)
    return {item.story_id: {lang: _entry(item, lang) for lang in LANGS} for item in pending}


def thread_name(ctx: Context, thread_id: str, lang: str) -> str:
    """A thread's name in `lang`."""
    thread = _thread(ctx, thread_id)
    return thread.name_ar if lang == "ar" else thread.name_en


def _thread(ctx: Context, thread_id: str) -> ThreadDef:
    with ctx.db.session() as session:
        row = session.get(Thread, thread_id)
        if row is None or not row.active:
            known = ", ".join(
                session.scalars(select(Thread.id).where(Thread.active.is_(True)).order_by(Thread.id))
            )
            raise BriefError(f"no active thread {thread_id!r} (known: {known or 'none'})")
        return ThreadDef.from_dict(row.definition)


def _stories_since(session: Session, thread_id: str, since: datetime | None) -> list[Story]:
    """The thread's stories with a member that joined after `since` (every story when None)."""
    query = select(Story).where(Story.thread_id == thread_id)
    if since is not None:
        joined = (
            select(StoryArticle.story_id)
            .group_by(StoryArticle.story_id)
            .having(func.max(StoryArticle.joined_at) > since)
        )
        query = query.where(Story.id.in_(joined))
    return list(session.scalars(query.order_by(Story.id)))


def _load(session: Session, story: Story, thread: ThreadDef, summarizer: Summarizer) -> _Pending:
    articles = story_members(session, story.id)
    key = summary_cache.members_key(a.id for a in articles)
    summaries = summary_cache.cached(
        session, story_id=story.id, key=key, model=summarizer.model, version=summarizer.version, langs=LANGS
    )
    story_input = StoryInput(
        story_id=story.id,
        thread=thread,
        articles=[_source(a) for a in articles if a.duplicate_of is None] or [_source(a) for a in articles],
        entities=dict(story.entities or {}),
        first_report=story.first_report_at,
        last_report=story.last_report_at,
    )
    members = [
        Member(a.id, briefs.outlet_of(a.outlet, a.url), a.url, a.title, a.lang, a.published_at)
        for a in articles
    ]
    return _Pending(
        story.id,
        story_input,
        members,
        key,
        story.first_report_at,
        story.last_report_at,
        len(story.figures or []),
        summaries,
    )


def _source(article: Article) -> SourceArticle:
    # The published date only: the day we fetched an article says nothing about when its news happened.
    return SourceArticle(
        article.id, article.title, article.text, article.lang, article.published_at, article.outlet
    )


def _entry(item: _Pending, lang: str) -> StoryEntry:
    assert item.summaries is not None
    return StoryEntry(
        item.story_id, item.summaries[lang], item.members, item.first, item.last, item.figure_count
    )


def story_overview(session: Session, story: Story) -> dict[str, Any]:
    """A story for `stories list/show`: members, outlets, first and last report, entities, figures."""
    members = story_members(session, story.id)
    overview: dict[str, Any] = {
        "id": story.id,
        "thread": story.thread_id,
        "title": story.title,
        "members": [
            {
                "id": a.id,
                "title": a.title,
                "lang": a.lang,
                "outlet": briefs.outlet_of(a.outlet, a.url),
                "url": a.url,
            }
            for a in members
        ],
        "outlets": sorted({briefs.outlet_of(a.outlet, a.url) for a in members}),
        "first_report": story.first_report_at.isoformat() if story.first_report_at else None,
        "last_report": story.last_report_at.isoformat() if story.last_report_at else None,
        "entities": dict(sorted((story.entities or {}).items(), key=lambda kv: -int(kv[1]))),
        "figures": list(story.figures or []),
    }
    thread_row = session.get(Thread, story.thread_id)
    thread = ThreadDef.from_dict(thread_row.definition) if thread_row is not None else None
    return transparency.annotate_overview(
        session, overview, thread=thread, catalogue=outlets.catalogue(session)
    )


def store_brief(
    session: Session,
    thread_id: str,
    lang: str,
    as_of: datetime,
    payload: dict[str, Any],
    *,
    since: datetime | None = None,
) -> Brief:
    """Store a composed brief (briefs are immutable once stored) and give back its row, id assigned."""
    row = Brief(
        thread_id=thread_id,
        lang=lang,
        since=since,
        as_of=as_of,
        story_count=len(payload["stories"]),
        payload=payload,
    )
    session.add(row)
    session.flush()
    return row
