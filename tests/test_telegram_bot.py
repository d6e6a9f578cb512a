"""The real PTB Application against the Bot API stand-in: readers, questions, admins, deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from telegram.ext import Application

from bot.catalog import add_source
from bot.chat.telegram.app import build_application, make_sender
from bot.chat.telegram.handlers import conversation_key
from bot.config import Settings
from bot.context import Context
from bot.delivery.outbox import enqueue_due
from bot.delivery.worker import deliver_once
from bot.service import ingest_due
from bot.threads import load_threads
from storage.db import Database
from storage.models import AuditLog, QALog, Setting, Source, Subscription, Thread
from tests.servers.telegram_stub import TOKEN, FakeClock, Sent, TelegramStub, until
from tests.servers.web import WebServer

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 7, 14, 3, 0, tzinfo=UTC)  # 06:00 in Moscow
ADMIN = 9001
READER = 501


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def ctx(tmp_path: Path, clock: FakeClock, telegram_stub: TelegramStub) -> AsyncIterator[Context]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        embedder="none",
        telegram_bot_token=SecretStr(TOKEN),
        telegram_base_url=telegram_stub.base_url,
        telegram_base_file_url=telegram_stub.base_file_url,
        telegram_admin_ids=[str(ADMIN)],
        telegram_rate_limit=1000,
        fetch_allowed_private_hosts=["127.0.0.1"],
    )
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        for t in load_threads(REPO / "seeds" / "threads.toml"):
            session.add(Thread(id=t.id, name_en=t.name_en, name_ar=t.name_ar, definition=t.to_dict()))
        add_source(session, location=str(REPO / "seeds"), kind="file", actor="test")
    context = Context(settings=settings, db=db, clock=clock)
    await ingest_due(context)
    yield context
    db.dispose()


@pytest.fixture
async def app(ctx: Context) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = build_application(ctx)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def say(stub: TelegramStub, chat: int, text: str, **options: Any) -> Sent:
    """Write to the bot and wait for its next message in that chat."""
    before = len(stub.messages(chat))
    stub.send_text(chat_id=chat, text=text, **options)
    await until(lambda: len(stub.messages(chat)) > before)
    return stub.messages(chat)[before]


async def press(stub: TelegramStub, chat: int, message: Sent, data: str, **options: Any) -> Sent:
    """Press a button of `message` and wait for the bot's next message or edit in that chat."""
    assert data in buttons(message), (data, buttons(message))
    before = len(stub.messages(chat))
    stub.press(chat_id=chat, data=data, message_id=message.message_id, **options)
    await until(lambda: len(stub.messages(chat)) > before)
    return stub.messages(chat)[before]


def _stored(ctx: Context, key: str) -> bool:
    with ctx.db.session() as session:
        return session.get(Setting, key) is not None


def buttons(message: Sent) -> list[str]:
    markup = message.reply_markup or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def broadcast(ctx: Context, clock: FakeClock, **after: float) -> None:
    """Time passes to the due moment; the scheduler's one-shot jobs run."""
    clock.advance(**after)
    enqueue_due(ctx)
    async with make_sender(ctx, pool_size=4) as sender:
        await deliver_once(ctx, sender, clock=clock.monotonic, sleep=clock.sleep)


