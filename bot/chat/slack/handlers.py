"""Slack listeners: short functions that acknowledge at once and leave the work to the background.

Questions (mentions, follow-ups in a thread the bot answered, direct messages) are answered after the
acknowledgement; the same event id is answered once however often Slack retries it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.chat.slack import admin, state
from bot.chat.slack.command import Command
from bot.chat.slack.commands import SUBCOMMANDS
from bot.chat.slack.questions import Question, answer, lang_of, strip_mentions
from bot.chat.slack.render import escape
from bot.chat.slack.state import Services, actor
from bot.chat.slack.texts import t


def _event_key(body: dict[str, Any]) -> str | None:
    event_id = body.get("event_id")
    return f"slack:{event_id}" if event_id else None


async def on_mention(event: dict[str, Any], body: dict[str, Any], services: Services) -> None:
    """A mention in a channel: the question is answered in the thread under it."""
    channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
    question = Question(
        channel=channel,
        thread_ts=thread_ts,
        text=strip_mentions(event.get("text", "")),
        user=event.get("user", ""),
        conversation_id=f"{channel}:{thread_ts}",
        event_key=_event_key(body),
    )
    services.background.spawn(answer(services, question))


async def on_message(event: dict[str, Any], body: dict[str, Any], context: Any, services: Services) -> None:
    """A direct message is a question; a message in a thread the bot answered is a follow-up."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return
    text, channel, thread_ts = event.get("text", ""), event["channel"], event.get("thread_ts")
    direct = event.get("channel_type") == "im"
    if not direct and (not thread_ts or _mentions_bot(text, context.get("bot_user_id"))):
        return  # a mention is answered by on_mention; other channel chatter is not for us
    question = Question(
        channel=channel,
        thread_ts=thread_ts,
        text=strip_mentions(text),
        user=event["user"],
        conversation_id=f"{channel}:{thread_ts}" if thread_ts else channel,
        event_key=_event_key(body),
        follow_up=not direct,
    )
    services.background.spawn(answer(services, question))


def _mentions_bot(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in (text or "")


async def on_feedback(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """👍/👎 on an answer: stored on its QA log row."""
    await ack()
    value = 1 if action["action_id"].endswith("_up") else -1
    user = body.get("user", {}).get("id", "")

    async def work() -> None:
        try:
            log_id = int(action.get("value", ""))
        except ValueError:
            return
        if await asyncio.to_thread(state.set_feedback, services.ctx, log_id, value, user=actor(user)):
            lang = await asyncio.to_thread(state.ui_lang, services.ctx, user) or "en"
            await respond(text=t(lang, "thanks"), response_type="ephemeral", replace_original=False)

    services.background.spawn(work())


async def on_source_confirm(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """The admin confirmed a previewed source: add it (the admin is checked again, and audited)."""
    await ack()
    user = body.get("user", {}).get("id", "")
    services.background.spawn(admin.confirm_add(services, user, str(action.get("value", "")), respond))


async def on_source_cancel(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """The admin dismissed a preview (the admin is checked, and audited)."""
    await ack()
    user = body.get("user", {}).get("id", "")
    services.background.spawn(admin.cancel_add(services, user, str(action.get("value", "")), respond))


# The admin buttons, by action id: app.register wires exactly these, tests/test_authz_matrix.py covers each.
ADMIN_ACTIONS = {admin.SOURCE_CONFIRM: on_source_confirm, admin.SOURCE_CANCEL: on_source_cancel}


async def on_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """`/newsbrief SUBCOMMAND …`: dispatch to the subcommand."""
    words = (command.get("text") or "").split()
    name = words[0].lower() if words else "help"
    user = command.get("user_id", "")
    known = await asyncio.to_thread(state.ui_lang, services.ctx, user)
    lang = known or (lang_of(" ".join(words[1:])) if name == "ask" else "en")
    cmd = Command(user, command.get("channel_id", ""), words[1:], lang, ack, respond, services)
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        await cmd.say("unknown", word=escape(name[:50]))
        return
    await handler(cmd)
