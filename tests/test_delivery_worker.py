"""The outbox and the paced worker against the Telegram stand-in, on a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.briefs.compose import Member, StoryEntry, compose
from bot.chat.telegram.sender import TelegramSender, telegram_limits
from bot.context import Context
from bot.delivery import outbox
from bot.delivery.outbox import Progress
from bot.delivery.subscriptions import list_subscriptions, subscribe
from bot.delivery.worker import ChatPacer, DeliveryWorker, TokenBucket
from bot.summarize import Bullet, Summary
from storage.db import Database
from storage.models import Brief, Delivery, Subscription
from tests.harness import seed_threads, telegram_settings
from tests.servers.telegram_stub import FakeClock, TelegramStub

T0 = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)  # 06:00 in Moscow and Riyadh


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ctx(tmp_path: Path, clock: FakeClock, telegram_stub: TelegramStub) -> Iterator[Context]:
    settings = telegram_settings(tmp_path / "data", telegram_stub, telegram_rate_limit=1000)
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        seed_threads(session)
    yield Context(settings=settings, db=db, clock=clock)
    db.dispose()


@pytest.fixture
async def sender(ctx: Context) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(ctx.settings, pool_size=4) as telegram:
        yield telegram


def worker(ctx: Context, sender: TelegramSender, clock: FakeClock, **options: Any) -> DeliveryWorker:
    return DeliveryWorker(ctx, sender, clock=clock.monotonic, sleep=clock.sleep, concurrency=4, **options)


def subscribe_chats(
    ctx: Context, chats: list[int], *, at: str = "07:00", zone: str = "Europe/Moscow"
) -> None:
    with ctx.db.session() as session:
        for chat in chats:
            subscribe(session, platform="telegram", chat_id=str(chat), thread_id="russia-dprk", lang="en",
                      deliver_at=at, timezone=zone, now=ctx.now())  # fmt: skip


def deliveries(ctx: Context) -> list[Delivery]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def long_payload(stories: int = 40) -> dict[str, Any]:
    entries = []
    for n in range(1, stories + 1):
        members = [Member(n * 10, "TASS <wire>", f"https://tass.example/a{n}?x=1&y=2", "t", "en")]
        text = f"Lavrov & Kim said <b>nothing</b> new in round {n}. " * 8
        summary = Summary("en", f"Story {n} & more", (Bullet(text, (n * 10,)),), "offline")
        entries.append(StoryEntry(n, summary, members, T0, T0, 0))
    return compose(thread_id="russia-dprk", thread_name="Russia–DPRK", lang="en", as_of=T0, since=None,
                   entries=entries, max_stories=stories)  # fmt: skip


def queue_brief(ctx: Context, payload: dict[str, Any], chats: list[int]) -> list[int]:
    with ctx.db.session() as session:
        brief = Brief(thread_id="russia-dprk", lang="en", since=None, as_of=T0, payload=payload)
        session.add(brief)
        session.flush()
        rows = [Delivery(key=f"test:{chat}", brief_id=brief.id, platform="telegram", chat_id=str(chat))
                for chat in chats]  # fmt: skip
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


# ---------------------------------------------------------------- the outbox


def test_older_progress_written_late_never_undoes_a_later_one(ctx: Context) -> None:
    first, second = queue_brief(ctx, long_payload(3), [401, 402])
    outbox.record_progress(
        ctx, [Progress(first, 3, 3, True, ctx.now()), Progress(second, 2, 3, False, ctx.now())]
    )
    # Kept through a database blip, then written after the rows moved on:
    outbox.record_progress(
        ctx, [Progress(first, 2, 3, False, ctx.now()), Progress(second, 1, 3, False, ctx.now())]
    )
    rows = {r.id: (r.status, r.parts_sent) for r in deliveries(ctx)}
    assert rows == {first: ("sent", 3), second: ("pending", 2)}


def test_due_subscription_gets_one_row_written_before_sending(ctx: Context, clock: FakeClock) -> None:
    subscribe_chats(ctx, [1, 2])
    assert outbox.enqueue_due(ctx) == []  # 06:00 Moscow: not due yet
    clock.advance(hours=1)
    created = outbox.enqueue_due(ctx)
    assert len(created) == 2
    assert outbox.enqueue_due(ctx) == []  # the same due time never twice
    rows = deliveries(ctx)
    assert {r.status for r in rows} == {"pending"} and {r.chat_id for r in rows} == {"1", "2"}
    assert rows[0].key.endswith("2025-07-12T04:00Z")
    with ctx.db.session() as session:
        views = list_subscriptions(session)
    assert {v.next_due_at for v in views} == {datetime(2025, 7, 13, 4, 0, tzinfo=UTC)}


def test_restart_after_missed_days_delivers_late_once(ctx: Context, clock: FakeClock) -> None:
    subscribe_chats(ctx, [1])
    clock.advance(days=3)  # the process was down through three due times
    assert len(outbox.enqueue_due(ctx)) == 1
    assert outbox.enqueue_due(ctx) == []
    with ctx.db.session() as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.next_due_at is not None and sub.next_due_at > clock.now
        assert sub.last_brief_at == clock.now


def test_unique_key_refuses_a_second_row_for_the_same_due_time(ctx: Context, clock: FakeClock) -> None:
    subscribe_chats(ctx, [1])
    clock.advance(hours=1)
    with ctx.db.session() as session:
        sub = session.scalars(select(Subscription)).one()
        due = sub.next_due_at
        assert due is not None
        key = outbox.delivery_key("telegram", sub.id, due)
    outbox.enqueue_due(ctx)
    with ctx.db.session() as session:  # as if a second process had raced to enqueue it
        sub = session.scalars(select(Subscription)).one()
        sub.next_due_at = due
    assert outbox.enqueue_due(ctx) == []
    assert [r.key for r in deliveries(ctx)] == [key]


# ---------------------------------------------------------------- sending


async def test_due_brief_reaches_every_chat_once(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    subscribe_chats(ctx, [11, 12, 13])
    clock.advance(hours=1)
    outbox.enqueue_due(ctx)
    w = worker(ctx, sender, clock)
    await w.run_once()
    assert w.stats.sent == 3
    assert sorted(m.chat_id for m in telegram_stub.messages()) == [11, 12, 13]
    assert telegram_stub.messages(11)[0].parse_mode == "HTML"
    assert {r.status for r in deliveries(ctx)} == {"sent"}
    assert await worker(ctx, sender, clock).run_once() == 0  # nothing is sent twice


async def test_long_brief_is_sent_in_valid_parts_with_progress(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    queue_brief(ctx, long_payload(), [21])
    await worker(ctx, sender, clock).run_once()
    row = deliveries(ctx)[0]
    assert row.status == "sent" and row.parts_total > 1 and row.parts_sent == row.parts_total
    sent = telegram_stub.messages(21)
    assert len(sent) == row.parts_total and telegram_stub.state.rejected == []
    assert '<a href="https://tass.example/a40?x=1&amp;y=2">[1]</a>' in sent[0].text
    assert "TASS &lt;wire&gt;" in sent[0].text


async def test_interrupted_delivery_resumes_after_its_last_sent_part(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    [delivery_id] = queue_brief(ctx, long_payload(), [22])
    with ctx.db.session() as session:  # a crash after part 1, its lease long expired
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.status, row.parts_sent, row.lease_until = "sending", 1, T0 - timedelta(minutes=5)
    await worker(ctx, sender, clock).run_once()
    row = deliveries(ctx)[0]
    assert row.status == "sent" and len(telegram_stub.messages(22)) == row.parts_total - 1


async def test_a_live_lease_keeps_others_away(ctx: Context, clock: FakeClock, sender: TelegramSender) -> None:
    queue_brief(ctx, long_payload(2), [23])
    assert len(outbox.claim(ctx, platform="telegram", lease=60)) == 1
    assert await worker(ctx, sender, clock).run_once() == 0
    clock.advance(seconds=61)
    assert await worker(ctx, sender, clock).run_once() == 1


async def test_429_storm_loses_nothing(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    chats = list(range(100, 120))
    queue_brief(ctx, long_payload(3), chats)
    telegram_stub.fail("sendMessage", 429, retry_after=7, times=60)
    w = worker(ctx, sender, clock)
    await w.run_once()
    assert w.stats.retried_429 == 60
    assert {r.status for r in deliveries(ctx)} == {"sent"}
    assert sorted({m.chat_id for m in telegram_stub.messages()}) == chats
    assert len(telegram_stub.messages()) == len(chats)
    assert clock.ticks >= 7  # everybody waited out retry_after (on the fake clock)


async def test_a_429_pause_longer_than_the_lease_keeps_every_held_row_from_other_workers(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    chats = list(range(300, 320))
    queue_brief(ctx, long_payload(1), chats)
    telegram_stub.fail("sendMessage", 429, retry_after=120, times=1)
    stolen: list[int] = []

    async def sleep_then_look(seconds: float) -> None:
        await clock.sleep(seconds)
        if seconds >= 120:  # another process claims while this worker waits out the 429
            stolen.extend(c.id for c in outbox.claim(ctx, platform="telegram", lease=60))

    w = DeliveryWorker(ctx, sender, clock=clock.monotonic, sleep=sleep_then_look, concurrency=4, lease=60)
    await w.run_once()
    assert stolen == []
    assert len(telegram_stub.messages()) == len(chats)
    assert {r.status for r in deliveries(ctx)} == {"sent"}


async def test_403_ends_that_chats_subscriptions_only(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    subscribe_chats(ctx, [31, 32])
    clock.advance(hours=1)
    outbox.enqueue_due(ctx)
    telegram_stub.fail("sendMessage", 403, chat_id=31)
    w = worker(ctx, sender, clock)
    await w.run_once()
    assert w.stats.chats_gone == 1
    with ctx.db.session() as session:
        assert [v.chat_id for v in list_subscriptions(session)] == ["32"]
    statuses = {r.chat_id: r.status for r in deliveries(ctx)}
    assert statuses == {"31": "cancelled", "32": "sent"}
    assert [m.chat_id for m in telegram_stub.messages()] == [32]


async def test_5xx_retries_with_backoff_until_sent(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    queue_brief(ctx, long_payload(1), [41])
    telegram_stub.fail("sendMessage", 502, times=2)
    for _ in range(2):
        await worker(ctx, sender, clock).run_once()
        row = deliveries(ctx)[0]
        assert row.status == "pending" and row.next_attempt_at is not None and row.next_attempt_at > clock.now
        assert await worker(ctx, sender, clock).run_once() == 0  # not before its backoff
        clock.advance(minutes=10)
    await worker(ctx, sender, clock).run_once()
    row = deliveries(ctx)[0]
    assert row.status == "sent" and row.attempts == 2 and len(telegram_stub.messages(41)) == 1


async def test_persistent_5xx_gives_up_with_the_reason(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    queue_brief(ctx, long_payload(1), [42])
    telegram_stub.fail("sendMessage", 500, times=3)
    for _ in range(3):
        await worker(ctx, sender, clock, max_attempts=3).run_once()
        clock.advance(hours=1)
    row = deliveries(ctx)[0]
    assert row.status == "failed" and "gave up after 3 attempts" in (row.last_error or "")


async def test_stopping_gives_unsent_rows_back(
    ctx: Context, clock: FakeClock, sender: TelegramSender, telegram_stub: TelegramStub
) -> None:
    queue_brief(ctx, long_payload(1), list(range(500, 540)))
    w = worker(ctx, sender, clock)
    original = sender.send

    async def send_then_stop(chat_id: str, part: Any) -> None:
        await original(chat_id, part)
        if len(telegram_stub.messages()) >= 5 and not w.stopping:
            await w.stop()

    sender.send = send_then_stop  # type: ignore[method-assign]
    await w.run_once()
    rows = deliveries(ctx)
    sent = [r for r in rows if r.status == "sent"]
    assert 5 <= len(sent) < 40 and len(telegram_stub.messages()) == len(sent)
    assert all(r.status == "pending" and r.lease_until is None for r in rows if r.status != "sent")


# ---------------------------------------------------------------- pacing (fake time)


async def test_bucket_keeps_the_overall_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(10, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(101):
        await bucket.acquire()
    assert 9.5 <= clock.ticks <= 10.5


async def test_pacer_spaces_one_chat_and_caps_a_group_per_minute(clock: FakeClock) -> None:
    pacer = ChatPacer(telegram_limits(100), clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(5):
        await pacer.wait("7")
    assert clock.ticks == 4.0
    start = clock.ticks
    for _ in range(21):
        await pacer.wait("-100")
    assert clock.ticks - start >= 60
