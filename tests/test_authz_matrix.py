"""The authorization matrix: every bot-admin command and button, on Telegram and on Slack.

Each row is driven through the real stand-ins (Telegram updates from the Bot API stand-in, signed Slack
requests to our endpoint). As a non-admin the reply is a refusal, no table but the audit log changes and
the refusal is audited; as an admin the row's effect happens and exactly one audit row names who did
what to what. The rows are checked against the adapters' own registries, so an admin command added
without a row here fails `test_the_*_matrix_covers_every_admin_*`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from bot.chat.slack import EVENTS_PATH, build_slack
from bot.chat.slack.commands import SOURCE_VERBS as SLACK_SOURCE_VERBS
from bot.chat.slack.commands import SUBCOMMANDS as SLACK_SUBCOMMANDS
from bot.chat.slack.render import ACTION_IDS as SLACK_ACTION_IDS
from bot.chat.slack.render import SOURCE_CANCEL, SOURCE_CONFIRM
from bot.chat.telegram.handlers import COMMANDS as TELEGRAM_COMMANDS
from bot.context import Context
from bot.conversation import ACTIONS, BUTTONS
from bot.conversation.store import pending_key
from bot.delivery.subscriptions import subscribe
from bot.ingest import catalog
from bot.runtime.web import create_web_app
from storage.db import Database
from storage.models import AuditLog, Base, Setting, Source
from tests.harness import buttons, polling, press, say, seed_threads, serve_pacific_wire, telegram_settings
from tests.servers.slack_stub import (
    SlackSide,
    SlackStub,
    action_body,
    command_body,
    serve_asgi,
    slack_settings,
)
from tests.servers.telegram_stub import Sent, TelegramStub
from tests.servers.web import WebServer

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TG_ADMIN, TG_READER, TG_GROUP = 9001, 501, -100500
SLACK_ADMIN, SLACK_READER, CHANNEL = "UADMIN", "UREADER", "C0NEWS"
FORM = "application/x-www-form-urlencoded"

# Commands and buttons everyone may use; every registered one is either here or an admin row below.
TELEGRAM_READER_COMMANDS = {
    "start",
    "help",
    "lang",
    "subscribe",
    "settings",
    "unsubscribe",
    "brief",
    "ask",
    "sources",
}
TELEGRAM_READER_BUTTONS = {"lang", "s", "u", "b", "fb"}  # the core's button kinds
SLACK_READER_SUBCOMMANDS = {"help", "lang", "brief", "ask", "subscribe", "unsubscribe", "settings", "sources"}

# ---------------------------------------------------------------------------- state shared by both


@dataclass
class Seeded:
    """What every world starts with: the threads, one source, and two chats' subscriptions."""

    source_id: int
    source_location: str
    feed: str

    @property
    def feed_location(self) -> str:
        """The feed's address as the catalogue stores it."""
        return catalog.normalize_location(self.feed)


def seed(ctx: Context, web_server: WebServer) -> Seeded:
    feed = serve_pacific_wire(web_server)
    with ctx.db.session() as session:
        seed_threads(session)
        session.flush()
        source = catalog.add_source(session, location=str(SEEDS), kind="file", actor="test")
        # Subscriptions of other chats: no admin command, refused or not, may touch them.
        for platform, chat in (("telegram", "-100999"), ("slack", "COTHER")):
            subscribe(session, platform=platform, chat_id=chat, thread_id="russia-dprk", lang="en",
                      deliver_at="07:00", timezone="UTC", now=ctx.now(), created_by="someone")  # fmt: skip
        return Seeded(source.id, source.location, feed)


