"""Instant alerts, quiet hours, filters, channels and the weekly digest, sent through the outbox to the
Telegram stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.chat.telegram.sender import TelegramSender
from bot.context import Context
from bot.delivery import outbox
from bot.delivery.subscriptions import subscribe
from bot.delivery.worker import deliver_once
from bot.reader import alerts
from bot.reader.chat_settings import change_setting
from storage.db import Database
from storage.models import Article, ArticleThread, Delivery, Story, StoryArticle
from tests.harness import seed_threads, telegram_settings
from tests.servers.telegram_stub import FakeClock, TelegramStub, visible_text

T0 = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)  # Saturday, 06:00 in Moscow
THREAD = "russia-dprk"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ctx(db: Database, tmp_path: Path, clock: FakeClock, telegram_stub: TelegramStub) -> Iterator[Context]:
    settings = telegram_settings(tmp_path / "data", telegram_stub, telegram_rate_limit=1000,
                                 public_base_url="https://news.example")  # fmt: skip
    with db.session() as session:
        seed_threads(session)
    yield Context(settings=settings, db=db, clock=clock)


def article(
    ctx: Context, title: str, text: str, outlet: str, *, lang: str = "en", duplicate_of: int | None = None
) -> int:
    with ctx.db.session() as session:
        row = Article(
            title=title, text=text, lang=lang, outlet=outlet, url=f"https://{outlet}/{abs(hash(title)) % 10**8}",
            published_at=ctx.now(), fetched_at=ctx.now(), duplicate_of=duplicate_of,
            content_hash=hashlib.sha256(f"{title}{text}{outlet}".encode()).hexdigest(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.add(ArticleThread(article_id=row.id, thread_id=THREAD, score=1.0))
        return row.id


def story(ctx: Context, *members: int, entities: dict[str, int] | None = None) -> int:
    with ctx.db.session() as session:
        row = Story(thread_id=THREAD, created_at=ctx.now(), updated_at=ctx.now(), first_report_at=ctx.now(),
                    last_report_at=ctx.now(), entities=entities or {}, title="", member_count=len(members))  # fmt: skip
        session.add(row)
        session.flush()
        story_id = row.id
    for member in members:
        join(ctx, story_id, member)
    return story_id


def join(ctx: Context, story_id: int, article_id: int) -> None:
    with ctx.db.session() as session:
        session.add(
            StoryArticle(story_id=story_id, article_id=article_id, thread_id=THREAD, joined_at=ctx.now())
        )
        row = session.get(Story, story_id)
        assert row is not None
        row.updated_at = ctx.now()


def reported(ctx: Context, headline: str, outlets: list[str], *, lang: str = "en", **options: Any) -> int:
    """A story reported by these outlets (the same event, each outlet's own text)."""
    text = f"{headline}. Russian and North Korean officials met in Pyongyang on Saturday to discuss it."
    ids = [article(ctx, f"{headline} ({o})", f"{o}: {text}", o, lang=lang) for o in outlets]
    return story(ctx, *ids, **options)


def subscribe_chat(ctx: Context, chat: str, *settings: str, lang: str = "en", kind: str = "private") -> None:
    with ctx.db.session() as session:
        rows = subscribe(session, platform="telegram", chat_id=chat, thread_id=THREAD, lang=lang,
                         deliver_at="07:00", timezone="Europe/Moscow", now=ctx.now())  # fmt: skip
        for row in rows:
            row.chat_kind = kind
    for args in settings:
        with ctx.db.session() as session:
            change_setting(session, args, platform="telegram", chat_id=chat, now=ctx.now())


async def send(ctx: Context, clock: FakeClock) -> None:
    async with TelegramSender(ctx.settings, pool_size=4) as sender:
        await deliver_once(ctx, sender, clock=clock.monotonic, sleep=clock.sleep, concurrency=4)


def texts(stub: TelegramStub, chat: int) -> list[str]:
    """What the chat shows: markup removed, links' addresses kept after their text."""
    return [visible_text(m.text, m.parse_mode) + " " + " ".join(re.findall(r'href="([^"]+)"', m.text))
            for m in stub.messages(chat)]  # fmt: skip


def kinds(ctx: Context) -> list[tuple[str, str]]:
    with ctx.db.session() as session:
        return [(d.chat_id, d.kind) for d in session.scalars(select(Delivery).order_by(Delivery.id))]


async def test_an_alert_is_sent_once_and_later_reports_come_in_the_next_brief_as_an_update(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    subscribe_chat(ctx, "1", "cadence alerts")
    lone = reported(ctx, "Kim hosts Shoigu", ["wire.example"])
    assert alerts.scan(ctx).alerted == []  # one outlet: not corroborated
    original = article(ctx, "Kim hosts Shoigu (copy)", "copied wire text", "daily.example")
    with ctx.db.session() as session:  # a wire copy counts once, with its original
        session.get(Article, original).duplicate_of = session.scalars(  # type: ignore[union-attr]
            select(StoryArticle.article_id).where(StoryArticle.story_id == lone)
        ).first()
    join(ctx, lone, original)
    assert alerts.scan(ctx).alerted == []
    join(ctx, lone, article(ctx, "Shoigu in Pyongyang", "Shoigu met Kim in Pyongyang.", "other.example"))
    quiet = reported(ctx, "Lavrov visits Wonsan", ["a.example", "b.example"])
    report = alerts.scan(ctx)
    assert sorted(report.alerted) == [lone, quiet] and report.deliveries == 2
    await send(ctx, clock)
    sent = texts(telegram_stub, 1)
    assert len(sent) == 2 and all(t.startswith("Alert: ") for t in sent)
    assert any("Shoigu" in t for t in sent)
    assert all(
        "https://news.example/stories/" in t for t in sent
    )  # the link to the story's page  # the link to the story's page

    clock.advance(minutes=10)
    join(ctx, lone, article(ctx, "Shoigu leaves Pyongyang", "A later report.", "third.example"))
    assert alerts.scan(ctx).alerted == [] and alerts.scan(ctx).deliveries == 0  # never pushed again
    await send(ctx, clock)
    assert len(texts(telegram_stub, 1)) == 2

    clock.advance(hours=1)  # 07:10 in Moscow: the daily brief
    assert len(outbox.enqueue_due(ctx)) == 1
    await send(ctx, clock)
    brief = texts(telegram_stub, 1)[2]
    assert "Update: " in brief and "Shoigu" in brief, brief
    assert "Lavrov" not in brief  # alerted and nothing new since


async def test_past_the_daily_cap_the_reader_is_told_once_and_the_rest_wait_for_the_brief(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    ctx.settings.alert_max_per_day = 1
    subscribe_chat(ctx, "2", "alerts on")
    for n in range(3):
        reported(ctx, f"Event number {n}", ["a.example", "b.example"])
        alerts.scan(ctx)
    await send(ctx, clock)
    sent = texts(telegram_stub, 2)  # the alert and the notice (rows of one chat may go out in either order)
    assert len(sent) == 2 and sum("The rest will come in your next brief" in t for t in sent) == 1
    clock.advance(hours=1)
    outbox.enqueue_due(ctx)
    await send(ctx, clock)
    brief = texts(telegram_stub, 2)[2]
    assert "Event number 1" in brief and "Event number 2" in brief and "Event number 0" not in brief


async def test_an_official_source_of_a_party_corroborates_on_its_own(ctx: Context) -> None:
    subscribe_chat(ctx, "3", "alerts on")
    sid = story(ctx, article(ctx, "KCNA says Kim received a Russian delegation", "Pyongyang, July 12 (KCNA) -- "
                             "Kim Jong Un received the delegation, KCNA said.", "kcna.example"))  # fmt: skip
    report = alerts.scan(ctx)
    assert report.alerted == [sid]
    with ctx.db.session() as session:
        from storage.models import StoryAlert

        alert = session.get(StoryAlert, sid)
        assert alert is not None and alert.reason == "official:kcna"


async def test_quiet_hours_hold_alerts_and_release_them_as_one_message(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    subscribe_chat(ctx, "4", "alerts on", "quiet 22:00-06:30")  # it is 06:00 in Moscow
    reported(ctx, "First quiet story", ["a.example", "b.example"])
    reported(ctx, "Second quiet story", ["c.example", "d.example"])
    report = alerts.scan(ctx)
    assert report.held == 2 and report.deliveries == 0
    await send(ctx, clock)
    assert texts(telegram_stub, 4) == []
    clock.advance(minutes=20)  # 06:20: still quiet
    assert alerts.release_held(ctx) == 0
    clock.advance(minutes=15)  # 06:35
    assert alerts.scan(ctx).released == 1
    assert alerts.release_held(ctx) == 0
    await send(ctx, clock)
    (message,) = texts(telegram_stub, 4)
    assert "quiet hours" in message and "First quiet story" in message and "Second quiet story" in message


async def test_a_filter_on_an_english_name_catches_its_arabic_alias(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    subscribe_chat(ctx, "5", "alerts on", "include Shoigu", lang="ar")
    subscribe_chat(ctx, "6", "alerts on", "include Wonsan", lang="ar")
    subscribe_chat(ctx, "7", "alerts on", "exclude شويجو", lang="ar")
    reported(ctx, "شويغو يصل إلى بيونغ يانغ", ["alarabiya.example", "aljazeera.example"], lang="ar")
    alerts.scan(ctx)
    await send(ctx, clock)
    assert len(texts(telegram_stub, 5)) == 1 and "شويغو" in texts(telegram_stub, 5)[0]
    assert texts(telegram_stub, 6) == [] and texts(telegram_stub, 7) == []


async def test_a_telegram_channel_subscribes_to_alerts_and_briefs(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    channel = "-1001234567890"
    subscribe_chat(ctx, channel, "cadence alerts", kind="channel")
    reported(ctx, "Channel story", ["a.example", "b.example"])
    alerts.scan(ctx)
    clock.advance(hours=1)
    outbox.enqueue_due(ctx)
    assert kinds(ctx) == [(channel, "alert"), (channel, "brief")]
    await send(ctx, clock)
    sent = texts(telegram_stub, int(channel))
    assert len(sent) == 2 and sum(t.startswith("Alert: ") and "Channel story" in t for t in sent) == 1


async def test_a_weekly_digest_is_one_message_of_the_weeks_top_stories(
    ctx: Context, clock: FakeClock, telegram_stub: TelegramStub
) -> None:
    ctx.settings.weekly_max_stories = 3
    subscribe_chat(ctx, "8", "cadence weekly mon")
    for n in range(5):
        outlets = [f"o{k}.example" for k in range(n + 1)]  # story n has n+1 outlets
        reported(ctx, f"Weekly story {n}", outlets)
    clock.advance(hours=1)  # Saturday 07:00: a weekly subscription is not due
    assert outbox.enqueue_due(ctx) == []
    clock.advance(days=2)  # Monday 07:00 in Moscow
    assert len(outbox.enqueue_due(ctx)) == 1
    assert kinds(ctx) == [("8", "weekly")]
    await send(ctx, clock)
    (digest,) = texts(telegram_stub, 8)
    assert digest.startswith("Russia")
    assert "the week to 2025-07-14" in digest
    assert [n for n in range(5) if f"Weekly story {n}" in digest] == [2, 3, 4]  # most corroborated


def test_alerts_wait_for_nothing_when_nobody_subscribed(ctx: Context) -> None:
    reported(ctx, "Nobody listens", ["a.example", "b.example"])
    report = alerts.scan(ctx)
    assert len(report.alerted) == 1 and report.deliveries == 0
    assert alerts.scan(ctx).alerted == []  # and it is never alerted again, even to later subscribers
    assert datetime.now(UTC) - timedelta(days=1) < datetime.now(UTC)