async def test_start_language_subscribe_then_brief_arrives_at_due_time(
    app: Application,
    ctx: Context,
    clock: FakeClock,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    welcome = await say(telegram_stub, READER, "/start", language_code="ar")
    assert "اختر لغتك" in welcome.text and buttons(welcome) == ["lang|ar", "lang|en"]
    chosen = await press(telegram_stub, READER, welcome, "lang|en")
    assert chosen.method == "editMessageText" and "Interface language: English" in chosen.text

    step = await say(telegram_stub, READER, "/subscribe")
    step = await press(telegram_stub, READER, step, "s|russia-dprk||")
    step = await press(telegram_stub, READER, step, "s|russia-dprk|en|")
    step = await press(telegram_stub, READER, step, "s|russia-dprk|en|07:00")
    done = await press(telegram_stub, READER, step, "s|russia-dprk|en|07:00|Europe/Moscow")
    assert "Subscribed" in done.text and "2025-07-14 04:00 UTC" in done.text

    before = len(telegram_stub.messages(READER))
    await broadcast(ctx, clock, minutes=30)
    assert len(telegram_stub.messages(READER)) == before  # not due yet: nothing sent
    await broadcast(ctx, clock, minutes=30)
    brief = telegram_stub.messages(READER)[before]
    assert brief.text.startswith("<b>Russia") and "Lavrov" in brief.text and "Sources" in brief.text
    await broadcast(ctx, clock, minutes=30)
    assert len(telegram_stub.messages(READER)) == before + 1  # delivered once
    assert telegram_stub.state.rejected == []


async def test_subscribe_takes_every_argument_as_text(
    app: Application,
    ctx: Context,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    done = await say(telegram_stub, READER, "/subscribe saudi-russia both 7:30 New York")
    assert "Subscribed" in done.text
    with ctx.db.session() as session:
        rows = session.scalars(select(Subscription).order_by(Subscription.lang)).all()
        assert [(r.lang, r.deliver_at, r.timezone) for r in rows] == [
            ("ar", "07:30", "America/New_York"),
            ("en", "07:30", "America/New_York"),
        ]
    refused = await say(telegram_stub, READER, "/subscribe saudi-russia en 07:00 Mars/Base")
    assert "time zone" in refused.text


async def test_group_subscriptions_are_changed_by_its_admins_only(
    app: Application,
    ctx: Context,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    group = -100777
    refused = await say(telegram_stub, group, "/subscribe russia-dprk ar 08:00 Riyadh", user_id=READER)
    assert "administrators" in refused.text
    telegram_stub.make_admin(group, READER)
    done = await say(telegram_stub, group, "/subscribe russia-dprk ar 08:00 Riyadh", user_id=READER)
    assert "تم الاشتراك" not in done.text and "Subscribed" in done.text  # the reader's Telegram language
    with ctx.db.session() as session:
        assert [s.chat_id for s in session.scalars(select(Subscription))] == [str(group)]


async def test_question_then_follow_up_in_the_reply_chain(
    app: Application,
    ctx: Context,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    first = await say(telegram_stub, READER, "متى التقى لافروف كيم جونغ أون؟")
    assert "12 يوليو" in first.text and "المصادر" in first.text
    key = conversation_key(READER, first.message_id)
    await until(lambda: _stored(ctx, key))  # the bot files its answer once Telegram has accepted it
    follow = await say(telegram_stub, READER, "أين التقاه؟", reply_to=first.message_id)
    assert "وونسان" in follow.text
    with ctx.db.session() as session:
        rows = session.scalars(select(QALog).order_by(QALog.id)).all()
    assert len(rows) == 2 and rows[0].conversation_id == rows[1].conversation_id
    other = await say(telegram_stub, READER, "/ask When did Lavrov meet Kim Jong Un?")
    assert other.text
    with ctx.db.session() as session:
        assert (
            session.scalars(select(QALog).order_by(QALog.id.desc())).first().conversation_id
            != rows[0].conversation_id
        )  # type: ignore[union-attr]


async def test_non_admin_addsource_is_refused_and_audited(
    app: Application,
    ctx: Context,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    answer = await say(telegram_stub, READER, "/addsource https://example.com/feed.xml")
    assert "administrators only" in answer.text
    with ctx.db.session() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.allowed.is_(False))).one()
        assert (entry.actor, entry.action, entry.target) == (
            f"telegram:{READER}",
            "source.add",
            "https://example.com/feed.xml",
        )
        assert session.scalars(select(Source)).all()[-1].location.endswith("seeds")
    for command in ("/removesource 1", "/pausesource 1", "/stats"):
        assert "administrators only" in (await say(telegram_stub, READER, command)).text


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Pacific Wire</title><link>{base}/</link><description>wire</description>
<item><title>Shoigu and Kim sign a drone plant deal in Pyongyang</title><link>{base}/story1.html</link>
<guid>{base}/story1.html</guid><pubDate>Mon, 14 Jul 2025 05:00:00 GMT</pubDate>
<description>Russian Security Council secretary Sergei Shoigu met North Korean leader Kim Jong Un in Pyongyang
and signed an agreement to build a drone plant, Pacific Wire reports.</description></item>
</channel></rss>"""

PAGE = """<html><head><title>Shoigu and Kim sign a drone plant deal</title></head><body><article>
<h1>Shoigu and Kim sign a drone plant deal in Pyongyang</h1>
<p>Russian Security Council secretary Sergei Shoigu met North Korean leader Kim Jong Un in Pyongyang on Monday
and signed an agreement to build a drone plant, according to officials in Moscow.</p>
<p>The plant will produce 5,000 drones a year, the Russian side said, deepening the partnership between Moscow
and Pyongyang that has grown since the two countries signed a mutual defence treaty.</p>
</article></body></html>"""


async def test_admin_adds_a_feed_and_its_articles_reach_the_next_brief(
    app: Application,
    ctx: Context,
    clock: FakeClock,
    telegram_stub: TelegramStub,
    web_server: WebServer,  # type: ignore[type-arg]
) -> None:
    base = web_server.base_url.rstrip("/")
    feed = web_server.add("/feed.xml", FEED.format(base=base).encode(), content_type="application/rss+xml")
    web_server.add("/story1.html", PAGE.encode(), content_type="text/html; charset=utf-8")
    await say(telegram_stub, ADMIN, "/subscribe russia-dprk en 07:00 Moscow")
    preview = await say(telegram_stub, ADMIN, f"/addsource {feed} russia-dprk")
    assert "Pacific Wire" in preview.text and "feed" in preview.text
    token = buttons(preview)[0]
    added = await press(telegram_stub, ADMIN, preview, token)
    assert "Added source" in added.text
    await ingest_due(ctx)
    await broadcast(ctx, clock, hours=1)
    brief = telegram_stub.messages(ADMIN)[-1]
    print(brief.text)
    assert "drone" in brief.text.lower()
    with ctx.db.session() as session:
        assert (
            session.scalars(select(AuditLog.action).where(AuditLog.allowed.is_(True))).all()[-1]
            == "source.add"
        )


async def test_blocked_chat_loses_its_subscriptions_and_others_still_receive(
    app: Application,
    ctx: Context,
    clock: FakeClock,
    telegram_stub: TelegramStub,  # type: ignore[type-arg]
) -> None:
    for chat in (601, 602):
        await say(telegram_stub, chat, "/subscribe russia-dprk ar 07:00 Europe/Moscow")
    telegram_stub.fail("sendMessage", 403, chat_id=601)
    await broadcast(ctx, clock, hours=1)
    assert len(telegram_stub.messages(601)) == 1 and len(telegram_stub.messages(602)) == 2
    with ctx.db.session() as session:
        assert [
            s.chat_id for s in session.scalars(select(Subscription).where(Subscription.active.is_(True)))
        ] == ["602"]


async def test_settings_unsubscribe_sources_and_stats(
    app: Application,  # type: ignore[type-arg]
    ctx: Context,
    telegram_stub: TelegramStub,
) -> None:
    await say(telegram_stub, ADMIN, "/subscribe russia-dprk both 07:00 Seoul")
    shown = await say(telegram_stub, ADMIN, "/settings")
    assert "Asia/Seoul" in shown.text and len([b for b in buttons(shown) if b.startswith("u|")]) == 2
    menu = await say(telegram_stub, ADMIN, "/unsubscribe")
    ended = await press(telegram_stub, ADMIN, menu, "u|all")
    assert "Ended 2" in ended.text
    sources = await say(telegram_stub, ADMIN, "/sources")
    assert "seeds" in sources.text and "✓" in sources.text  # admins see health
    stats = await say(telegram_stub, ADMIN, "/stats")
    assert "Subscriptions: 0" in stats.text


async def test_a_source_that_paused_itself_is_reported_to_admins_once(
    app: Application,  # type: ignore[type-arg]
    ctx: Context,
    telegram_stub: TelegramStub,
) -> None:
    from bot.chat.telegram.handlers import report_paused_sources

    with ctx.db.session() as session:
        source = session.scalars(select(Source)).one()
        source.paused, source.paused_reason = True, "5 consecutive failures: timeout"
    assert await report_paused_sources(ctx, app.bot) == 1
    assert await report_paused_sources(ctx, app.bot) == 0
    [message] = telegram_stub.messages(ADMIN)
    assert "paused after repeated failures" in message.text and "timeout" in message.text
