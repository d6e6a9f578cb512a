"""Interactive replies under 429 storms: no answer is lost, none doubled, and the broadcast beside them too.

Telegram: the stand-in refuses every fifth sendMessage with 429 retry_after 1, whoever sends it; 200
users send /subscribe (long polling, the production Application with its rate limiter hook) while the
outbox worker broadcasts a three-part brief to the same 200 chats, both spending one budget. Waits
(retry_after, pacing, backoff) run on a FakeClock, which also stamps every attempt the stand-in sees, so
"waited at least retry_after" is checked on the same clock the waits run on.

Slack: the Web API stand-in answers every third chat.postMessage with 429 and Retry-After: 1; every
mention is answered exactly once, in its thread (slack_sdk's handler waits out the 429s).

Both on SQLite and PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.chat.telegram.sender import TelegramSender
from bot.context import Context
from bot.delivery.budget import local_budget
from bot.delivery.worker import DeliveryWorker, Limits
from storage.db import Database
from storage.models import Brief, Delivery, Subscription
from tests.harness import polling, seed_threads, telegram_settings
from tests.servers.slack_stub import BOT_USER_ID, SlackStub, slack_harness, slack_settings
from tests.servers.telegram_stub import Attempt, FakeClock, TelegramStub, until
from tests.test_faults_chat import payload

T0 = datetime(2025, 7, 14, 3, 0, tzinfo=UTC)
USERS = 200
RETRY_AFTER = 1
SUBSCRIBE = "/subscribe russia-dprk en 07:00 Europe/Moscow"
CONFIRMATION = "Subscribed: "
CONCURRENCY = 8


def queue_brief(ctx: Context, chats: list[int]) -> list[str]:
    """A three-part brief queued in the outbox for every chat; its parts, in order."""
    brief = payload(12)
    with ctx.db.session() as session:
        row = Brief(thread_id="russia-dprk", lang="en", since=None, as_of=T0, payload=brief)
        session.add(row)
        session.flush()
        session.add_all(
            Delivery(
                key=f"storm:{chat}",
                brief_id=row.id,
                platform="telegram",
                chat_id=str(chat),
                next_attempt_at=T0,
            )
            for chat in chats
        )
    return [str(part) for part in TelegramSender(ctx.settings).render(brief)]


def retries(attempts: list[Attempt]) -> Iterator[tuple[Attempt, Attempt | None]]:
    """Each refused attempt and the next attempt of the same message to the same chat (None if none)."""
    for index, refused in enumerate(attempts):
        if refused.status == 429:
            again = (
                a for a in attempts[index + 1 :] if (a.chat_id, a.text) == (refused.chat_id, refused.text)
            )
            yield refused, next(again, None)


async def test_under_a_429_on_every_fifth_send_200_subscribers_get_one_confirmation_each_and_the_broadcast_once(
    db: Database, tmp_path: Path, telegram_stub: TelegramStub
) -> None:
    clock = FakeClock(T0)
    settings = telegram_settings(tmp_path / "data", telegram_stub)
    with db.session() as session:
        seed_threads(session)
    ctx = Context(settings=settings, db=db, clock=clock)
    chats = [7000 + n for n in range(USERS)]
    parts = queue_brief(ctx, chats)
    assert len(parts) == 3
    # One budget, as `newsbrief run` builds it: replies and the broadcast share its rate and chat pacing.
    budget = local_budget(Limits(rate=settings.telegram_rate_limit), clock=clock.monotonic, sleep=clock.sleep)
    telegram_stub.clock = clock.monotonic
    telegram_stub.refuse_every("sendMessage", 5, retry_after=RETRY_AFTER)

    async with polling(ctx, budget=budget, sleep=clock.sleep), TelegramSender(settings, pool_size=CONCURRENCY) as sender:  # fmt: skip
        worker = DeliveryWorker(ctx, sender, budget=budget, concurrency=CONCURRENCY, clock=clock.monotonic,
                                sleep=clock.sleep)  # fmt: skip
        broadcast = asyncio.create_task(worker.run_once())
        for chat in chats:
            telegram_stub.send_text(chat_id=chat, text=SUBSCRIBE)
        await until(
            lambda: sum(CONFIRMATION in m.text for m in telegram_stub.messages()) >= USERS, timeout=120
        )
        await asyncio.wait_for(broadcast, 120)

    for chat in chats:
        texts = [m.text for m in telegram_stub.messages(chat)]
        assert sum(CONFIRMATION in text for text in texts) == 1, f"chat {chat}: {texts}"
        assert [text for text in texts if CONFIRMATION not in text] == parts, f"chat {chat}"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == USERS
        assert set(session.scalars(select(Delivery.status))) == {"sent"}
    assert worker.stats.failed == 0 and worker.stats.retried_429 > 0

    attempts = telegram_stub.state.attempts
    refused = [a for a in attempts if a.status == 429]
    assert any(CONFIRMATION in a.text for a in refused) and any(a.text in parts for a in refused)
    for first, again in retries(attempts):
        assert again is not None, f"never retried: {first}"
        assert again.at - first.at >= RETRY_AFTER, f"retried {again.at - first.at:.2f} s after a 429"
    # Replies and the broadcast ran side by side: a confirmation went out before the brief's last part.
    last_part = max(a.at for a in attempts if a.text in parts)
    assert min(a.at for a in attempts if CONFIRMATION in a.text) < last_part
    metrics = ctx.metrics.render().decode()
    assert 'newsbrief_replies_total{outcome="retried_429",platform="telegram"}' in metrics
    assert 'outcome="failed",platform="telegram"' not in metrics


MENTIONS = 12
QUESTION = "Where did Lavrov meet Kim Jong Un?"


async def test_under_a_429_on_every_third_slack_post_every_mention_is_answered_exactly_once(
    db: Database, tmp_path: Path, slack_stub: SlackStub
) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    settings = slack_settings(tmp_path / "data", slack_stub, embedder="none", database_url=url)
    slack_stub.refuse_every("chat.postMessage", 3, retry_after=RETRY_AFTER)
    async with slack_harness(slack_stub, tmp_path / "data", settings=settings) as slack:
        for n in range(MENTIONS):
            event = {"type": "app_mention", "user": "UALICE", "text": f"<@{BOT_USER_ID}> {QUESTION}",
                     "ts": f"{500 + n}.1", "channel": f"C{n % 3:04d}"}  # fmt: skip
            await slack.slack.event(event, event_id=f"EvStorm{n}")
        await slack_stub.wait_for(lambda: len(slack_stub.posts()) >= MENTIONS, timeout=60)
        await slack.settle()
        metrics = slack.ctx.metrics.render().decode()

    threads = [post["thread_ts"] for post in slack_stub.posts()]
    assert sorted(threads) == sorted(f"{500 + n}.1" for n in range(MENTIONS))  # each once, in its thread
    assert all(post.get("text") for post in slack_stub.posts())
    calls = slack_stub.calls("chat.postMessage")
    assert sum(c.status == 429 for c in calls) >= MENTIONS // 3
    for index, refused in enumerate(calls):
        if refused.status == 429:  # tried again in the same thread, Retry-After later (the stand-in's clock)
            thread = refused.body.get("thread_ts")
            again = next(c for c in calls[index + 1 :] if c.body.get("thread_ts") == thread)
            assert again.at - refused.at >= RETRY_AFTER
    assert 'newsbrief_replies_total{outcome="retried_429",platform="slack"}' in metrics
