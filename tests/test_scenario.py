"""One scenario file, the same reader and admin conversation, on Telegram, Slack and the terminal.

Each platform runs against its real stand-in (the Bot API stand-in for Telegram, signed requests to our
/slack/events for Slack) or, for the terminal, its real session; each starts from a copy of the same
seeded archive. The replies must say the same things, and the database must end up the same way.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_context
from bot.chat.slack.commands import SUBCOMMANDS as SLACK_SUBCOMMANDS
from bot.chat.slack.render import ACTION_IDS
from bot.chat.telegram.handlers import COMMANDS as TELEGRAM_COMMANDS
from bot.chat.terminal import COMMANDS as TERMINAL_COMMANDS
from bot.chat.terminal import Terminal
from bot.config import Settings
from bot.context import Context
from bot.conversation import Conversation
from bot.conversation.store import answer_key
from storage.models import AuditLog, QALog, Setting, Source, Subscription
from tests.harness import buttons, polling, press, say, serve_pacific_wire
from tests.servers.slack_stub import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    SlackStub,
    copy_archive,
    slack_harness,
)
from tests.servers.telegram_stub import TOKEN, TelegramStub, until
from tests.servers.web import WebServer

SCENARIO = tomllib.loads((Path(__file__).parent / "scenarios" / "reader_admin.toml").read_text())["step"]
PLATFORMS = ("telegram", "slack", "terminal")
USERS = {"telegram": {"reader": "501", "admin": "9001"}, "slack": {"reader": "UREADER", "admin": "UADMIN"},
         "terminal": {"reader": "reader", "admin": "admin"}}  # fmt: skip
CHANNEL = "C0NEWS"


@dataclass
class Driver:
    """One platform: `send(who, step)` types the step there and returns everything the bot answered."""

    ctx: Context
    send: Callable[[str, dict[str, Any]], Awaitable[str]]
    last: dict[str, Any] = field(default_factory=dict)


def spelled(table: dict[str, str], action: str) -> str:
    """How a platform's command table spells a core action."""
    return next(name for name, target in table.items() if target == action)


def settings(data: Path, telegram: TelegramStub, slack: SlackStub) -> Settings:
    return Settings(
        _env_file=None, data_dir=data, telegram_bot_token=TOKEN, telegram_base_url=telegram.base_url,
        telegram_base_file_url=telegram.base_file_url, telegram_admin_ids=["9001"], slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url, slack_admin_ids=["UADMIN"],
        fetch_allowed_private_hosts=["127.0.0.1"],
    )  # fmt: skip


@asynccontextmanager
async def telegram_driver(config: Settings, stub: TelegramStub, embedder: Any) -> AsyncIterator[Driver]:
    ctx = build_context(config)
    ctx._embedder = embedder
    async with polling(ctx):
        driver = Driver(ctx, send=lambda who, step: None)  # type: ignore[arg-type, return-value]

        async def send(who: str, step: dict[str, Any]) -> str:
            chat = int(USERS["telegram"][who])
            if "press" in step:
                data = next(d for d in buttons(driver.last[who]) if d.startswith(step["press"] + "|"))
                sent = await press(stub, chat, driver.last[who], data)
            elif step["do"] in ("ask", "follow_up"):
                reply_to = driver.last.get("answer") if step["do"] == "follow_up" else None
                sent = await say(stub, chat, step["text"], **({"reply_to": reply_to} if reply_to else {}))
                key = answer_key("telegram", str(chat), str(sent.message_id))
                await until(lambda: _stored(ctx, key))  # filed once Telegram accepted it
                driver.last["answer"] = sent.message_id
            else:
                sent = await say(
                    stub, chat, f"/{spelled(TELEGRAM_COMMANDS, step['do'])} {step.get('text', '')}"
                )
            driver.last[who] = sent
            return sent.text

        driver.send = send
        yield driver


