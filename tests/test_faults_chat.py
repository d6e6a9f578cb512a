"""Telegram and Slack under 429 storms, runs of 5xx and connection resets: nothing is lost.

Briefs go through the real outbox worker and the real senders to the stand-ins over HTTP (on SQLite and
PostgreSQL); Slack answers go through signed events and the real Poster. Waits (retry_after, backoff,
pacing) run on a FakeClock. The faults come from tests/servers/drops.py: a reset before the platform
did anything, a reset after it delivered the message, and answers cut short with or without a
Content-Length. The last two kinds deliver the message while the sender sees a failure, so its retry
is a duplicate no client can avoid: each chat may receive at most as many duplicates as such faults
hit it, and every chat's messages, repeats collapsed, are exactly the brief's parts in order.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.briefs.compose import Member, StoryEntry, compose
from bot.chat.slack import build_slack
from bot.chat.slack.sender import Poster
from bot.chat.telegram.sender import TelegramSender
from bot.config import Settings
from bot.context import Context
from bot.delivery.base import Sender
from bot.delivery.replies import TRANSIENT_TRIES
from bot.delivery.worker import DeliveryWorker, Limits, Stats
from bot.summarize import Bullet, Summary
from storage.db import Database
from storage.models import Brief, Delivery, QALog
from tests.harness import seed_threads, telegram_settings
from tests.servers.drops import CUT, CUT_UNFRAMED, PASS, RESET, RESET_ACCEPTED
from tests.servers.slack_stub import BOT_USER_ID, SlackHarness, SlackStub, slack_settings
from tests.servers.telegram_stub import FakeClock, TelegramStub

T0 = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)
CHATS = 40
ROUND_GAP = timedelta(minutes=15)  # longer than any backoff (600 s, +20% jitter)
CONCURRENCY = 4


# ---------------------------------------------------------------- one platform, as the tests see it


@dataclass
class Platform:
    """A chat platform's stand-in, its real sender and how to read what each chat received."""

    name: str
    ctx: Context
    clock: FakeClock
    sender: Sender
    limits: Limits | None
    chats: list[str]
    fail: Callable[..., None]  # fail(kind, times=1, chat=None, retry_after=1)
    received: Callable[[], dict[str, list[str]]]  # chat → identities of the messages it got, in order
    drops: Callable[[], list[tuple[str, bool]]]  # (chat, delivered) for each connection fault
    identity: Callable[[Any], str]  # a rendered part's identity, as `received` reports it

    def script(self, kinds: Sequence[int]) -> None:
        """Answer the next sends with `kinds`, one each, in order (PASS: normally)."""
        for kind in kinds:
            self.fail(kind)


def _telegram(ctx: Context, clock: FakeClock, stub: TelegramStub, sender: TelegramSender) -> Platform:
    def fail(kind: int, times: int = 1, chat: str | None = None, retry_after: int = 1) -> None:
        stub.fail("sendMessage", kind, retry_after=retry_after, times=times,
                  chat_id=int(chat) if chat else None)  # fmt: skip

    def received() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for message in stub.messages():
            out.setdefault(str(message.chat_id), []).append(message.text)
        return out

    def drops() -> list[tuple[str, bool]]:
        return [(str(d.chat_id), d.delivered) for d in stub.state.drops]

    chats = [str(1000 + n) for n in range(CHATS)]
    return Platform("telegram", ctx, clock, sender, None, chats, fail, received, drops, str)


def _slack(ctx: Context, clock: FakeClock, stub: SlackStub, sender: Sender, limits: Limits) -> Platform:
    def fail(kind: int, times: int = 1, chat: str | None = None, retry_after: int = 1) -> None:
        stub.fail("chat.postMessage", status=kind, times=times, retry_after=retry_after, channel=chat)

    def identity(part: Any) -> str:
        return json.dumps(part["blocks"], sort_keys=True, ensure_ascii=False)

    def received() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for post in stub.posts():
            out.setdefault(str(post["channel"]), []).append(identity(post))
        return out

    def drops() -> list[tuple[str, bool]]:
        return [(str(d.channel), d.delivered) for d in stub.drops()]

    chats = [f"C{n:04d}" for n in range(CHATS)]
    return Platform("slack", ctx, clock, sender, limits, chats, fail, received, drops, identity)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def _context(settings: Settings, db: Database, clock: FakeClock) -> Context:
    with db.session() as session:
        seed_threads(session)
    return Context(settings=settings, db=db, clock=clock)


