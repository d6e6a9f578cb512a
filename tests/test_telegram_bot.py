"""The real PTB Application against the Bot API stand-in: readers, questions, admins, deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.chat.telegram.app import make_sender
from bot.context import Context
from bot.conversation.store import answer_key
from bot.delivery.outbox import enqueue_due
from bot.delivery.worker import deliver_once
from bot.ingest.catalog import add_source
from bot.runtime.ingest_cycle import ingest_due
from storage.db import Database
from storage.models import AuditLog, QALog, Setting, Source, Subscription
from tests.harness import buttons, polling, press, say, seed_threads, serve_pacific_wire, telegram_settings
from tests.servers.telegram_stub import FakeClock, TelegramStub, until
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
    settings = telegram_settings(
        tmp_path / "data",
        telegram_stub,
        telegram_admin_ids=[str(ADMIN)],
        telegram_rate_limit=1000,
        fetch_allowed_private_hosts=["127.0.0.1"],
    )
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        seed_threads(session)
        add_source(session, location=str(REPO / "seeds"), kind="file", actor="test")
    context = Context(settings=settings, db=db, clock=clock)
    await ingest_due(context)
    yield context
    db.dispose()


@pytest.fixture
async def app(ctx: Context) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    async with polling(ctx) as application:
        yield application


def _stored(ctx: Context, key: str) -> bool:
    with ctx.db.session() as session:
        return session.get(Setting, key) is not None


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
    parts = telegram_stub.messages(READER)[before:]
    brief = "\n".join(part.text for part in parts)  # one message, or several when it is long
    assert parts and brief.startswith("<b>Russia") and "Lavrov" in brief and "Sources" in brief
    await broadcast(ctx, clock, minutes=30)
    assert len(telegram_stub.messages(READER)) == before + len(parts)  # delivered once
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
    key = answer_key("telegram", str(READER), str(first.message_id))
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


async def test_admin_adds_a_feed_and_its_articles_reach_the_next_brief(
    app: Application,
    ctx: Context,
    clock: FakeClock,
    telegram_stub: TelegramStub,
    web_server: WebServer,  # type: ignore[type-arg]
) -> None:
    feed = serve_pacific_wire(web_server)
    await say(telegram_stub, ADMIN, "/subscribe russia-dprk en 07:00 Moscow")
    preview = await say(telegram_stub, ADMIN, f"/addsource {feed} russia-dprk")
    assert "Pacific Wire" in preview.text and "feed" in preview.text
    token = buttons(preview)[0]
    added = await press(telegram_stub, ADMIN, preview, token)
    assert "Added source" in added.text
    await ingest_due(ctx)
    before = len(telegram_stub.messages(ADMIN))
    await broadcast(ctx, clock, hours=1)
    brief = "\n".join(m.text for m in telegram_stub.messages(ADMIN)[before:])
    assert "drone" in brief.lower()
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
    # 601 kept only its confirmation; 602 got its confirmation and then the brief (in one part or more).
    assert len(telegram_stub.messages(601)) == 1 and len(telegram_stub.messages(602)) >= 2
    assert "Subscribed" in telegram_stub.messages(602)[0].text
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
    from bot.runtime.notices import notify_paused_sources

    with ctx.db.session() as session:
        source = session.scalars(select(Source)).one()
        source.paused, source.paused_reason = True, "5 consecutive failures: timeout"
    async with make_sender(ctx) as sender:
        assert await notify_paused_sources(ctx, [sender]) == 1
        assert await notify_paused_sources(ctx, [sender]) == 0
    [message] = telegram_stub.messages(ADMIN)
    assert "paused after repeated failures" in message.text and "timeout" in message.text


async def test_a_question_while_the_database_is_away_gets_an_apology_in_the_users_language(
    app: Application,  # type: ignore[type-arg]
    ctx: Context,
    telegram_stub: TelegramStub,
    tmp_path: Path,
) -> None:
    working = ctx.db
    ctx.db = Database(f"sqlite:///{tmp_path}/no-such-folder/newsbrief.db")  # every connect fails
    try:
        reply = await say(telegram_stub, READER, "متى التقى لافروف كيم جونغ أون؟", language_code="ar")
    finally:
        ctx.db = working
    assert "حدث خطأ" in reply.text