@asynccontextmanager
async def slack_driver(config: Settings, stub: SlackStub, data: Path, embedder: Any) -> AsyncIterator[Driver]:
    async with slack_harness(stub, data, embedder=embedder, settings=config) as harness:
        driver = Driver(harness.ctx, send=lambda who, step: None)  # type: ignore[arg-type, return-value]
        events = iter(range(1, 1000))

        async def send(who: str, step: dict[str, Any]) -> str:
            user, posted = USERS["slack"][who], len(stub.posts(CHANNEL))
            if "press" in step:
                action_id = ACTION_IDS.get(step["press"], "")
                value = next(
                    e["value"]
                    for b in driver.last[who]
                    for e in b.get("elements", [])
                    if e["action_id"] == action_id
                )
                ack, name = await harness.slack.press(action_id, value, user=user, channel=CHANNEL)
            elif step["do"] in ("ask", "follow_up"):
                n = next(events)
                event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {step['text']}",
                         "ts": f"{n}.5", "channel": CHANNEL}  # fmt: skip
                if step["do"] == "follow_up":
                    event = {**event, "type": "message", "channel_type": "channel", "text": step["text"],
                             "thread_ts": driver.last["thread"]}  # fmt: skip
                driver.last.setdefault("thread", event["ts"])
                await harness.slack.event(event, event_id=f"EvS{n}")
                await stub.wait_for(lambda: len(stub.posts(CHANNEL)) > posted)
                await harness.settle()
                return json.dumps(stub.posts(CHANNEL)[posted:], ensure_ascii=False)
            else:
                verb = step["do"].removeprefix("source_")
                name = (
                    f"source {verb}"
                    if step["do"].startswith("source_")
                    else spelled(SLACK_SUBCOMMANDS, step["do"])
                )
                ack, name = await harness.slack.command(
                    f"{name} {step.get('text', '')}", user=user, channel=CHANNEL
                )
            await harness.settle()
            body = (
                ack.json()
                if ack.content and ack.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            replies = [body, *stub.responses(name)]
            driver.last[who] = [block for reply in replies for block in reply.get("blocks", [])]
            return json.dumps(replies, ensure_ascii=False)

        driver.send = send
        yield driver


@asynccontextmanager
async def terminal_driver(config: Settings, embedder: Any) -> AsyncIterator[Driver]:
    ctx = build_context(config)
    ctx._embedder = embedder
    conversation = Conversation(ctx)
    sessions = {
        who: Terminal(conversation, user=user, admin=who == "admin")
        for who, user in USERS["terminal"].items()
    }

    async def send(who: str, step: dict[str, Any]) -> str:
        session = sessions[who]
        if "press" in step:
            n = next(
                i for i, b in enumerate(session.buttons, start=1) if b.data.startswith(step["press"] + "|")
            )
            return await session.say(str(n))
        if step["do"] in ("ask", "follow_up"):
            return await session.say(("> " if step["do"] == "follow_up" else "") + step["text"])
        return await session.say(f"/{spelled(TERMINAL_COMMANDS, step['do'])} {step.get('text', '')}")

    yield Driver(ctx, send)
    ctx.db.dispose()


def _stored(ctx: Context, key: str) -> bool:
    with ctx.db.session() as session:
        return session.get(Setting, key) is not None


@pytest.fixture(params=PLATFORMS)
async def driver(
    request: pytest.FixtureRequest, tmp_path: Path, seeded_archive: Path, shared_embedder: Any,
    telegram_stub: TelegramStub, slack_stub: SlackStub,
) -> AsyncIterator[Driver]:  # fmt: skip
    data = copy_archive(seeded_archive, tmp_path / "data")
    config = settings(data, telegram_stub, slack_stub)
    if request.param == "telegram":
        async with telegram_driver(config, telegram_stub, shared_embedder) as found:
            yield found
    elif request.param == "slack":
        async with slack_driver(config, slack_stub, data, shared_embedder) as found:
            yield found
    else:
        async with terminal_driver(config, shared_embedder) as found:
            yield found


async def test_the_reader_and_admin_scenario_says_the_same_on_every_platform(
    driver: Driver, request: pytest.FixtureRequest, web_server: WebServer
) -> None:
    platform = request.node.callspec.params["driver"]
    feed = serve_pacific_wire(web_server)
    with driver.ctx.db.session() as session:
        seed_source = session.scalars(select(Source).order_by(Source.id)).first()
        assert seed_source is not None
    for n, step in enumerate(SCENARIO):
        if platform not in step.get("only", PLATFORMS):
            continue
        step = {**step, "text": step.get("text", "").format(feed=feed, source=seed_source.id)}
        said = await driver.send(step["who"], step)
        for piece in step.get("expect", []):
            assert piece in said, (
                f"step {n} ({step.get('do') or step.get('press')}) on {platform}: {piece!r} not in {said[:1500]}"
            )
        for piece in step.get("absent", []):
            assert piece not in said, f"step {n} on {platform}: {piece!r} in {said[:1500]}"

    users = USERS[platform]
    with driver.ctx.db.session() as session:
        first, second = session.scalars(select(QALog).order_by(QALog.id)).all()
        audits = [(a.actor, a.action, a.allowed) for a in session.scalars(select(AuditLog).order_by(AuditLog.id))
                  if a.actor.startswith(platform)]  # fmt: skip
        subscriptions = session.scalars(select(Subscription)).all()
        added = session.scalars(select(Source).where(Source.name == "Pacific Wire")).one()
    assert first.conversation_id == second.conversation_id  # the follow-up joined the question
    assert "Lavrov" in second.answer["resolved_question"]  # and "he" became its subject
    assert added.added_by == f"{platform}:{users['admin']}" and added.threads == ["russia-dprk"]
    reader, admin = f"{platform}:{users['reader']}", f"{platform}:{users['admin']}"
    assert audits == [
        (reader, "source.add", False), (reader, "stats", False), (admin, "source.preview", True),
        (admin, "source.add", True), (admin, "source.pause", True), (admin, "source.resume", True),
        (admin, "stats", True),
    ]  # fmt: skip
    assert [(s.platform, s.deliver_at) for s in subscriptions] == (
        [] if platform == "terminal" else [(platform, "07:30")]
    )