@pytest.fixture(params=["telegram", "slack"], name="p")
async def platform(
    request: pytest.FixtureRequest,
    db: Database,
    tmp_path: Path,
    clock: FakeClock,
    telegram_stub: TelegramStub,
    slack_stub: SlackStub,
) -> AsyncIterator[Platform]:
    """Each platform in turn, on each database backend, with the production sender."""
    if request.param == "telegram":
        settings = telegram_settings(tmp_path / "data", telegram_stub, telegram_rate_limit=1000)
        ctx = _context(settings, db, clock)
        async with TelegramSender(settings, pool_size=CONCURRENCY) as sender:
            yield _telegram(ctx, clock, telegram_stub, sender)
        return
    ctx = _context(slack_settings(tmp_path / "data", slack_stub, embedder="none"), db, clock)
    adapter = build_slack(ctx, channel_interval=0.0)
    await adapter.start()  # the pooled aiohttp session, as in production
    try:
        yield _slack(ctx, clock, slack_stub, adapter.sender, adapter.limits)
    finally:
        await adapter.stop(grace=1)


# ---------------------------------------------------------------- briefs and the outbox


def payload(stories: int) -> dict[str, Any]:
    """A brief long enough to need several messages (distinct parts, so order can be checked)."""
    entries = []
    for n in range(1, stories + 1):
        members = [Member(n * 10, "TASS", f"https://tass.example/a{n}", "t", "en")]
        text = f"Lavrov and Kim met again in round {n} & spoke of <trade>. " * 8
        summary = Summary("en", f"Story {n}", (Bullet(text, (n * 10,)),), "offline")
        entries.append(StoryEntry(n, summary, members, T0, T0, 0))
    return compose(thread_id="russia-dprk", thread_name="Russia–DPRK", lang="en", as_of=T0, since=None,
                   entries=entries, max_stories=stories)  # fmt: skip


def queue_broadcast(p: Platform) -> list[str]:
    """A brief of three parts queued for every chat; the parts' identities, in order."""
    brief = payload(12 if p.name == "telegram" else 40)
    parts = [p.identity(part) for part in p.sender.render(brief)]
    assert len(parts) == 3
    with p.ctx.db.session() as session:
        row = Brief(thread_id="russia-dprk", lang="en", since=None, as_of=T0, payload=brief)
        session.add(row)
        session.flush()
        session.add_all(
            Delivery(key=f"faults:{chat}", brief_id=row.id, platform=p.name, chat_id=chat, next_attempt_at=T0)
            for chat in p.chats
        )
    return parts


def rows(p: Platform) -> dict[str, Delivery]:
    with p.ctx.db.session() as session:
        return {r.chat_id: r for r in session.scalars(select(Delivery).order_by(Delivery.id))}


async def deliver_all(p: Platform, *, max_rounds: int = 40, **options: Any) -> Stats:
    """Run the worker round after round, the clock moved past every backoff, until no row is open."""
    total = Stats()
    for _ in range(max_rounds):
        worker = DeliveryWorker(p.ctx, p.sender, limits=p.limits, clock=p.clock.monotonic,
                                sleep=p.clock.sleep, concurrency=CONCURRENCY, **options)  # fmt: skip
        await worker.run_once()
        for name in Stats.__slots__:
            setattr(total, name, getattr(total, name) + getattr(worker.stats, name))
        if all(r.status in ("sent", "failed", "cancelled") for r in rows(p).values()):
            return total
        p.clock.advance(seconds=ROUND_GAP.total_seconds())
    raise AssertionError(f"deliveries still open after {max_rounds} rounds: {rows(p)}")


def collapse(messages: list[str]) -> list[str]:
    """The messages with immediate repeats (a resend of the same part) taken out."""
    return [m for i, m in enumerate(messages) if i == 0 or m != messages[i - 1]]


