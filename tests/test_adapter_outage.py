"""A Telegram outage stops nothing else: `newsbrief run` with the Bot API down at start, then back, then down.

The Bot API stand-in is stopped before the bot starts (so every call to it is refused, as when Telegram
is down or blocked), started again on the same port, and stopped and started once more mid-run. Slack
(signed requests to /slack/events and its stand-in Web API) keeps answering throughout; ingestion and
Slack's scheduled brief go on; Telegram's brief waits in the outbox and arrives once the API is back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bot.app import build_context
from bot.config import Settings
from bot.delivery.subscriptions import subscribe
from bot.runtime.runner import serve
from storage.models import Article, Delivery, Subscription
from tests.processes import free_port
from tests.servers.slack_stub import BOT_TOKEN, SIGNING_SECRET, SlackSide, SlackStub, command_body
from tests.servers.telegram_stub import TOKEN, TelegramStub

CHAT, CHANNEL = 77, "C0NEWS"


def settings(data: Path, telegram_url: str, slack: SlackStub) -> Settings:
    return Settings(
        _env_file=None, data_dir=data, embedder="none", ingest_interval=3600, adapter_retry_max=1.0,
        telegram_bot_token=TOKEN, telegram_base_url=f"{telegram_url}/bot", telegram_base_file_url=f"{telegram_url}/file/bot",
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url,
    )  # fmt: skip


def due_briefs(config: Settings) -> None:
    """A Telegram chat and a Slack channel whose daily brief is due now."""
    ctx = build_context(config)
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        for platform, chat in (("telegram", str(CHAT)), ("slack", CHANNEL)):
            subscribe(session, platform=platform, chat_id=chat, thread_id="russia-dprk", lang="en",
                      deliver_at="07:00", timezone="UTC", now=now)  # fmt: skip
        session.execute(update(Subscription).values(next_due_at=now - timedelta(minutes=1)))
    ctx.db.dispose()


async def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await check()
            if result:
                return result
        except (httpx.HTTPError, AssertionError):
            pass
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_telegram_down_at_start_and_mid_run_stops_nothing_else_and_loses_nothing(
    tmp_path: Path, slack_stub: SlackStub
) -> None:
    telegram = TelegramStub().start()
    telegram_port, telegram_url = telegram.port, f"http://127.0.0.1:{telegram.port}"
    telegram.stop()  # Telegram is down before the bot starts
    config = settings(tmp_path / "data", telegram_url, slack_stub)
    due_briefs(config)
    ctx = build_context(config)
    port, stop = free_port(), asyncio.Event()
    run = asyncio.create_task(serve(ctx, port=port, install_signals=False, stop_event=stop))
    web = f"http://127.0.0.1:{port}"
    slack = SlackSide(web + "/slack/events", slack_stub)
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def health() -> dict[str, Any]:
                response = await http.get(web + "/healthz")
                return response.json() if response.status_code == 200 else {}

            async def slack_answers() -> bool:
                response = await slack.send(command_body("help", user_id="U1", channel_id=CHANNEL,
                                                         response_url=slack_stub.response_url("h")),
                                            "application/x-www-form-urlencoded")  # fmt: skip
                return response.status_code == 200 and "Commands" in response.text

            report = await eventually(health)
            assert report["adapters"] == {"telegram": "connecting", "slack": "up"}
            assert await slack_answers()  # Slack answers while Telegram is down
            await slack_stub.wait_for(
                lambda: bool(slack_stub.posts(CHANNEL)), timeout=60
            )  # its brief went out
            assert "Russia" in json.dumps(slack_stub.posts(CHANNEL), ensure_ascii=False)

            def count(query: Any) -> int:
                with ctx.db.session() as session:
                    return int(session.scalar(query) or 0)

            await eventually(lambda: asyncio.sleep(0, count(select(func.count(Article.id))) > 0))  # ingested
            telegram_rows = select(func.count(Delivery.id)).where(Delivery.platform == "telegram")
            assert count(telegram_rows.where(Delivery.status == "pending")) == 1  # waiting, not failed
            assert run.done() is False

            telegram.start(port=telegram_port)  # the Bot API is back
            brief = await asyncio.to_thread(telegram.wait_for_message, CHAT, timeout=60)
            assert brief.text.startswith("<b>Russia")
            assert (await health())["adapters"]["telegram"] == "up"
            metrics = (await http.get(web + "/metrics")).text
            assert 'newsbrief_adapter_state{adapter="telegram",newsbrief_adapter_state="up"} 1.0' in metrics
            telegram.send_text(chat_id=CHAT + 1, text="/help")
            assert (
                "/subscribe"
                in (await asyncio.to_thread(telegram.wait_for_message, CHAT + 1, timeout=30)).text
            )

            telegram.stop()  # down again, mid-run
            assert await slack_answers()
            assert (await health())["status"] == "ok"
            telegram.start(port=telegram_port)
            telegram.send_text(chat_id=CHAT + 2, text="/help")  # polling picks up again by itself
            assert (
                "/subscribe"
                in (await asyncio.to_thread(telegram.wait_for_message, CHAT + 2, timeout=90)).text
            )
            assert count(telegram_rows.where(Delivery.status == "sent")) == 1
    finally:
        stop.set()
        await asyncio.wait_for(run, 60)
        await slack.close()
        telegram.stop()
        ctx.db.dispose()