def snapshot(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log, in primary-key order."""
    with ctx.db.session() as session:
        present = set(inspect(session.connection()).get_table_names())
        return {
            table.name: [
                tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name in present and table.name != AuditLog.__tablename__
        }


def audit_mark(ctx: Context) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.max(AuditLog.id))) or 0)


def audits_since(ctx: Context, mark: int) -> list[tuple[str, str, str, bool]]:
    with ctx.db.session() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.id > mark).order_by(AuditLog.id))
        return [(a.actor, a.action, a.target, a.allowed) for a in rows]


def source(ctx: Context, location: str) -> Source | None:
    with ctx.db.session() as session:
        return session.scalars(select(Source).where(Source.location == location)).one_or_none()


def source_by_id(ctx: Context, source_id: int) -> Source | None:
    with ctx.db.session() as session:
        return session.get(Source, source_id)


async def pause_seeded(world: TelegramWorld | SlackWorld) -> None:
    """Setup for the resume rows: the seeded source is paused."""
    with world.ctx.db.session() as session:
        catalog.set_paused(session, world.seeded.source_id, paused=True, actor="test")


# What an admin row's effect looks like in the database, whichever platform ran it.


def removed(world: TelegramWorld | SlackWorld, reply: object) -> bool:
    return source_by_id(world.ctx, world.seeded.source_id) is None


def paused(world: TelegramWorld | SlackWorld, reply: object) -> bool:
    return getattr(source_by_id(world.ctx, world.seeded.source_id), "paused", False)


def resumed(world: TelegramWorld | SlackWorld, reply: object) -> bool:
    return getattr(source_by_id(world.ctx, world.seeded.source_id), "paused", True) is False


# ---------------------------------------------------------------------------- Telegram


@dataclass
class TelegramWorld:
    ctx: Context
    stub: TelegramStub
    web: WebServer
    seeded: Seeded
    preview: Sent | None = None  # an admin's /addsource preview in the group, for the button rows

    def fill(self, text: str) -> str:
        return text.format(feed=self.seeded.feed, source=self.seeded.source_id)

    def button(self, kind: str, message: Sent | None = None) -> str:
        """The callback data of the `kind` button (add or noadd) under `message` or the preview."""
        message = message or self.preview
        assert message is not None
        return next(data for data in buttons(message) if data.startswith(f"{kind}|"))

    def pending(self, message: Sent | None = None) -> bool:
        """Whether the preview (`message`, else the setup's) still waits for a confirmation."""
        token = self.button("add", message).split("|")[1]
        with self.ctx.db.session() as session:
            return session.get(Setting, pending_key(token)) is not None


async def telegram_preview(world: TelegramWorld) -> None:
    world.preview = await say(
        world.stub, TG_GROUP, world.fill("/addsource {feed} russia-dprk"), user_id=TG_ADMIN
    )
    assert "Pacific Wire" in world.preview.text, world.preview.text


async def nothing(world: Any) -> None:
    return None


@dataclass(frozen=True)
class TelegramCase:
    """One admin entry point: a command (`/name args`) or a preview button (`add`, `noadd`)."""

    registered: str  # the command name, or the callback data's kind
    text: str  # the command line, or the button's kind
    action: str  # audited when an admin runs it
    refused_action: str  # audited when anyone else tries
    worked: Callable[[TelegramWorld, Sent], bool]
    target: Callable[[Seeded], str]
    refused_target: Callable[[Seeded], str]
    setup: Callable[[TelegramWorld], Awaitable[None]] = nothing
    is_button: bool = False

    async def run(self, world: TelegramWorld, chat: int, user: int) -> Sent:
        if self.is_button:
            assert world.preview is not None
            return await press(world.stub, chat, world.preview, world.button(self.text), user_id=user)
        return await say(world.stub, chat, world.fill(self.text), user_id=user)


def _location(s: Seeded) -> str:
    return s.source_location


def _source_ref(s: Seeded) -> str:
    return str(s.source_id)


def _feed_location(s: Seeded) -> str:
    return s.feed_location


TELEGRAM_CASES = [
    TelegramCase(
        "addsource", "/addsource {feed} russia-dprk", "source.preview", "source.add",
        worked=lambda w, sent: "Pacific Wire" in sent.text and w.pending(sent),
        target=lambda s: s.feed, refused_target=lambda s: s.feed,
    ),
    TelegramCase(
        "add", "add", "source.add", "source.add",
        worked=lambda w, sent: "Added source" in sent.text and source(w.ctx, w.seeded.feed_location) is not None,
        target=_feed_location, refused_target=_feed_location, setup=telegram_preview, is_button=True,
    ),
    TelegramCase(
        "noadd", "noadd", "source.cancel", "source.add",
        worked=lambda w, sent: "Cancelled" in sent.text and not w.pending(),
        target=_feed_location, refused_target=_feed_location, setup=telegram_preview, is_button=True,
    ),
    TelegramCase(
        "removesource", "/removesource {source}", "source.remove", "source.remove",
        worked=removed,
        target=_location, refused_target=_source_ref,
    ),
    TelegramCase(
        "pausesource", "/pausesource {source}", "source.pause", "source.pause",
        worked=paused,
        target=_location, refused_target=_source_ref,
    ),
    TelegramCase(
        "resumesource", "/resumesource {source}", "source.resume", "source.resume",
        worked=resumed,
        target=_location, refused_target=_source_ref, setup=pause_seeded,
    ),
    TelegramCase(
        "stats", "/stats", "stats", "stats",
        worked=lambda w, sent: "Subscriptions: 2" in sent.text,  # the two seeded above
        target=lambda s: "", refused_target=lambda s: "",
    ),
]  # fmt: skip


# Who tries as a non-admin: a reader in a private chat, a plain group member, and a group administrator
# (an administrator of the chat is no administrator of the bot).
NON_ADMINS = {
    "private-chat": (TG_READER, False),
    "group-member": (TG_GROUP, False),
    "group-admin": (TG_GROUP, True),
}


@pytest.fixture
async def telegram(
    db: Database, tmp_path: Path, telegram_stub: TelegramStub, web_server: WebServer
) -> AsyncIterator[TelegramWorld]:
    settings = telegram_settings(
        tmp_path / "data",
        telegram_stub,
        telegram_admin_ids=[str(TG_ADMIN)],
        fetch_allowed_private_hosts=["127.0.0.1"],
    )
    ctx = Context(settings=settings, db=db)
    seeded = seed(ctx, web_server)
    async with polling(ctx):
        yield TelegramWorld(ctx, telegram_stub, web_server, seeded)


@pytest.mark.parametrize("who", list(NON_ADMINS))
@pytest.mark.parametrize("case", TELEGRAM_CASES, ids=lambda c: c.registered)
async def test_telegram_non_admin_is_refused_changes_nothing_and_is_audited(
    telegram: TelegramWorld, case: TelegramCase, who: str
) -> None:
    chat, group_admin = NON_ADMINS[who]
    if group_admin:
        telegram.stub.make_admin(TG_GROUP, TG_READER)
    await case.setup(telegram)
    before, mark, fetched = snapshot(telegram.ctx), audit_mark(telegram.ctx), len(telegram.web.requests)

    answer = await case.run(telegram, chat, TG_READER)

    assert "administrators only" in answer.text and "Nothing was changed" in answer.text
    assert not case.worked(telegram, answer)
    assert snapshot(telegram.ctx) == before
    assert len(telegram.web.requests) == fetched  # not even read
    refusal = (f"telegram:{TG_READER}", case.refused_action, case.refused_target(telegram.seeded), False)
    assert audits_since(telegram.ctx, mark) == [refusal]


@pytest.mark.parametrize("case", TELEGRAM_CASES, ids=lambda c: c.registered)
async def test_telegram_admin_command_works_and_is_audited_once(
    telegram: TelegramWorld, case: TelegramCase
) -> None:
    await case.setup(telegram)
    mark = audit_mark(telegram.ctx)

    answer = await case.run(telegram, TG_GROUP, TG_ADMIN)

    assert case.worked(telegram, answer), answer.text
    entry = (f"telegram:{TG_ADMIN}", case.action, case.target(telegram.seeded), True)
    assert audits_since(telegram.ctx, mark) == [entry]


def test_the_telegram_matrix_covers_every_admin_command_and_button() -> None:
    # Telegram serves every button the core offers, so its admin buttons are the core's.
    admin_commands = {name for name, action in TELEGRAM_COMMANDS.items() if ACTIONS[action].admin}
    admin_buttons = {kind for kind, action in BUTTONS.items() if ACTIONS[action].admin}
    rows = {case.registered: case for case in TELEGRAM_CASES}

    assert {c.registered for c in TELEGRAM_CASES if not c.is_button} == admin_commands
    assert {c.registered for c in TELEGRAM_CASES if c.is_button} == admin_buttons
    for name in admin_commands:  # the refusal is audited under the action the row expects
        assert ACTIONS[TELEGRAM_COMMANDS[name]].admin == rows[name].refused_action
    for kind in admin_buttons:
        assert ACTIONS[BUTTONS[kind]].admin == rows[kind].refused_action
    # A new command or button must be classified: an admin row above, or a reader entry.
    assert set(TELEGRAM_COMMANDS) - admin_commands == TELEGRAM_READER_COMMANDS
    assert set(BUTTONS) - admin_buttons == TELEGRAM_READER_BUTTONS


# ---------------------------------------------------------------------------- Slack


@dataclass
class Reply:
    """What Slack got back: the acknowledgement's body and the posts to the response_url."""

    status: int
    ack: dict[str, Any]
    responses: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return json.dumps([self.ack, *self.responses], ensure_ascii=False)


@dataclass
class SlackWorld:
    ctx: Context
    adapter: Any
    stub: SlackStub
    side: SlackSide
    seeded: Seeded
    buttons: dict[str, str] = field(default_factory=dict)  # action id → value, from an admin's preview
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fill(self, text: str) -> str:
        return text.format(feed=self.seeded.feed, source=self.seeded.source_id)

    async def send(
        self, case: SlackCase, user: str, *, signature: str | None = None, timestamp: int | None = None
    ) -> Reply:
        """POST the row's request as `user`, signed as Slack signs (unless told otherwise)."""
        name = f"authz{next(self._names)}"
        url = self.stub.response_url(name)
        if case.is_button:
            body = action_body(case.registered, self.buttons[case.registered], user_id=user, channel_id=CHANNEL,
                               response_url=url)  # fmt: skip
        else:
            body = command_body(self.fill(case.text), user_id=user, channel_id=CHANNEL, response_url=url)
        response = await self.side.send(body, FORM, signature=signature, timestamp=timestamp)
        await self.adapter.idle(30)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        ack = response.json() if response.content and is_json else {"text": response.text}
        return Reply(response.status_code, ack, self.stub.responses(name))


async def slack_preview(world: SlackWorld) -> None:
    reply = await world.send(SLACK_CASES[0], SLACK_ADMIN)
    [preview] = reply.responses
    world.buttons = {b["action_id"]: b["value"] for b in preview["blocks"][1]["elements"]}


@dataclass(frozen=True)
class SlackCase:
    """One admin entry point: a `/newsbrief` subcommand line, or a preview button's action id."""

    registered: str  # "subcommand verb", or the action id
    text: str
    action: str
    refused_action: str
    worked: Callable[[SlackWorld, Reply], bool]
    target: Callable[[Seeded], str]
    refused_target: Callable[[Seeded], str]
    setup: Callable[[SlackWorld], Awaitable[None]] = nothing
    is_button: bool = False


def _has_confirm_button(reply: Reply) -> bool:
    return any(
        element.get("action_id") == SOURCE_CONFIRM
        for response in reply.responses
        for block in response.get("blocks", [])
        for element in block.get("elements", [])
    )


SLACK_CASES = [
    SlackCase(
        "source add", "source add {feed} russia-dprk", "source.preview", "source.add",
        worked=lambda w, r: "Pacific Wire" in r.text and _has_confirm_button(r),
        target=lambda s: s.feed, refused_target=lambda s: s.feed,
    ),
    SlackCase(
        SOURCE_CONFIRM, "", "source.add", "source.add",
        worked=lambda w, r: "Added source" in r.text and source(w.ctx, w.seeded.feed_location) is not None,
        target=_feed_location, refused_target=_feed_location, setup=slack_preview, is_button=True,
    ),
    SlackCase(
        SOURCE_CANCEL, "", "source.cancel", "source.add",
        worked=lambda w, r: "Nothing was added" in r.text and r.responses[-1].get("replace_original") is True,
        target=_feed_location, refused_target=_feed_location, setup=slack_preview, is_button=True,
    ),
    SlackCase(
        "source remove", "source remove {source}", "source.remove", "source.remove",
        worked=removed,
        target=_location, refused_target=_source_ref,
    ),
    SlackCase(
        "source pause", "source pause {source}", "source.pause", "source.pause",
        worked=paused,
        target=_location, refused_target=_source_ref,
    ),
    SlackCase(
        "source resume", "source resume {source}", "source.resume", "source.resume",
        worked=resumed,
        target=_location, refused_target=_source_ref, setup=pause_seeded,
    ),
    SlackCase(
        "stats", "stats", "stats", "stats",
        worked=lambda w, r: "Subscriptions: 2 (Slack 1, Telegram 1)" in r.text,
        target=lambda s: "", refused_target=lambda s: "",
    ),
]  # fmt: skip


@pytest.fixture
async def slack_world(
    db: Database, tmp_path: Path, slack_stub: SlackStub, web_server: WebServer
) -> AsyncIterator[SlackWorld]:
    ctx = Context(settings=slack_settings(tmp_path / "data", slack_stub, embedder="none"), db=db)
    seeded = seed(ctx, web_server)
    adapter = build_slack(ctx, channel_interval=0.0)
    await adapter.start()
    async with serve_asgi(create_web_app(ctx, routes=adapter.routes())) as url:
        side = SlackSide(url + EVENTS_PATH, slack_stub)
        try:
            yield SlackWorld(ctx, adapter, slack_stub, side, seeded)
        finally:
            await adapter.stop(grace=10)
            await side.close()


@pytest.mark.parametrize("case", SLACK_CASES, ids=lambda c: c.registered)
async def test_slack_non_admin_is_refused_changes_nothing_and_is_audited(
    slack_world: SlackWorld, case: SlackCase, web_server: WebServer
) -> None:
    await case.setup(slack_world)
    before, mark, fetched = snapshot(slack_world.ctx), audit_mark(slack_world.ctx), len(web_server.requests)

    reply = await slack_world.send(case, SLACK_READER)

    assert reply.status == 200 and "administrators only" in reply.text
    assert not case.worked(slack_world, reply)
    assert snapshot(slack_world.ctx) == before
    assert len(web_server.requests) == fetched  # not even read
    refusal = (f"slack:{SLACK_READER}", case.refused_action, case.refused_target(slack_world.seeded), False)
    assert audits_since(slack_world.ctx, mark) == [refusal]


@pytest.mark.parametrize("case", SLACK_CASES, ids=lambda c: c.registered)
async def test_slack_admin_command_works_and_is_audited_once(
    slack_world: SlackWorld, case: SlackCase
) -> None:
    await case.setup(slack_world)
    mark = audit_mark(slack_world.ctx)

    reply = await slack_world.send(case, SLACK_ADMIN)

    assert reply.status == 200 and case.worked(slack_world, reply), reply.text
    entry = (f"slack:{SLACK_ADMIN}", case.action, case.target(slack_world.seeded), True)
    assert audits_since(slack_world.ctx, mark) == [entry]


FORGERIES: dict[str, Callable[[], dict[str, Any]]] = {
    "wrong-signature": lambda: {"signature": "v0=" + "0" * 64},
    "replayed-after-6-minutes": lambda: {"timestamp": int(time.time()) - 360},  # signed, but too old
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
@pytest.mark.parametrize("case", SLACK_CASES, ids=lambda c: c.registered)
async def test_a_forged_slack_request_never_reaches_an_admin_command(
    slack_world: SlackWorld, case: SlackCase, forgery: str, web_server: WebServer
) -> None:
    await case.setup(slack_world)
    before, mark, fetched = snapshot(slack_world.ctx), audit_mark(slack_world.ctx), len(web_server.requests)
    # The forger claims to be the admin; only the signing secret could make that true.
    reply = await slack_world.send(case, SLACK_ADMIN, **FORGERIES[forgery]())

    assert reply.status == 401 and reply.responses == []
    assert snapshot(slack_world.ctx) == before
    assert len(web_server.requests) == fetched
    assert audits_since(slack_world.ctx, mark) == []


def test_the_slack_matrix_covers_every_admin_subcommand_and_button() -> None:
    entries = {**SLACK_SUBCOMMANDS, **{f"source {verb}": f"source_{verb}" for verb in SLACK_SOURCE_VERBS}}
    admin_entries = {entry for entry, action in entries.items() if ACTIONS[action].admin}
    # Every admin button the core offers has its Slack action id (a KeyError here: one without).
    admin_buttons = {
        SLACK_ACTION_IDS[kind]: action for kind, action in BUTTONS.items() if ACTIONS[action].admin
    }

    assert {c.registered for c in SLACK_CASES if not c.is_button} == admin_entries
    assert {c.registered for c in SLACK_CASES if c.is_button} == set(admin_buttons)
    for case in SLACK_CASES:  # the refusal is audited under the action the row expects
        action = admin_buttons[case.registered] if case.is_button else entries[case.registered]
        assert ACTIONS[action].admin == case.refused_action
    # A new subcommand must be classified: an admin row above, or a reader entry.
    assert set(entries) - admin_entries == SLACK_READER_SUBCOMMANDS
