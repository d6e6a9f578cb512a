"""Briefs on the web and in feed readers: read-only pages and Atom feeds, served by `newsbrief run`.

- `/briefs/{id}`: a stored brief, as it was sent;
- `/stories/{id}.{lang}` (or `/stories/{id}`, English): a story with its latest summary and every source;
- `/feeds/{thread}.{lang}.atom`: the thread's most recently updated stories, an Atom feed (RFC 4287).

Jinja2 with autoescape renders them: every article-derived string is escaped, links only ever point to
http(s) addresses, and Arabic pages are `dir="rtl" lang="ar"` with outlet names and titles isolated
(`<bdi>`). No page carries a script.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cachetools import TTLCache
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.briefs.compose import LABELS, Member, StoryEntry, compose, outlet_of
from bot.briefs.links import story_url
from bot.context import Context
from bot.reader.texts import words as reader_words
from bot.summarize import Summary
from storage.models import Article, Brief, Story, StoryArticle, Thread
from storage.models import Summary as SummaryRow

FEED_ENTRIES = 30
PAGE_WORDS = {
    "en": {"as_of": "As of", "feed": "Atom feed", "first_report": "First report", "last_report": "latest"},
    "ar": {"as_of": "حتى", "feed": "موجز Atom", "first_report": "أول تقرير", "last_report": "آخر تقرير"},
}
PAGE_TTL = 30.0  # seconds a rendered story page or feed is reused; briefs never change
CACHE_HEADERS = {"Cache-Control": f"public, max-age={int(PAGE_TTL)}"}


class PageCache:
    """Rendered pages kept for PAGE_TTL seconds, per app (one database)."""

    def __init__(self, *, ttl: float = PAGE_TTL, size: int = 4096) -> None:
        self._pages: TTLCache[tuple[Any, ...], str | None] = TTLCache(maxsize=size, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], render: Callable[[], str | None]) -> str | None:
        """The page from the cache, or rendered now and kept."""
        with self._lock:
            if key in self._pages:
                return self._pages[key]
        body = render()
        with self._lock:
            self._pages[key] = body
        return body


def _web_link(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: autoescape for HTML and Atom alike."""
    env = Environment(
        loader=PackageLoader("bot.reader", "templates"),
        autoescape=select_autoescape(["html", "atom"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship with the package: no stat() per page
    )
    env.filters["web_link"] = _web_link
    return env


def _words(lang: str) -> dict[str, str]:
    return {**LABELS[lang], **reader_words(lang), **PAGE_WORDS[lang]}


def _base(ctx: Context, request: Request | None) -> str:
    if ctx.settings.public_base_url:
        return ctx.settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/") if request is not None else ""


# ---------------------------------------------------------------- pages


def brief_page(ctx: Context, brief_id: int, *, base: str = "") -> str | None:
    """A stored brief as an HTML page, or None when there is no such brief."""
    with ctx.db.session() as session:
        row = session.get(Brief, brief_id)
        if row is None:
            return None
        payload: Mapping[str, Any] = row.payload
    lang = payload["lang"] if payload.get("lang") in LABELS else "en"
    feed = f"{base}/feeds/{payload['thread']['id']}.{lang}.atom"
    return (
        environment()
        .get_template("brief.html")
        .render(lang=lang, title=payload["title"], brief=payload, words=_words(lang), feed_url=feed)
    )


def story_payloads(session: Session, stories: Sequence[Story], lang: str) -> dict[int, dict[str, Any]]:
    """Stories as a brief's stories: the latest summary in `lang` (or the title), every member cited.

    Three queries whatever the number of stories, reading only the columns a page shows.
    """
    ids = [story.id for story in stories]
    members: dict[int, list[Member]] = {i: [] for i in ids}
    rows = session.execute(
        select(StoryArticle.story_id, Article.id, Article.outlet, Article.url, Article.title, Article.lang)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id.in_(ids))
        .order_by(func.coalesce(Article.published_at, Article.fetched_at), Article.id)
    )
    for story_id, article_id, outlet, url, title, article_lang in rows:
        members[story_id].append(Member(article_id, outlet_of(outlet, url), url, title, article_lang))
    summaries: dict[int, Summary] = {}
    for story_id, payload in session.execute(
        select(SummaryRow.story_id, SummaryRow.payload)
        .where(SummaryRow.story_id.in_(ids), SummaryRow.lang == lang)
        .order_by(SummaryRow.id.desc())
    ):
        summaries.setdefault(story_id, Summary.from_dict(payload))
    out = {}
    for story in stories:
        entry = StoryEntry(
            story.id,
            summaries.get(story.id) or Summary(lang, story.title or "", (), "offline"),
            members[story.id],
            story.first_report_at,
            story.last_report_at,
            len(story.figures or []),
        )
        when = story.last_report_at or story.updated_at
        payload = compose(
            thread_id=story.thread_id, thread_name="", lang=lang, as_of=when, since=None, entries=[entry]
        )
        out[story.id] = dict(payload["stories"][0])
    return out


def story_payload(session: Session, story: Story, lang: str) -> dict[str, Any]:
    """One story as a brief's story."""
    return story_payloads(session, [story], lang)[story.id]


def story_page(ctx: Context, story_id: int, lang: str, *, base: str = "") -> str | None:
    """A story as an HTML page, or None when there is no such story."""
    with ctx.db.session() as session:
        story = session.get(Story, story_id)
        if story is None:
            return None
        thread = session.get(Thread, story.thread_id)
        data = story_payload(session, story, lang)
        first, last = story.first_report_at, story.last_report_at
    name = (thread.name_ar if lang == "ar" else thread.name_en) if thread else story.thread_id
    headline = data["headline"] or name
    data["headline"] = headline
    return (
        environment()
        .get_template("story_page.html")
        .render(
            lang=lang,
            title=headline,
            story=data,
            thread_name=name,
            words=_words(lang),
            first_report=_day(first),
            last_report=_day(last),
            feed_url=f"{base}/feeds/{story.thread_id}.{lang}.atom",
        )
    )


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _iso(value: datetime | None) -> str:
    return (value or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed(ctx: Context, thread_id: str, lang: str, *, base: str) -> str | None:
    """The thread's Atom feed in `lang`: its most recently updated stories; None for an unknown thread."""
    env = environment()
    snippet = env.get_template("story.html").module.story_block  # type: ignore[attr-defined]
    with ctx.db.session() as session:
        thread = session.get(Thread, thread_id)
        if thread is None or not thread.active:
            return None
        stories = session.scalars(
            select(Story)
            .where(Story.thread_id == thread_id)
            .order_by(Story.updated_at.desc())
            .limit(FEED_ENTRIES)
        ).all()
        entries = []
        payloads = story_payloads(session, stories, lang)
        for story in stories:
            data = payloads[story.id]
            link = story_url(base, story.id, lang) or f"/stories/{story.id}.{lang}"
            entries.append(
                {
                    "id": f"{base}/stories/{story.id}" if base else f"urn:newsbrief:story:{story.id}",
                    "title": data["headline"] or story.title or f"#{story.id}",
                    "updated": _iso(story.updated_at),
                    "link": link,
                    "html": str(snippet(data, _words(lang))),
                }
            )
        name = thread.name_ar if lang == "ar" else thread.name_en
        updated = max((e["updated"] for e in entries), default=_iso(thread.updated_at))
    self_url = f"{base}/feeds/{thread_id}.{lang}.atom"
    return env.get_template("feed.atom").render(
        lang=lang,
        feed_id=self_url if base else f"urn:newsbrief:feed:{thread_id}:{lang}",
        title=name,
        updated=updated,
        self_url=self_url,
        entries=entries,
    )


# ---------------------------------------------------------------- routes


def routes(ctx: Context) -> list[BaseRoute]:
    """The read-only web routes."""
    cached = PageCache().get

    async def brief(request: Request) -> Response:
        brief_id, base = request.path_params["brief_id"], _base(ctx, request)
        body = await run_in_threadpool(
            cached, ("brief", brief_id, base), lambda: brief_page(ctx, brief_id, base=base)
        )
        return _html(body)

    async def story(request: Request) -> Response:
        lang = request.path_params.get("lang", "en")
        if lang not in LABELS:
            return PlainTextResponse("unknown language", status_code=404)
        story_id, base = request.path_params["story_id"], _base(ctx, request)
        body = await run_in_threadpool(
            cached, ("story", story_id, lang, base), lambda: story_page(ctx, story_id, lang, base=base)
        )
        return _html(body)

    async def atom(request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang not in LABELS:
            return PlainTextResponse("unknown language", status_code=404)
        thread_id, base = request.path_params["thread_id"], _base(ctx, request)
        body = await run_in_threadpool(
            cached, ("feed", thread_id, lang, base), lambda: feed(ctx, thread_id, lang, base=base)
        )
        if body is None:
            return PlainTextResponse("no such thread", status_code=404)
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=CACHE_HEADERS)

    return [
        Route("/briefs/{brief_id:int}", brief, methods=["GET"]),
        Route("/stories/{story_id:int}.{lang}", story, methods=["GET"]),
        Route("/stories/{story_id:int}", story, methods=["GET"]),
        Route("/feeds/{thread_id}.{lang}.atom", atom, methods=["GET"]),
    ]


def _html(body: str | None) -> Response:
    if body is None:
        return PlainTextResponse("not found", status_code=404)
    return HTMLResponse(body, headers={**CACHE_HEADERS, "Content-Security-Policy": "script-src 'none'"})
