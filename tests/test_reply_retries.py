"""The reply lane and the reply retry policy: replies go first within one budget, and are never dropped.

Waits run on a FakeClock: no test here measures time, they read the clock the waits advance.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.slack.sender import Responder
from bot.context import Context
from bot.delivery.buckets import Lanes
from bot.delivery.budget import local_budget
from bot.delivery.replies import BACKOFF_MAX, TRANSIENT_TRIES, ReplyRetry
from bot.delivery.worker import Limits, TokenBucket
from bot.metrics import Metrics
from storage.db import Database
from tests.harness import polling, seed_threads, telegram_settings
from tests.servers.slack_stub import SlackStub
from tests.servers.telegram_stub import FakeClock, TelegramStub, until

T0 = datetime(2025, 7, 14, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


# ---------------------------------------------------------------- the lanes of one bucket


class Gate:
    """A bucket that grants a slot each time the test puts one in."""

    def __init__(self) -> None:
        self.slots: asyncio.Queue[None] = asyncio.Queue()

    async def acquire(self) -> None:
        await self.slots.get()

    def pause(self, seconds: float) -> None:
        return None


async def until_waiting(lanes: Lanes, replies: int, sends: int) -> None:
    while lanes.waiting != (replies, sends):
        await asyncio.sleep(0)


async def test_a_reply_takes_the_next_slot_ahead_of_every_waiting_broadcast_send() -> None:
    gate = Gate()
    lanes = Lanes(gate)
    granted: list[str] = []

    async def take(name: str, *, urgent: bool = False) -> None:
        await lanes.acquire(urgent=urgent)
        granted.append(name)

    broadcast = [asyncio.create_task(take(f"part{n}")) for n in range(100)]
    await until_waiting(lanes, 0, 99)  # one send holds the bucket, 99 queue behind it
    reply = asyncio.create_task(take("reply", urgent=True))
    await until_waiting(lanes, 1, 99)
    for _ in range(101):
        gate.slots.put_nowait(None)
    await asyncio.gather(reply, *broadcast)
    assert granted[:3] == ["part0", "reply", "part1"]  # after the slot already held, before 99 others


async def test_with_several_grants_in_flight_a_reply_waits_behind_those_alone() -> None:
    gate = Gate()
    lanes = Lanes(gate, depth=3)
    granted: list[str] = []

    async def take(name: str, *, urgent: bool = False) -> None:
        await lanes.acquire(urgent=urgent)
        granted.append(name)

    broadcast = [asyncio.create_task(take(f"part{n}")) for n in range(50)]
    await until_waiting(lanes, 0, 47)
    reply = asyncio.create_task(take("reply", urgent=True))
    await until_waiting(lanes, 1, 47)
    for _ in range(51):
        gate.slots.put_nowait(None)
    await asyncio.gather(reply, *broadcast)
    assert granted.index("reply") == 3


async def test_replies_and_broadcast_together_stay_within_the_rate(clock: FakeClock) -> None:
    rate = 30.0
    lanes = Lanes(TokenBucket(rate, clock=clock.monotonic, sleep=clock.sleep))
    tasks = [lanes.acquire(urgent=n % 10 == 0) for n in range(300)]
    await asyncio.gather(*tasks)
    # 300 grants, a tenth of them replies, took at least 299 intervals less the bucket's burst of one.
    assert clock.monotonic() >= (300 - 2) / rate


async def test_a_cancelled_waiter_never_blocks_the_lane(clock: FakeClock) -> None:
    lanes = Lanes(TokenBucket(10, clock=clock.monotonic, sleep=clock.sleep))
    tasks = [asyncio.create_task(lanes.acquire(urgent=n % 2 == 0)) for n in range(10)]
    await asyncio.sleep(0)
    tasks[3].cancel()
    tasks[4].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 2
    assert lanes.waiting == (0, 0)
    await asyncio.wait_for(lanes.acquire(), 5)  # the lane is free again


# ---------------------------------------------------------------- the retry policy


class Limited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}")
        self.seconds = seconds


class Down(Exception):
    pass


def policy(clock: FakeClock, metrics: Metrics, waits: list[float], **options: object) -> ReplyRetry:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await clock.sleep(seconds)

    return ReplyRetry(
        "test",
        lambda e: e.seconds if isinstance(e, Limited) else None,
        lambda e: isinstance(e, Down),
        metrics=metrics,
        sleep=sleep,
        **options,  # type: ignore[arg-type]
    )


def counted(metrics: Metrics, outcome: str) -> float:
    return (
        metrics.registry.get_sample_value("newsbrief_replies_total", {"platform": "test", "outcome": outcome})
        or 0
    )


async def test_every_429_is_waited_out_for_what_it_asked_however_many_come(clock: FakeClock) -> None:
    metrics, waits = Metrics(), []
    failures = [Limited(3), Limited(1.5)] * 25 + [Down()]
    retry = policy(clock, metrics, waits)

    async def send() -> str:
        if failures:
            raise failures.pop(0)
        return "sent"

    assert await retry.run(send, what="a reply") == "sent"
    assert waits == [3, 1.5] * 25 + [0.5]  # exactly retry_after each time, never less; then backoff
    assert counted(metrics, "retried_429") == 50 and counted(metrics, "retried") == 1
    assert counted(metrics, "failed") == 0


async def test_transient_failures_back_off_then_give_up_with_the_reason_logged_and_counted(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics, waits = Metrics(), []
    calls = 0

    async def send() -> None:
        nonlocal calls
        calls += 1
        raise Down("Bad Gateway (502)")

    with caplog.at_level(logging.WARNING), pytest.raises(Down):
        await policy(clock, metrics, waits).run(send, what="Telegram sendMessage to chat 5")
    assert calls == TRANSIENT_TRIES
    assert waits == [0.5, 1, 2, 4, 8, 16, BACKOFF_MAX]  # about a minute in all
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"Telegram sendMessage to chat 5: gave up after {TRANSIENT_TRIES} tries: Down: Bad Gateway (502)"
    ]
    assert counted(metrics, "failed") == 1 and counted(metrics, "retried") == TRANSIENT_TRIES - 1


async def test_a_refusal_that_is_neither_429_nor_transient_is_not_retried(clock: FakeClock) -> None:
    metrics, waits = Metrics(), []

    async def send() -> None:
        raise ValueError("Bad Request: can't parse entities")

    with pytest.raises(ValueError):
        await policy(clock, metrics, waits).run(send, what="a reply")
    assert waits == [] and counted(metrics, "failed") == 0


# ---------------------------------------------------------------- Telegram, through PTB's hook


@pytest.fixture
async def telegram(db: Database, tmp_path: Path, telegram_stub: TelegramStub, clock: FakeClock) -> Context:
    with db.session() as session:
        seed_threads(session)
    return Context(settings=telegram_settings(tmp_path / "data", telegram_stub), db=db, clock=clock)


async def test_a_telegram_reply_outlasts_5xx_and_429s_and_arrives_once(
    telegram: Context, telegram_stub: TelegramStub, clock: FakeClock
) -> None:
    for status in (502, 429, 500, 503, 429):
        telegram_stub.fail("sendMessage", status, retry_after=2)
    budget = local_budget(Limits(rate=30), clock=clock.monotonic, sleep=clock.sleep)
    async with polling(telegram, budget=budget, sleep=clock.sleep):
        telegram_stub.send_text(chat_id=42, text="/help")
        await until(lambda: telegram_stub.messages(42), timeout=30)
    [help_text] = telegram_stub.messages(42)
    assert "Commands" in help_text.text
    assert [a.status for a in telegram_stub.state.attempts] == [502, 429, 500, 503, 429, 200]
    assert counted_telegram(telegram.metrics) == (2, 3, 0)


def counted_telegram(metrics: Metrics) -> tuple[float, float, float]:
    def value(outcome: str) -> float:
        labels = {"platform": "telegram", "outcome": outcome}
        return metrics.registry.get_sample_value("newsbrief_replies_total", labels) or 0

    return value("retried_429"), value("retried"), value("failed")


async def test_a_telegram_reply_the_api_keeps_refusing_is_given_up_logged_and_counted_without_an_apology_storm(
    telegram: Context, telegram_stub: TelegramStub, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    telegram_stub.fail("sendMessage", 503, times=1000, chat_id=43)
    budget = local_budget(Limits(rate=30), clock=clock.monotonic, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING):
        async with polling(telegram, budget=budget, sleep=clock.sleep):
            telegram_stub.send_text(chat_id=43, text="/help")
            telegram_stub.send_text(chat_id=44, text="/help")  # another user is answered meanwhile
            await until(lambda: counted_telegram(telegram.metrics)[2] == 1, timeout=30)
            await until(lambda: telegram_stub.messages(44), timeout=30)
    assert telegram_stub.messages(43) == []
    assert sum(a.chat_id == 43 for a in telegram_stub.state.attempts) == TRANSIENT_TRIES  # no apology tried
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"Telegram sendMessage to chat 43: gave up after {TRANSIENT_TRIES} tries" in e for e in errors)
    assert not any("telegram handler failed" in e for e in errors)  # one ERROR, the one saying why


# ---------------------------------------------------------------- Slack response_url (ephemeral replies)


async def test_a_response_url_post_outlasts_429s_and_a_503_and_arrives_once(slack_stub: SlackStub) -> None:
    metrics = Metrics()
    slack_stub.fail("response:r1", status=429, retry_after=1, times=2)
    slack_stub.fail("response:r1", status=503)
    respond = Responder(slack_stub.response_url("r1"), metrics=metrics)
    response = await respond(text="Subscribed", response_type="ephemeral", replace_original=False)
    assert response.status_code == 200
    assert [c.body for c in slack_stub.calls("response:r1") if c.status == 200] == [
        {"text": "Subscribed", "response_type": "ephemeral", "replace_original": False}
    ]
    assert [c.status for c in slack_stub.calls("response:r1")] == [429, 429, 503, 200]
    labels = {"platform": "slack", "outcome": "retried_429"}
    assert metrics.registry.get_sample_value("newsbrief_replies_total", labels) == 2


# ---------------------------------------------------------------- wiring: one budget per bot


async def test_the_runner_gives_replies_and_the_outbox_one_budget_per_bot(
    tmp_path: Path, telegram_stub: TelegramStub, slack_stub: SlackStub
) -> None:
    from bot.app import build_context
    from bot.chat.telegram.limiter import ReplyLimiter
    from bot.runtime.adapters import Adapters
    from bot.runtime.runner import Runtime, _shutdown, start_slack, start_telegram
    from tests.servers.slack_stub import slack_settings

    settings = slack_settings(tmp_path / "data", slack_stub, embedder="none")
    settings.telegram_bot_token = telegram_settings(tmp_path, telegram_stub).telegram_bot_token
    settings.telegram_base_url = telegram_stub.base_url
    rt = Runtime(build_context(settings))
    rt.adapters = Adapters(rt.ctx.metrics)
    try:
        await start_telegram(rt)
        await start_slack(rt)
        await asyncio.gather(*rt.connecting)  # each adapter connects on its own, then starts its worker
        telegram_worker, slack_worker = sorted(rt.workers, key=lambda w: w.sender.platform != "telegram")
        limiter = rt.telegram.bot.rate_limiter
        assert isinstance(limiter, ReplyLimiter)
        assert (
            telegram_worker.bucket is limiter.budget.lanes and telegram_worker.pacer is limiter.budget.pacer
        )
        poster = rt.slack.services.poster
        assert slack_worker.sender is rt.slack.sender and poster.sender is not rt.slack.sender
        assert slack_worker.bucket is poster.budget.lanes and slack_worker.pacer is poster.budget.pacer
    finally:
        await _shutdown(rt)
        rt.ctx.db.dispose()
