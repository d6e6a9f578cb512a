"""Questions from Slack: answered in a worker thread, once per event id, with an apology on failure."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.slack import state
from bot.chat.slack.render import Message, answer_messages, escape, text_messages
from bot.chat.slack.state import Services, actor
from bot.chat.slack.texts import t
from bot.context import Context
from bot.qa import Answer, QAError, answer_question
from bot.qa.query import question_lang

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

Answerer = Callable[..., Answer]


@dataclass(frozen=True, slots=True)
class Question:
    """A question to answer and where the answer goes."""

    channel: str
    thread_ts: str | None
    text: str
    user: str
    conversation_id: str
    event_key: str | None
    follow_up: bool = False


def strip_mentions(text: str) -> str:
    """The question without the `<@U123>` mentions that addressed it."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def lang_of(text: str) -> str:
    """The language of a text, English when it is empty."""
    return question_lang(text) if text.strip() else "en"


def answer_parts(
    ctx: Context,
    question: str,
    *,
    conversation_id: str | None,
    user: str,
    answerer: Answerer = answer_question,
) -> list[Message]:
    """The answer as Block Kit messages, or the reason it cannot be answered, or an apology."""
    lang = state.ui_lang(ctx, user)
    try:
        answer = answerer(ctx, question, conversation_id=conversation_id, user=actor(user))
        return answer_messages(answer, ui_lang=lang)
    except QAError as error:
        return text_messages(escape(str(error)))
    except Exception:  # one failed answer must still say something in the thread
        log.exception("answering a Slack question failed")
        return text_messages(t(lang or lang_of(question), "apology"))


def answer_once(ctx: Context, question: Question, *, answerer: Answerer = answer_question) -> list[Message]:
    """The messages answering `question`; none for a retried event or a thread the bot is not in."""
    if question.follow_up and not state.has_conversation(ctx, question.conversation_id):
        return []
    if question.event_key and not state.first_time(ctx, question.event_key):
        log.info("Slack event %s already answered", question.event_key)
        return []
    return answer_parts(
        ctx, question.text, conversation_id=question.conversation_id, user=question.user, answerer=answerer
    )


async def answer(services: Services, question: Question) -> None:
    """Answer `question` once, in its thread."""
    try:
        parts = await services.run(answer_once, services.ctx, question, answerer=services.answerer)
    except Exception:  # e.g. the database is away: the analyst is told rather than left waiting
        log.exception("a Slack question could not be handled")
        parts = text_messages(t(lang_of(question.text), "apology"))
    await services.poster.post_all(question.channel, parts, thread_ts=question.thread_ts)
