"""The bot's real Telegram side against the Bot API stand-in, for the chat tests.

Its settings, the PTB Application long-polling the stand-in, and a user who writes or presses a button
and waits for the bot's answer; with them the seed threads and a one-story feed to add as a source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.chat.telegram.app import build_application
from bot.config import Settings
from bot.context import Context
from bot.threads.classify import load_threads
from storage.models import Thread
from tests.servers.telegram_stub import TOKEN, Sent, TelegramStub, until
from tests.servers.web import WebServer

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def telegram_settings(data_dir: Path, stub: TelegramStub, **overrides: Any) -> Settings:
    """Settings for a test: our data folder, the stub as the Bot API, no embeddings (they cost seconds)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "embedder": "none",
        "telegram_bot_token": SecretStr(TOKEN),
        "telegram_base_url": stub.base_url,
        "telegram_base_file_url": stub.base_file_url,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def polling(ctx: Context, **options: Any) -> AsyncIterator[Application]:
    """The production Application for `ctx` (`options` for build_application: its budget, its sleep),
    long-polling the stand-in until the block ends."""
    application = build_application(ctx, **options)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def say(stub: TelegramStub, chat: int, text: str, **options: Any) -> Sent:
    """Write `text` in `chat` (as `user_id=` if given) and wait for the bot's next message there."""
    before = len(stub.messages(chat))
    stub.send_text(chat_id=chat, text=text, **options)
    await until(lambda: len(stub.messages(chat)) > before)
    return stub.messages(chat)[before]


async def press(stub: TelegramStub, chat: int, message: Sent, data: str, **options: Any) -> Sent:
    """Press the button `data` under `message` and wait for the bot's next message or edit in `chat`."""
    assert data in buttons(message), (data, buttons(message))
    before = len(stub.messages(chat))
    stub.press(chat_id=chat, data=data, message_id=message.message_id, **options)
    await until(lambda: len(stub.messages(chat)) > before)
    return stub.messages(chat)[before]


def buttons(message: Sent) -> list[str]:
    """The callback data of every inline button under `message`, row by row."""
    markup = message.reply_markup or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def seed_threads(session: Session) -> None:
    """The seed threads as plain rows (no audit entries, unlike the production seeding)."""
    for thread in load_threads(SEEDS / "threads.toml"):
        session.add(
            Thread(id=thread.id, name_en=thread.name_en, name_ar=thread.name_ar, definition=thread.to_dict())
        )


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


def serve_pacific_wire(web_server: WebServer) -> str:
    """Serve the Pacific Wire feed (one Russia–DPRK story) and the story's page; the feed's address."""
    base = web_server.base_url.rstrip("/")
    web_server.add("/story1.html", PAGE.encode(), content_type="text/html; charset=utf-8")
    return web_server.add("/feed.xml", FEED.format(base=base).encode(), content_type="application/rss+xml")