def assert_every_part_arrived_in_order(p: Platform, parts: list[str], chats: Sequence[str]) -> int:
    """Every chat in `chats` got every part in order; repeats bounded by the delivered drops it took.
    Returns the number of repeats."""
    received = p.received()
    delivered_drops = Counter(chat for chat, delivered in p.drops() if delivered)
    repeats = 0
    for chat in chats:
        got = received.get(chat, [])
        assert collapse(got) == parts, f"{p.name} chat {chat} got {len(got)} messages out of order or short"
        extra = len(got) - len(parts)
        assert extra <= delivered_drops[chat], f"chat {chat}: {extra} repeats, {delivered_drops[chat]} drops"
        repeats += extra
    for chat in chats:
        row = rows(p)[chat]
        assert (row.status, row.parts_sent, row.parts_total) == ("sent", len(parts), len(parts))
    return repeats


# ---------------------------------------------------------------- the faults, on both platforms


async def test_a_storm_of_30_429s_delays_the_broadcast_but_drops_and_repeats_nothing(p: Platform) -> None:
    parts = queue_broadcast(p)
    p.fail(429, times=30, retry_after=2)
    stats = await deliver_all(p)
    assert stats.retried_429 == 30 and stats.failed == 0 and stats.transient == 0
    assert assert_every_part_arrived_in_order(p, parts, p.chats) == 0
    assert all(r.attempts == 0 for r in rows(p).values())  # a 429 is waited out, never an attempt


async def test_a_run_of_5xx_is_retried_with_backoff_and_every_part_arrives_once(p: Platform) -> None:
    parts = queue_broadcast(p)
    p.script([500, 502, 503, 504] * 3)
    stats = await deliver_all(p)
    assert stats.transient == 12 and stats.failed == 0
    assert assert_every_part_arrived_in_order(p, parts, p.chats) == 0
    assert sum(r.attempts for r in rows(p).values()) == 12


async def test_resets_and_cut_answers_lose_nothing_and_repeat_only_what_was_delivered(p: Platform) -> None:
    parts = queue_broadcast(p)
    p.script([RESET, PASS, RESET_ACCEPTED, PASS, CUT, PASS, CUT_UNFRAMED] * 2)
    stats = await deliver_all(p)
    # Telegram reads a 200 cut short as sent; slack_sdk retries a reset once by itself, so which
    # sends fail depends on the interleaving, not whether they are all retried.
    assert stats.failed == 0 and stats.transient >= 4
    repeats = assert_every_part_arrived_in_order(p, parts, p.chats)
    drops = p.drops()
    assert len(drops) == 8 and sum(delivered for _, delivered in drops) == 6
    assert repeats <= 6


async def test_a_seeded_mix_of_429s_5xx_and_resets_across_40_chats_loses_nothing(p: Platform) -> None:
    parts = queue_broadcast(p)
    rng = random.Random(20250712)
    faults = [429] * 30 + [500, 502, 503] * 4 + [RESET, RESET_ACCEPTED, CUT, CUT_UNFRAMED] * 2
    schedule = faults + [PASS] * (CHATS * len(parts) - len(faults))
    rng.shuffle(schedule)
    p.script(schedule)
    stats = await deliver_all(p)
    assert stats.retried_429 == 30 and stats.failed == 0
    repeats = assert_every_part_arrived_in_order(p, parts, p.chats)
    assert repeats <= sum(delivered for _, delivered in p.drops()) <= 6


async def test_a_fault_that_outlasts_the_retries_fails_only_its_row_and_says_why(p: Platform) -> None:
    parts = queue_broadcast(p)
    broken, unreachable, *healthy = p.chats
    p.fail(503, times=1000, chat=broken)
    p.fail(RESET, times=1000, chat=unreachable)
    stats = await deliver_all(p, max_attempts=3)
    assert stats.failed == 2
    assert_every_part_arrived_in_order(p, parts, healthy)
    failed = {chat: r for chat, r in rows(p).items() if r.status == "failed"}
    assert set(failed) == {broken, unreachable}
    assert failed[broken].attempts == failed[unreachable].attempts == 3
    assert "gave up after 3 attempts" in (failed[broken].last_error or "")
    assert "503" in (failed[broken].last_error or "")
    reset_reason = {"telegram": "network error", "slack": "Slack unreachable"}[p.name]
    assert f"gave up after 3 attempts: {reset_reason}" in (failed[unreachable].last_error or "")
    assert p.received().get(broken) is None and p.received().get(unreachable) is None


# ---------------------------------------------------------------- Slack answers (the Poster)


CHANNEL = "C0GENERAL"


