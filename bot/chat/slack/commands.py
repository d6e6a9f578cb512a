"""`/newsbrief SUBCOMMAND …` as a conversation-core Request, and the core's Reply as Slack answers.

A refusal, a usage hint or a quick action (help, lang) comes back in the acknowledgement itself;
anything else is acknowledged at once ("Working on it…" for a brief or an answer) and its reply is
posted through the command's response_url when the core has it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.chat.slack.questions import lang_of
from bot.chat.slack.render import reply_messages, reply_text
from bot.chat.slack.state import PLATFORM, Services
from bot.conversation import Reply, Request, is_admin, t
from bot.conversation.core import resolve

# Subcommands → the core's actions; `source VERB …` → `source_VERB`.
SUBCOMMANDS = {
    "help": "help", "lang": "lang", "brief": "brief", "ask": "ask", "subscribe": "subscribe",
    "unsubscribe": "unsubscribe", "settings": "settings", "sources": "sources", "stats": "stats",
}  # fmt: skip
SOURCE_VERBS = ("add", "remove", "pause", "resume")
SYNTAX = {
    "help": "/newsbrief help", "lang": "/newsbrief lang ar|en",
    "subscribe": "/newsbrief subscribe [thread] [ar|en|both] [HH:MM] [TIMEZONE]", "settings": "/newsbrief settings",
    "unsubscribe": "/newsbrief unsubscribe [thread|all]", "brief": "/newsbrief brief [thread] [ar|en]",
    "ask": "/newsbrief ask QUESTION", "sources": "/newsbrief sources",
    "source_add": "/newsbrief source add URL [thread …]", "source_remove": "/newsbrief source remove ID",
    "source_pause": "/newsbrief source pause ID", "source_resume": "/newsbrief source resume ID",
    "stats": "/newsbrief stats",
}  # fmt: skip


def command_request(services: Services, command: dict[str, Any]) -> Request:
    """The Request a slash command makes."""
    words = (command.get("text") or "").split()
    name = words[0].lower() if words else "help"
    rest = words[1:]
    if name == "source" and rest and rest[0].lower() in SOURCE_VERBS:
        action, rest = f"source_{rest[0].lower()}", rest[1:]
    elif name == "source":  # alone, or with an unknown verb
        action, rest = f"?source {rest[0] if rest else ''}".rstrip(), []
    else:
        action = SUBCOMMANDS.get(name, f"?{name}")
    user = command.get("user_id", "")
    text = " ".join(rest)
    return Request(
        platform=PLATFORM, user=user, chat=command.get("channel_id", ""), action=action, text=text,
        language=lang_of(text) if action == "ask" else "", is_admin=is_admin(services.ctx, PLATFORM, user),
        conversation=f"{command.get('channel_id', '')}:{user}", syntax=SYNTAX,
    )  # fmt: skip


async def on_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """`/newsbrief SUBCOMMAND …`: checked and, when quick, answered in the acknowledgement."""
    conv, req = services.conversation, command_request(services, command)
    early = await conv.check(req)
    found, _ = resolve(req)
    if early is None and found is not None and found.quick:
        early = await conv.run(req)
    if early is not None:
        await ack(text=reply_text(early), blocks=reply_messages(early)[0]["blocks"])
        return
    lang = await conv.lang(req)
    await ack(text=t(lang, "working")) if found is not None and found.slow else await ack()

    async def work() -> None:
        await post(respond, await conv.run(req))

    services.background.spawn(work())


async def post(respond: AsyncRespond, reply: Reply) -> None:
    """A reply through the response_url: for the channel when public, replacing the pressed message on edit."""
    if reply.silent:
        return
    kind = "in_channel" if reply.public else "ephemeral"
    for n, part in enumerate(reply_messages(reply)):
        await respond(
            text=part["text"],
            blocks=part["blocks"],
            response_type=kind,
            replace_original=reply.edit and n == 0,
        )
