"""Slack listeners: short functions that acknowledge at once and leave the work to the background.

Questions (mentions, follow-ups in a thread the bot answered, direct messages) and button presses
become conversation-core Requests; the same event id is answered once however often Slack retries it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.chat.slack.commands import SYNTAX, on_command, post
from bot.chat.slack.questions import answer, lang_of, strip_mentions
from bot.chat.slack.render import FEEDBACK_DOWN, FEEDBACK_UP
from bot.chat.slack.state import PLATFORM, Services
from bot.conversation import Request, is_admin


def question(services: Services, event: dict[str, Any], body: dict[str, Any], **fields: Any) -> Request:
    text, user = strip_mentions(event.get("text", "")), event.get("user", "")
    return Request(
        platform=PLATFORM, user=user, chat=event["channel"], action="ask", text=text, language=lang_of(text),
        is_admin=is_admin(services.ctx, PLATFORM, user), event=str(body.get("event_id") or ""), syntax=SYNTAX,
        **fields,
    )  # fmt: skip


async def on_mention(event: dict[str, Any], body: dict[str, Any], services: Services) -> None:
    """A mention in a channel: the question is answered in the thread under it."""
    channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
    req = question(services, event, body, conversation=f"{channel}:{thread_ts}")
    services.background.spawn(answer(services, req, channel, thread_ts))


async def on_message(event: dict[str, Any], body: dict[str, Any], context: Any, services: Services) -> None:
    """A direct message is a question; a message in a thread the bot answered is a follow-up."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return
    text, channel, thread_ts = event.get("text", ""), event["channel"], event.get("thread_ts")
    direct = event.get("channel_type") == "im"
    if not direct and (not thread_ts or _mentions_bot(text, context.get("bot_user_id"))):
        return  # a mention is answered by on_mention; other channel chatter is not for us
    conversation = f"{channel}:{thread_ts}" if thread_ts else channel
    req = question(services, event, body, conversation=conversation, follow_up_only=not direct)
    services.background.spawn(answer(services, req, channel, thread_ts))


def _mentions_bot(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in (text or "")


async def on_action(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """A button: 👍/👎 on an answer, or one the core offered (its value is the core's data)."""
    await ack()
    user = body.get("user", {}).get("id", "")
    action_id, value = action.get("action_id", ""), str(action.get("value", ""))
    if action_id in (FEEDBACK_UP, FEEDBACK_DOWN):
        value = f"fb|{'up' if action_id == FEEDBACK_UP else 'down'}|{value}"
    channel = (body.get("channel") or {}).get("id", "")
    req = Request(
        platform=PLATFORM, user=user, chat=channel, button=value, is_admin=is_admin(services.ctx, PLATFORM, user),
        syntax=SYNTAX,
    )  # fmt: skip

    async def work() -> None:
        reply = await services.conversation.handle(req)
        reply.edit = reply.edit and not reply.alert
        await post(respond, reply)

    services.background.spawn(work())


__all__ = ["on_action", "on_command", "on_mention", "on_message"]
