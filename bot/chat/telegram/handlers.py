"""Telegram handlers: parse an update into a Request, let the conversation core answer, render the Reply.

Commands, buttons and plain text in a private chat (a question; a reply to an answer is a follow-up)
all go through the same three steps. What to say, who may do what, and what is audited is the core's
business (bot.conversation); this file only knows Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import ContextTypes

from bot.chat.telegram.render import render_reply
from bot.conversation import (
    ACTIONS,
    DEFAULT_COMMANDS,
    DEFAULT_SYNTAX,
    Button,
    Conversation,
    Reply,
    Request,
    is_admin,
)
from bot.conversation.core import resolve

log = logging.getLogger(__name__)

PLATFORM = "telegram"
Ctx = ContextTypes.DEFAULT_TYPE
# Telegram commands → the core's actions. Every button the core offers comes back as its own data.
COMMANDS = DEFAULT_COMMANDS
SYNTAX = DEFAULT_SYNTAX


def conversation(context: Ctx) -> Conversation:
    """The core, stored in bot_data by the Application builder."""
    conv: Conversation = context.application.bot_data["conversation"]
    return conv


async def may_change_chat(update: Update, context: Ctx) -> bool:
    """In a group only its administrators change its subscriptions; in a private chat, its user."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def request(
    update: Update, context: Ctx, *, action: str = "", text: str = "", button: str = ""
) -> Request:
    """The Request an update makes."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    user_id = str(user.id) if user else "unknown"
    req = Request(
        platform=PLATFORM, user=user_id, chat=str(chat.id) if chat else user_id, action=action, text=text,
        button=button, language=(user.language_code or "") if user else "",
        is_admin=is_admin(conversation(context).ctx, PLATFORM, user_id),
        message=str(message.message_id) if message and not button else "",
        reply_to=str(message.reply_to_message.message_id) if message and message.reply_to_message and not button else "",
        syntax=SYNTAX,
    )  # fmt: skip
    found, _ = resolve(req)
    if found is not None and found.chat_scoped:  # an API call, so only where it matters
        req = replace(req, chat_admin=await may_change_chat(update, context))
    return req


async def on_command(update: Update, context: Ctx) -> None:
    """`/command args`: the core's action of that name."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name = message.text.split()[0][1:].split("@")[0].lower()
    await answer(
        update,
        context,
        await request(update, context, action=COMMANDS[name], text=" ".join(context.args or [])),
    )


async def on_button(update: Update, context: Ctx) -> None:
    """A button the core offered: its data comes back to the core."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer(update, context, await request(update, context, button=query.data))


async def on_text(update: Update, context: Ctx) -> None:
    """Plain text in a private chat is a question (a reply to an answer is a follow-up)."""
    message = update.effective_message
    if message is not None and message.text:
        await answer(update, context, await request(update, context, action="ask", text=message.text))


async def answer(update: Update, context: Ctx, req: Request) -> None:
    """Check (quick: a refusal, a hint), acknowledge a button at once, then run the action and reply."""
    conv, query = conversation(context), update.callback_query
    early = await conv.check(req)
    if query is not None:
        alert = early is not None and early.alert
        await query.answer(early.plain[:200] if alert and early else None, show_alert=alert)
        if alert:
            return
    reply = early or await conv.run(req)
    if reply.silent:
        return
    sent = await show(update, reply)
    if sent is not None:
        await conv.posted(req, reply, str(sent.message_id))


async def show(update: Update, reply: Reply) -> Message | None:
    """The reply as HTML messages; it replaces the pressed message when the core says so."""
    parts, markup = render_reply(reply), keyboard(reply.buttons)
    query, message = update.callback_query, update.effective_message
    if query is not None and reply.edit and len(parts) == 1:
        edited = await query.edit_message_text(parts[0], parse_mode=ParseMode.HTML, reply_markup=markup)
        return edited if isinstance(edited, Message) else None
    last = None
    for n, part in enumerate(parts):
        if message is None:
            return None
        last = await message.reply_html(
            part, reply_markup=markup if n == len(parts) - 1 else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )  # fmt: skip
    return last


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows if row]
    )


__all__ = ["ACTIONS", "COMMANDS", "SYNTAX", "on_button", "on_command", "on_text"]
