"""QA_RATE_LIMIT through the real adapters: past the limit a user is told so in their language, on Telegram
and on Slack, and other users are still answered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.context import Context
from storage.db import Database
from storage.models import QALog
from tests.harness import polling, say, seed_threads, telegram_settings
from tests.servers.slack_stub import SlackStub, slack_harness, slack_settings
from tests.servers.telegram_stub import TelegramStub

EN = "Where did Lavrov meet Kim Jong Un?"
AR = "أين التقى لافروف كيم جونغ أون؟"
LIMIT_EN = "You have reached the limit of 2 questions per minute"
LIMIT_AR = "وصلت إلى الحد المسموح (سؤالين في الدقيقة)"


def _asked(db: Database, user: str) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count(QALog.id)).where(QALog.user == user)) or 0)


@pytest.fixture
async def telegram(tmp_path: Path, telegram_stub: TelegramStub) -> AsyncIterator[Context]:
    settings = telegram_settings(tmp_path / "data", telegram_stub, qa_rate_limit=2)
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        seed_threads(session)
    ctx = Context(settings=settings, db=db)
    async with polling(ctx):
        yield ctx
    db.dispose()


async def _ask(stub: TelegramStub, chat: int, text: str) -> str:
    return (await say(stub, chat, text)).text


async def test_telegram_user_past_the_limit_is_told_in_their_language_and_others_are_answered(
    telegram: Context, telegram_stub: TelegramStub
) -> None:
    answers = [await _ask(telegram_stub, 501, EN) for _ in range(2)]
    assert all(LIMIT_EN not in a for a in answers)
    refused = await _ask(telegram_stub, 501, EN)
    assert LIMIT_EN in refused and "Please try again in" in refused
    assert LIMIT_AR in await _ask(telegram_stub, 501, f"/ask {AR}")
    assert _asked(telegram.db, "telegram:501") == 2  # refused questions are not counted against them

    other = await _ask(telegram_stub, 502, AR)  # the limit is per user
    assert LIMIT_AR not in other and LIMIT_EN not in other
    assert _asked(telegram.db, "telegram:502") == 1


def _dm(user: str, text: str, ts: str) -> dict[str, str]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "channel": f"D{user}",
        "ts": ts,
        "text": text,
    }


async def test_slack_user_past_the_limit_is_told_in_their_language_and_others_are_answered(
    slack_stub: SlackStub, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = slack_settings(data_dir, slack_stub, qa_rate_limit=2, embedder="none")
    async with slack_harness(slack_stub, data_dir, settings=settings) as slack:
        for n, text in enumerate([EN, EN, EN, AR]):
            await slack.slack.event(_dm("UALICE", text, f"10{n}.1"), event_id=f"EvL{n}")
            await slack.stub.wait_for(lambda n=n: len(slack.stub.posts("DUALICE")) > n)
            await slack.settle()
        posts = [json.dumps(p, ensure_ascii=False) for p in slack.stub.posts("DUALICE")]
        assert all(LIMIT_EN not in p for p in posts[:2])
        assert LIMIT_EN in posts[2] and LIMIT_AR in posts[3]
        assert _asked(slack.ctx.db, "slack:UALICE") == 2

        await slack.slack.event(_dm("UBOB", EN, "200.1"), event_id="EvB1")
        await slack.stub.wait_for(lambda: len(slack.stub.posts("DUBOB")) == 1)
        await slack.settle()
        assert LIMIT_EN not in json.dumps(slack.stub.posts("DUBOB"))
        assert _asked(slack.ctx.db, "slack:UBOB") == 1