def mention(text: str, *, ts: str, channel: str = CHANNEL) -> dict[str, Any]:
    return {"type": "app_mention", "user": "UALICE", "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
            "channel": channel}  # fmt: skip


def faked_waits(slack: SlackHarness, clock: FakeClock) -> None:
    """The adapter's Poster, its retries waiting on the fake clock (backoff takes no real time; the 429s
    slack_sdk's handler waits out in the reply client still take their Retry-After)."""
    services = slack.adapter.services
    services.poster = Poster(services.poster.sender, budget=slack.adapter.budget, sleep=clock.sleep)


def qa_rows(slack: SlackHarness) -> list[QALog]:
    with slack.ctx.db.session() as session:
        return list(session.scalars(select(QALog).order_by(QALog.id)))


async def test_an_answer_outlasts_429s_5xx_and_resets_and_reaches_its_thread(
    slack: SlackHarness, clock: FakeClock
) -> None:
    faked_waits(slack, clock)
    for kind in [429, 503, RESET, 429, 500, CUT, RESET_ACCEPTED, 429, 502, CUT_UNFRAMED]:
        slack.stub.fail("chat.postMessage", status=kind, retry_after=1)
    await slack.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="100.1"), event_id="EvF1")
    await slack.stub.wait_for(lambda: bool(slack.stub.posts(CHANNEL)))
    await slack.settle()
    posts = slack.stub.posts(CHANNEL)
    delivered = sum(d.delivered for d in slack.stub.drops())
    assert delivered == 3 and 1 <= len(posts) <= 1 + delivered
    assert all(post == posts[0] for post in posts)  # a repeat is the same answer, never another
    assert posts[0]["thread_ts"] == "100.1" and "وونسان" in json.dumps(posts[0], ensure_ascii=False)
    assert len(qa_rows(slack)) == 1
    # Every fault was answered by trying again (slack_sdk retries a reset once itself), then it posted.
    assert len(slack.stub.calls("chat.postMessage")) == 10 + 1


async def test_an_answer_slack_keeps_refusing_is_logged_and_kept_and_others_still_get_theirs(
    slack: SlackHarness, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    faked_waits(slack, clock)
    slack.stub.fail("chat.postMessage", status=503, times=1000, channel=CHANNEL)
    with caplog.at_level(logging.WARNING):
        await slack.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="200.1"), event_id="EvF2")
        dm = {"type": "message", "channel_type": "im", "user": "UBOB", "channel": "D0BOB", "ts": "201.1",
              "text": "Where did Lavrov meet Kim Jong Un?"}  # fmt: skip
        await slack.slack.event(dm, event_id="EvF3")
        await slack.stub.wait_for(lambda: len(slack.stub.posts("D0BOB")) == 1)
        await slack.settle()
    assert slack.stub.posts(CHANNEL) == []
    refused = [c for c in slack.stub.calls("chat.postMessage") if c.body.get("channel") == CHANNEL]
    assert len(refused) == TRANSIENT_TRIES  # retried, then given up
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"Slack answer to {CHANNEL}: gave up after {TRANSIENT_TRIES} tries" in e for e in errors)
    assert any(f"posted 0 of 1 parts to {CHANNEL} (thread 200.1)" in e for e in errors)
    kept = {row.conversation_id: row for row in qa_rows(slack)}
    assert set(kept) == {f"{CHANNEL}:200.1", "D0BOB"}
    assert "وونسان" in json.dumps(kept[f"{CHANNEL}:200.1"].answer, ensure_ascii=False)  # stored, not lost


async def test_a_question_while_the_database_is_away_gets_an_apology_in_its_thread(
    slack: SlackHarness, tmp_path: Path
) -> None:
    working = slack.ctx.db
    slack.ctx.db = Database(f"sqlite:///{tmp_path}/no-such-folder/newsbrief.db")  # every connect fails
    try:
        await slack.slack.event(mention("Where did Lavrov meet Kim Jong Un?", ts="300.1"), event_id="EvDown")
        await slack.stub.wait_for(lambda: bool(slack.stub.posts(CHANNEL)))
        await slack.settle()
    finally:
        slack.ctx.db = working
    [post] = slack.stub.posts(CHANNEL)
    assert post["thread_ts"] == "300.1" and "try again" in json.dumps(post).lower()
