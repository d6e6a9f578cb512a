"""Posting under Slack's rules: 429 storms lose nothing, and channel subscriptions go through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.delivery.outbox import enqueue_due
from bot.delivery.worker import Limits, deliver_once
from storage.models import Delivery, QALog, Subscription
from tests.servers.slack_stub import BOT_USER_ID, SlackHarness

CHANNEL = "C0BRIEFS"


def mention(text: str, *, ts: str, channel: str = CHANNEL) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": "UALICE",
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
    }


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_429_storm_loses_no_answer(slack: SlackHarness) -> None:
    slack.stub.fail("chat.postMessage", status=429, retry_after=0, times=25)
    slack.stub.fail("chat.postMessage", status=503, times=1)
    for n in range(6):
        response = await slack.slack.event(
            mention("Where did Lavrov meet Kim Jong Un?", ts=f"90{n}.1"), event_id=f"EvS{n}"
        )
        assert response.status_code == 200
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) == 6, timeout=60)
    await slack.settle()
    assert sorted(p["thread_ts"] for p in slack.stub.posts(CHANNEL)) == [f"90{n}.1" for n in range(6)]
    assert len([c for c in slack.stub.calls("chat.postMessage") if c.status == 429]) == 25
    with slack.ctx.db.session() as session:
        assert len(session.scalars(select(QALog)).all()) == 6


async def test_retry_after_is_waited_out_before_the_retry(slack: SlackHarness) -> None:
    slack.stub.fail("chat.postMessage", status=429, retry_after=1, times=1)
    await slack.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="950.1"), event_id="EvR1")
    await slack.stub.wait_for(lambda: len(slack.stub.posts(CHANNEL)) == 1)
    limited, delivered = slack.stub.calls("chat.postMessage")
    assert limited.status == 429 and delivered.status == 200
    assert delivered.at - limited.at >= 1.0


async def test_channel_subscription_delivers_the_brief_at_the_due_time(slack: SlackHarness) -> None:
    clock = Clock(datetime(2025, 7, 12, 4, 0, tzinfo=UTC))  # 07:00 in Riyadh
    slack.ctx.clock = clock
    _, name = await slack.slack.command(
        "subscribe russia-dprk en 08:00 Asia/Riyadh", user="UBOB", channel=CHANNEL
    )
    await slack.settle()
    assert "08:00" in str(slack.stub.responses(name))
    sender = slack.adapter.sender

    assert enqueue_due(slack.ctx) == []
    await deliver_once(slack.ctx, sender, limits=slack.adapter.limits)
    assert slack.stub.posts(CHANNEL) == []  # not yet due

    clock.now = datetime(2025, 7, 12, 5, 0, 30, tzinfo=UTC)  # 08:00:30 in Riyadh
    assert len(enqueue_due(slack.ctx)) == 1
    stats = await deliver_once(slack.ctx, sender, limits=slack.adapter.limits)
    assert stats.sent == 1
    posts = slack.stub.posts(CHANNEL)
    assert len(posts) >= 1
    assert posts[0]["blocks"][0]["type"] == "header" and "Russia" in posts[0]["blocks"][0]["text"]["text"]

    clock.now += timedelta(minutes=10)
    assert enqueue_due(slack.ctx) == []
    await deliver_once(slack.ctx, sender, limits=slack.adapter.limits)
    assert len(slack.stub.posts(CHANNEL)) == len(posts)  # delivered once, never twice

    clock.now = datetime(2025, 7, 13, 5, 1, tzinfo=UTC)  # the next morning
    assert len(enqueue_due(slack.ctx)) == 1
    await deliver_once(slack.ctx, sender, limits=slack.adapter.limits)
    assert len(slack.stub.posts(CHANNEL)) > len(posts)
    with slack.ctx.db.session() as session:
        assert [d.status for d in session.scalars(select(Delivery))] == ["sent", "sent"]


async def test_brief_delivery_outlasts_a_429_storm(slack: SlackHarness) -> None:
    clock = Clock(datetime(2025, 7, 12, 7, 59, tzinfo=UTC))
    slack.ctx.clock = clock
    await slack.slack.command("subscribe russia-dprk en 08:00 UTC", user="UBOB", channel=CHANNEL)
    await slack.slack.command("subscribe saudi-russia ar 08:00 UTC", user="UBOB", channel="C0OTHER")
    await slack.settle()
    clock.now = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)
    assert len(enqueue_due(slack.ctx)) == 2
    slack.stub.fail("chat.postMessage", status=429, retry_after=0, times=30)
    unpaced = Limits(rate=1000.0, per_chat_interval=0.0, is_group=lambda _: False)  # keeps the test fast
    stats = await deliver_once(slack.ctx, slack.adapter.sender, limits=unpaced)
    assert stats.retried_429 == 30 and stats.sent == 2 and stats.failed == 0
    assert slack.stub.posts(CHANNEL) and slack.stub.posts("C0OTHER")


async def test_a_channel_the_bot_left_ends_its_subscription(slack: SlackHarness) -> None:
    clock = Clock(datetime(2025, 7, 12, 7, 59, tzinfo=UTC))
    slack.ctx.clock = clock
    await slack.slack.command("subscribe russia-dprk en 08:00 UTC", user="UBOB", channel=CHANNEL)
    await slack.settle()
    clock.now = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)
    enqueue_due(slack.ctx)
    slack.stub.fail("chat.postMessage", status=200, error="not_in_channel")
    stats = await deliver_once(slack.ctx, slack.adapter.sender, limits=slack.adapter.limits)
    assert stats.chats_gone == 1
    with slack.ctx.db.session() as session:
        assert not session.scalars(select(Subscription)).one().active
        assert session.scalars(select(Delivery.status)).one() == "cancelled"
