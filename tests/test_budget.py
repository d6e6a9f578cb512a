"""LLM_DAILY_TOKEN_BUDGET: past today's budget the bot works offline, yesterday's tokens do not count, and
every admin is told once a day, whichever process notices first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import build_context
from bot.chat.slack.app import make_client
from bot.chat.slack.sender import SlackSender
from bot.chat.telegram.sender import TelegramSender
from bot.config import Settings
from bot.context import Context
from bot.delivery.base import Sender
from bot.ingest.catalog import add_source
from bot.runtime.notices import notify_budget, notify_paused_sources
from bot.runtime.scheduler import default_jobs
from storage.db import Database
from storage.models import LLMCallLog
from tests.servers.slack_stub import BOT_TOKEN, SlackStub
from tests.servers.telegram_stub import TOKEN, TelegramStub

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _context(settings: Settings, tmp_path: Path, budget: int):
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    ctx = build_context(
        settings.model_copy(
            update={
                "sources_file": empty,
                "llm_base_url": "http://127.0.0.1:9/v1",
                "llm_daily_token_budget": budget,
            }
        )
    )
    ctx.clock = lambda: NOW
    return ctx


def _spend(ctx, tokens: int, at: datetime) -> None:
    with ctx.db.session() as session:
        session.add(
            LLMCallLog(
                at=at, purpose="summary", model="m", prompt_tokens=tokens, completion_tokens=0, outcome="ok"
            )
        )


def test_the_llm_is_used_until_todays_budget_is_spent(settings: Settings, tmp_path: Path) -> None:
    ctx = _context(settings, tmp_path, budget=1000)
    _spend(ctx, 5000, NOW - timedelta(days=1))  # yesterday's spending does not count
    _spend(ctx, 600, NOW - timedelta(hours=1))
    assert ctx.llm() is not None
    _spend(ctx, 400, NOW - timedelta(minutes=5))
    assert ctx.over_token_budget() and ctx.llm() is None


def test_no_budget_means_no_limit(settings: Settings, tmp_path: Path) -> None:
    ctx = _context(settings, tmp_path, budget=0)
    _spend(ctx, 10**9, NOW)
    assert ctx.llm() is not None


# ---------------------------------------------------------------- telling the admins, once


ADMINS_TG = ["9001", "9002"]
ADMINS_SLACK = ["UADMIN"]


@dataclass
class Notices:
    """The outbox's real senders pointed at the stand-ins, and Contexts on one database sharing one clock."""

    db: Database
    settings: Settings
    senders: list[Sender]
    telegram: TelegramStub
    slack: SlackStub
    clock: list[datetime] = field(default_factory=lambda: [NOW])
    contexts: list[Context] = field(default_factory=list)

    def context(self, **overrides: object) -> Context:
        """A Context of its own on the database, as another process would have."""
        values: dict[str, object] = {
            "llm_base_url": "http://127.0.0.1:9/v1",
            "llm_daily_token_budget": 1000,
            "telegram_admin_ids": ADMINS_TG,
            "slack_admin_ids": ADMINS_SLACK,
            **overrides,
        }
        database = Database(self.db.engine.url.render_as_string(hide_password=False))
        ctx = Context(
            settings=self.settings.model_copy(update=values), db=database, clock=lambda: self.clock[0]
        )
        self.contexts.append(ctx)
        return ctx

    def told(self) -> dict[str, list[str]]:
        """What each admin has been told so far, by admin id."""
        told = {admin: [m.text for m in self.telegram.messages(int(admin))] for admin in ADMINS_TG}
        told.update({admin: [p["text"] for p in self.slack.posts(admin)] for admin in ADMINS_SLACK})
        return told


@pytest.fixture
async def notices(
    db: Database, settings: Settings, telegram_stub: TelegramStub, slack_stub: SlackStub
) -> AsyncIterator[Notices]:
    configured = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(TOKEN),
            "telegram_base_url": telegram_stub.base_url,
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_api_url": slack_stub.api_url,
        }
    )
    async with TelegramSender(configured) as telegram:
        world = Notices(
            db, settings, [telegram, SlackSender(make_client(configured))], telegram_stub, slack_stub
        )
        yield world
    for ctx in world.contexts:
        ctx.db.dispose()


