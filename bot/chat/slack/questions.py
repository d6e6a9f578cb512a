"""Questions from Slack mentions, threads and DMs: answered by the core once per event, in their thread."""

from __future__ import annotations

import logging
import re

from bot.chat.slack.render import reply_messages, text_messages
from bot.chat.slack.state import Services
from bot.conversation import Request, t
from bot.qa.query import question_lang

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mentions(text: str) -> str:
    """The question without the `<@U123>` mentions that addressed it."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def lang_of(text: str) -> str:
    """The language of a text, English when it is empty."""
    return question_lang(text) if text.strip() else "en"


async def answer(services: Services, req: Request, channel: str, thread_ts: str | None) -> None:
    """Answer `req` (once per event id) in its thread; an apology when even that fails."""
    try:
        reply = await services.conversation.handle(req)
        if reply.silent:
            return
        parts = reply_messages(reply)
    except Exception:  # the analyst is told rather than left waiting
        log.exception("a Slack question could not be handled")
        parts = text_messages(t(req.language, "apology"))
    await services.poster.post_all(channel, parts, thread_ts=thread_ts)
