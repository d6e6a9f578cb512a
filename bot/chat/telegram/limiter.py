"""PTB's rate limiter hook: every interactive reply spends the bot's shared budget and outlasts 429s.

Every Bot API call PTB makes passes through `ReplyLimiter.process_request`. Messages (sends and edits)
wait for their chat's pace and for a slot of the bot's overall rate in the reply lane, ahead of any
broadcast part the outbox worker is waiting to send (bot.delivery.budget); then every call is retried
under bot.delivery.replies: a RetryAfter waited out for its retry_after, 5xx and network errors with
backoff for a bounded time. We subclass BaseRateLimiter rather than use AIORateLimiter because the latter
keeps a budget of its own (which the outbox cannot share, so a reply and a broadcast together would
exceed the bot's limit) and gives up after a fixed number of 429s.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.budget import Budget
from bot.delivery.replies import ReplyRetry, Sleep
from bot.metrics import Metrics

PLATFORM = "telegram"
# What spends the per-chat and overall message budget; other calls (answerCallbackQuery, getChatMember)
# are retried but not paced.
PACED = frozenset(
    {
        "sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument",
        "copyMessage", "forwardMessage",
    }
)  # fmt: skip
# The Updater retries its own long polls; pacing or retrying them here would only delay updates.
UNTOUCHED = frozenset({"getUpdates"})

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_after(error: BaseException) -> float | None:
    """The seconds a Bot API 429 asks to wait."""
    if not isinstance(error, RetryAfter):
        return None
    with warnings.catch_warnings():  # PTB warns that the int form of retry_after will become a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def transient(error: BaseException) -> bool:
    """5xx answers, timeouts and dropped connections (PTB's NetworkError), not a 400 (BadRequest)."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class ReplyLimiter(BaseRateLimiter[None]):
    """Paces PTB's messages within the bot's shared budget, replies first, and retries them."""

    def __init__(self, budget: Budget, *, metrics: Metrics | None = None, sleep: Sleep | None = None) -> None:
        self.budget = budget
        options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.retry = ReplyRetry(PLATFORM, retry_after, transient, metrics=metrics, **options)

    async def initialize(self) -> None:
        """Nothing to open: the budget belongs to the runner."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        """Call the Bot API for PTB: paced if it is a message, retried whatever it is."""
        if endpoint in UNTOUCHED:
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        paced = endpoint in PACED and chat_id is not None

        async def attempt() -> JSON:
            if paced:
                await self.budget.wait(str(chat_id), urgent=True)
            return await callback(*args, **kwargs)

        return await self.retry.run(attempt, what=f"Telegram {endpoint} to chat {chat_id or '-'}")