async def test_each_admin_is_told_once_a_day_however_often_and_from_however_many_processes(
    notices: Notices,
) -> None:
    one, two = notices.context(), notices.context()
    _spend(one, 999, NOW - timedelta(hours=1))
    assert await notify_budget(one, notices.senders) == 0  # one token short: nobody is told
    assert all(texts == [] for texts in notices.told().values())

    _spend(one, 1, NOW - timedelta(minutes=1))
    sent = [await notify_budget(ctx, notices.senders) for ctx in (one, two, one, two, two)]
    assert sent == [3, 0, 0, 0, 0]
    told = notices.told()
    assert all(len(texts) == 1 for texts in told.values()), told
    text = told["9001"][0]
    assert "1,000 tokens used today (UTC) of 1,000" in text and "offline until midnight UTC" in text
    assert told["UADMIN"] == [text]

    notices.clock[0] = NOW + timedelta(days=1)  # a new UTC day: yesterday's tokens do not count
    assert await notify_budget(two, notices.senders) == 0
    _spend(two, 1500, notices.clock[0] - timedelta(minutes=1))
    assert [await notify_budget(ctx, notices.senders) for ctx in (two, one, two)] == [3, 0, 0]
    told = notices.told()
    assert all(len(texts) == 2 for texts in told.values()), told
    assert "1,500 tokens used today" in told["UADMIN"][1]


async def test_a_notice_that_failed_for_a_passing_reason_is_sent_on_the_next_check(notices: Notices) -> None:
    ctx = notices.context()
    _spend(ctx, 5000, NOW)
    notices.telegram.fail("sendMessage", 502, chat_id=9001)
    notices.slack.fail("chat.postMessage", status=429, retry_after=1)
    assert await notify_budget(ctx, notices.senders) == 1  # only 9002 got through
    assert await notify_budget(ctx, notices.senders) == 2  # the 502 and the 429 are retried, once
    assert await notify_budget(ctx, notices.senders) == 0
    assert all(len(texts) == 1 for texts in notices.told().values())


async def test_an_admin_who_blocked_the_bot_does_not_stop_the_others_and_is_not_retried_all_day(
    notices: Notices,
) -> None:
    ctx = notices.context(telegram_admin_ids=["9001", "not-a-number", "9002"])
    _spend(ctx, 5000, NOW)
    notices.telegram.fail("sendMessage", 403, chat_id=9001)
    assert await notify_budget(ctx, notices.senders) == 2  # 9002 and UADMIN
    assert await notify_budget(ctx, notices.senders) == 0
    told = notices.told()
    assert (len(told["9001"]), len(told["9002"]), len(told["UADMIN"])) == (0, 1, 1)


async def test_the_scheduler_checks_the_budget_and_tells_the_admins(notices: Notices) -> None:
    ctx = notices.context()
    _spend(ctx, 5000, NOW)
    job, every = default_jobs(ctx, senders=notices.senders)["notices"]
    assert every <= 60
    await job()
    await job()
    assert all(len(texts) == 1 for texts in notices.told().values())


async def test_a_source_that_paused_itself_is_reported_to_the_admins_of_every_platform_once(
    notices: Notices,
) -> None:
    ctx = notices.context()
    with ctx.db.session() as session:
        source = add_source(session, location="https://example.com/feed.xml", kind="feed", actor="test")
        source.paused, source.paused_reason = True, "5 consecutive failures: timeout"
    assert await notify_paused_sources(ctx, notices.senders) == 1
    assert await notify_paused_sources(ctx, notices.senders) == 0
    told = notices.told()
    assert set(told) == {*ADMINS_TG, *ADMINS_SLACK}
    for texts in told.values():
        assert (
            len(texts) == 1 and "paused after repeated failures: 5 consecutive failures: timeout" in texts[0]
        ), told
