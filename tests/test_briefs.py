"""Briefs: ranking, the since-filter, "nothing new", immutability, rendering, and LLM economy."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.briefs.build import build_brief, parse_since
from bot.briefs.compose import (
    BriefError,
    Member,
    StoryEntry,
    compose,
    outlet_of,
    render_markdown,
    render_text,
)
from bot.config import Settings
from bot.context import Context
from bot.stories.cluster import cluster_pending
from bot.summarize import Bullet, Summary
from bot.threads.classify import load_threads
from storage.db import Database
from storage.models import Article, ArticleThread, Brief, LLMCallLog, Thread
from storage.models import Summary as SummaryRow
from tests.servers.openai_stub import OpenAIStub

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
THREADS = load_threads(SEEDS / "threads.toml")
T0 = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)

LAVROV = (
    "لافروف يلتقي كيم جونغ أون في وونسان",
    "التقى وزير الخارجية الروسي سيرغي لافروف الزعيم الكوري الشمالي كيم جونغ أون في وونسان يوم 12 يوليو 2025. "
    "وبحث الجانبان تعزيز الشراكة الاستراتيجية بين موسكو وبيونغ يانغ في مختلف المجالات.",
)
LAVROV_EN = (
    "Lavrov meets Kim Jong Un in Wonsan",
    "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Wonsan on July 12, 2025. "
    "The two sides discussed deepening the strategic partnership between Moscow and Pyongyang.",
)
SHOIGU = (
    "كوريا الشمالية تتعهد تعميق الروابط مع روسيا خلال زيارة شويغو",
    "تعهد الزعيم الكوري الشمالي كيم جونغ أون تعميق العلاقات مع روسيا خلال محادثات أجراها مع أمين مجلس الأمن "
    "الروسي سيرغي شويغو في بيونغ يانغ، في إطار الحرب المستمرة منذ أكثر من 30 شهرا في أوكرانيا.",
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_context(tmp_path: Path, clock: Clock, **options: Any) -> Context:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", **options)
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        for t in THREADS:
            session.add(Thread(id=t.id, name_en=t.name_en, name_ar=t.name_ar, definition=t.to_dict()))
    return Context(settings=settings, db=db, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=2))


@pytest.fixture
def ctx(tmp_path: Path, clock: Clock) -> Iterator[Context]:
    context = make_context(tmp_path, clock)
    yield context
    context.db.dispose()


def add(
    ctx: Context, title: str, text: str, *, lang: str = "ar", outlet: str = "", url: str | None = None
) -> int:
    with ctx.db.session() as session:
        article = Article(
            title=title,
            text=text,
            lang=lang,
            outlet=outlet,
            url=url,
            published_at=ctx.now(),
            fetched_at=ctx.now(),
            content_hash=hashlib.sha256(f"{title}{text}{outlet}".encode()).hexdigest(),
        )
        session.add(article)
        session.flush()
        session.add(ArticleThread(article_id=article.id, thread_id="russia-dprk", score=1.0))
        article_id = article.id
    cluster_pending(ctx)  # the write path: stories are made when articles come in, not when briefs are read
    return article_id


# ---------------------------------------------------------------- composition and rendering (pure)


def entry(
    story_id: int, outlets: list[str], *, last: datetime, figures: int = 0, text: str = "x"
) -> StoryEntry:
    members = [
        Member(story_id * 10 + i, o, f"https://{o}/a{i}", "t", "en", last) for i, o in enumerate(outlets)
    ]
    summary = Summary("en", f"Story {story_id}", (Bullet(text, (members[0].article_id,)),), "offline")
    return StoryEntry(story_id, summary, members, last, last, figures)


def brief(entries: list[StoryEntry], *, since: datetime | None = None, lang: str = "en") -> dict[str, Any]:
    return compose(
        thread_id="russia-dprk",
        thread_name="Russia–North Korea",
        lang=lang,
        as_of=T0,
        since=since,
        entries=entries,
    )


def test_more_outlets_rank_first_then_more_recent_then_more_figures() -> None:
    old = T0 - timedelta(days=3)
    payload = brief(
        [
            entry(1, ["a.com"], last=old),
            entry(2, ["a.com", "b.com", "c.com"], last=old),
            entry(3, ["a.com"], last=T0),
            entry(4, ["a.com"], last=old, figures=5),
        ]
    )
    assert [s["story_id"] for s in payload["stories"]] == [2, 3, 4, 1]


def test_each_citation_number_names_its_outlet_title_date_and_link() -> None:
    payload = brief([entry(1, ["reuters.com", "tass.ru", "reuters.com"], last=T0)])
    story = payload["stories"][0]
    assert story["bullets"][0]["cites"] == [1]
    assert story["outlet_count"] == 2
    text = render_text(payload)
    assert "Story 1" in text and "x [1]" in text
    assert "Sources (2 independent outlet(s)):" in text
    assert "[1] reuters.com — t — 2025-07-12 https://reuters.com/a0" in text
    assert "[2] tass.ru — t — 2025-07-12 https://tass.ru/a1" in text
    assert "[3] reuters.com — t — 2025-07-12 https://reuters.com/a2" in text


def test_an_article_is_cited_once_and_an_unknown_date_says_so() -> None:
    member = Member(7, "Yonhap", None, "Lavrov in Wonsan", "en", None)
    summary = Summary("en", "S", (Bullet("x", (7,)),), "offline")
    payload = brief([StoryEntry(1, summary, [member, member], T0, T0)])
    sources = payload["stories"][0]["sources"]
    assert [s["n"] for s in sources] == [1]
    assert "[1] Yonhap — Lavrov in Wonsan — date unknown" in render_text(payload)


def test_nothing_new_says_so_in_one_line() -> None:
    since = T0 - timedelta(days=1)
    payload = brief([], since=since)
    assert payload["empty"] and payload["stories"] == []
    assert (
        render_text(payload).splitlines()[-1]
        == "Nothing new on Russia–North Korea since 2025-07-11 08:00 UTC."
    )
    arabic = compose(
        thread_id="r", thread_name="روسيا وكوريا الشمالية", lang="ar", as_of=T0, since=since, entries=[]
    )
    assert arabic["message"].startswith("لا جديد في ملف روسيا وكوريا الشمالية")


def test_markdown_escapes_what_came_from_articles() -> None:
    hostile = "*bold* _it_ [click](javascript:alert(1)) `code` # not a heading\n- not a list <b>"
    payload = brief([entry(1, ["a.com"], last=T0, text=hostile)])
    payload["stories"][0]["headline"] = hostile
    markdown = render_markdown(payload)
    assert "[click](" not in markdown and "*bold*" not in markdown and "`code`" not in markdown
    assert "\\*bold\\*" in markdown and "\\[click\\]" in markdown and "\\<b\\>" in markdown
    assert "\n- not a list" not in markdown
    assert "[link](https://a.com/a0)" in markdown


def test_an_outlet_falls_back_to_the_host_then_the_source_name() -> None:
    assert outlet_of("Al Arabiya", "https://www.alarabiya.net/x") == "Al Arabiya"
    assert outlet_of("", "https://www.alarabiya.net/x") == "alarabiya.net"
    assert outlet_of("", None, "Seed articles") == "Seed articles"


def test_bad_arguments_get_clear_errors(ctx: Context) -> None:
    with pytest.raises(BriefError, match="language"):
        build_brief(ctx, thread_id="russia-dprk", lang="fr")
    with pytest.raises(BriefError, match=r"no active thread .nope.*russia-dprk"):
        build_brief(ctx, thread_id="nope", lang="en")
    with pytest.raises(BriefError, match="ISO date"):
        parse_since("yesterday-ish", now=T0)
    assert parse_since("24h", now=T0) == T0 - timedelta(hours=24)
    assert parse_since("2025-07-01", now=T0) == datetime(2025, 7, 1, tzinfo=UTC)


# ---------------------------------------------------------------- building and storing


def test_a_stored_brief_never_changes_and_a_new_one_holds_only_whats_new(ctx: Context, clock: Clock) -> None:
    add(ctx, *LAVROV)
    first = build_brief(ctx, thread_id="russia-dprk", lang="ar")
    assert len(first.payload["stories"]) == 1
    clock.now += timedelta(hours=6)
    add(ctx, *SHOIGU)
    second = build_brief(ctx, thread_id="russia-dprk", lang="ar", since=T0 + timedelta(hours=3))
    assert [s["headline"] for s in second.payload["stories"]] == [SHOIGU[0]]
    with ctx.db.session() as session:
        stored = session.get(Brief, first.id)
        assert stored is not None and stored.payload == first.payload
        assert session.scalar(select(func.count()).select_from(Brief)) == 2


def test_a_brief_with_nothing_new_since_the_last_one_is_one_line(ctx: Context, clock: Clock) -> None:
    add(ctx, *LAVROV)
    build_brief(ctx, thread_id="russia-dprk", lang="en")
    since = clock.now
    clock.now += timedelta(hours=24)
    again = build_brief(ctx, thread_id="russia-dprk", lang="en", since=since)
    assert again.payload["empty"]
    assert render_text(again.payload).strip().endswith(f"since {since:%Y-%m-%d %H:%M} UTC.")


def test_offline_summaries_are_cached_by_member_set(ctx: Context, clock: Clock) -> None:
    add(ctx, *LAVROV)
    build_brief(ctx, thread_id="russia-dprk", lang="ar")
    build_brief(ctx, thread_id="russia-dprk", lang="en")
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SummaryRow)) == 2  # ar + en, once
    add(ctx, *LAVROV_EN, lang="en")
    payload = build_brief(ctx, thread_id="russia-dprk", lang="en").payload
    assert payload["stories"][0]["method"] == "offline"  # an English source now: extracted, no card
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SummaryRow)) == 4


# ---------------------------------------------------------------- LLM economy against the stand-in


def grounded_reply(request: dict[str, Any]) -> str:
    """A valid bilingual answer citing the first article of the request."""
    user = request["messages"][-1]["content"]
    first = re.search(r'<article id="(\d+)">', user)
    assert first is not None
    cite = [int(first.group(1))]
    return json.dumps(
        {
            "ar": {
                "headline": "محادثات بين البلدين",
                "bullets": [{"text": "بحث الجانبان العلاقات.", "cites": cite}],
            },
            "en": {
                "headline": "Talks between the two",
                "bullets": [{"text": "The sides discussed ties.", "cites": cite}],
            },
        },
        ensure_ascii=False,
    )


@pytest.fixture
def llm_ctx(tmp_path: Path, clock: Clock, openai_stub: OpenAIStub) -> Iterator[Context]:
    openai_stub.responder = grounded_reply
    context = make_context(
        tmp_path, clock, llm_base_url=openai_stub.base_url + "/v1", llm_model="stub-model", llm_max_retries=0
    )
    yield context
    llm = context.llm()
    if llm is not None:
        llm.close()
    context.db.dispose()


def test_one_call_per_new_story_covers_both_languages_and_a_rebuild_makes_none(
    llm_ctx: Context, openai_stub: OpenAIStub
) -> None:
    add(llm_ctx, *LAVROV)
    add(llm_ctx, *SHOIGU)
    arabic = build_brief(llm_ctx, thread_id="russia-dprk", lang="ar").payload
    assert len(arabic["stories"]) == 2 and {s["method"] for s in arabic["stories"]} == {"llm"}
    assert len(openai_stub.chat_requests()) == 2
    english = build_brief(llm_ctx, thread_id="russia-dprk", lang="en").payload
    build_brief(llm_ctx, thread_id="russia-dprk", lang="ar")
    assert len(openai_stub.chat_requests()) == 2
    assert english["stories"][0]["bullets"][0]["text"] == "The sides discussed ties."
    with llm_ctx.db.session() as session:
        outcomes = session.scalars(select(LLMCallLog.outcome)).all()
    assert outcomes == ["ok", "ok"]


def test_a_changed_story_is_summarized_again_once(llm_ctx: Context, openai_stub: OpenAIStub) -> None:
    add(llm_ctx, *LAVROV)
    build_brief(llm_ctx, thread_id="russia-dprk", lang="ar")
    add(llm_ctx, *LAVROV_EN, lang="en")
    build_brief(llm_ctx, thread_id="russia-dprk", lang="en")
    assert len(openai_stub.chat_requests()) == 2
    assert openai_stub.chat_requests()[-1]["messages"][-1]["content"].count("<article id=") == 2


def test_an_unreachable_endpoint_still_gives_a_brief_and_retries_next_time(
    tmp_path: Path, clock: Clock
) -> None:
    context = make_context(
        tmp_path, clock, llm_base_url="http://127.0.0.1:9/v1", llm_max_retries=0, llm_timeout=1
    )
    add(context, *LAVROV)
    payload = build_brief(context, thread_id="russia-dprk", lang="ar").payload
    assert payload["stories"][0]["method"] == "fallback"
    assert "تعذر" in render_text(payload)
    with context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SummaryRow)) == 0  # not cached: retried later
    context.db.dispose()
