"""Posting to Slack: the outbox's SlackSender, and the Poster and Responder for interactive replies.

Slack allows about one message a second per channel; a 429 says how long to wait (Retry-After). The
outbox worker paces and retries briefs itself from the errors `send` raises (its client has no 429
handler, so it sees them and holds every send). Replies use a client with slack_sdk's retry handlers:
answers go through `Poster`, which spends the bot's budget in the reply lane and retries what the
handlers leave under bot.delivery.replies (about a minute for 5xx, resets and cut answers, then an
ERROR; the answer itself is already in the QA log by then); ephemeral and command replies go through
`Responder`, a response_url client with the 429, 5xx and connection handlers.

A reset or a cut answer after Slack accepted the message is indistinguishable from one before, so
its retry may post the message twice: the one duplicate the platforms leave no way to avoid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.slack_response import SlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

from bot.chat.slack.render import Message, brief_messages, escape
from bot.delivery.base import ChatGone, DeliveryError, RetryAfter, TransientError
from bot.delivery.budget import Budget
from bot.delivery.replies import BACKOFF_BASE, TRANSIENT_TRIES, ReplyRetry, Sleep
from bot.delivery.worker import Limits
from bot.metrics import Metrics

log = logging.getLogger(__name__)

GONE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "account_inactive"})
DEFAULT_RETRY_AFTER = 1.0
CHANNEL_INTERVAL = 1.0
PLATFORM = "slack"
# A reply keeps waiting out 429s this many times inside slack_sdk, and then in the Poster, without end.
RATE_LIMIT_RETRIES = 100


class SlackSender:
    """The outbox's sender for Slack: a brief payload as Block Kit messages, one chat.postMessage each."""

    platform = PLATFORM
    # About one message a second per channel; no group rule.
    limits = Limits(rate=20.0, per_chat_interval=1.0, group_per_minute=10**6)

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    def render(self, brief: Mapping[str, Any]) -> Sequence[Message]:
        """The brief as Block Kit message payloads."""
        return brief_messages(brief)

    def notice(self, text: str) -> Message:
        """A plain-text notice as a message with its mrkdwn escaped."""
        return {"text": escape(text)}

    async def send(self, chat_id: str, part: Any) -> None:
        """Post one message to channel `chat_id`; raise RetryAfter, ChatGone or TransientError."""
        await self.post(chat_id, part)

    async def post(self, channel: str, message: Mapping[str, Any], *, thread_ts: str | None = None) -> str:
        """Post `message` (text, blocks) and return its ts; failures are the contract's errors."""
        kwargs = dict(message)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = await self.client.chat_postMessage(channel=channel, **kwargs)
        except SlackApiError as error:
            raise classify(error) from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TransientError(f"Slack unreachable: {type(error).__name__}") from None
        return str(response.get("ts") or "")


def classify(error: SlackApiError) -> DeliveryError:
    """The contract's error for a Slack API failure."""
    if not isinstance(error.response, AsyncSlackResponse | SlackResponse):
        # slack_sdk hands over the raw aiohttp response when the body was not JSON (e.g. cut short
        # with no Content-Length): whether Slack posted is unknown, so the message is tried again.
        return TransientError(
            f"Slack's answer could not be read (HTTP {getattr(error.response, 'status', '?')})"
        )
    status = error.response.status_code
    code = str(error.response.get("error") or "")
    if status == 429 or code == "ratelimited":
        return RetryAfter(_retry_after(error.response.headers), "Slack rate limit")
    if code in GONE_ERRORS:
        return ChatGone(f"Slack channel unavailable: {code}")
    if status >= 500 or code in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return TransientError(f"Slack error {status} {code}".strip())
    return DeliveryError(f"Slack refused the message: {code or status}")


def _retry_after(headers: Mapping[str, Any]) -> float:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


class Poster:
    """Posts interactive replies in order, within the bot's budget (ahead of its broadcast), retried.

    The reply client's own retry handlers (slack_sdk) wait out 429s for Retry-After and retry resets;
    what reaches the Poster after them (502, 504, an unreadable answer, a 500/503, handlers exhausted)
    is retried under bot.delivery.replies: backoff for about a minute, then an ERROR and a count."""

    def __init__(
        self,
        sender: SlackSender,
        *,
        budget: Budget,
        metrics: Metrics | None = None,
        tries: int = TRANSIENT_TRIES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sender, self.budget = sender, budget
        self.retry = ReplyRetry(
            PLATFORM, _rate_limited, _transient, metrics=metrics, sleep=sleep, tries=tries
        )

    async def post_all(self, channel: str, parts: Sequence[Message], *, thread_ts: str | None = None) -> int:
        """Post every part in order, stopping at one that cannot be posted (a later part alone would
        read as a fragment); returns how many went out."""
        sent = 0
        for part in parts:
            if not await self.post(channel, part, thread_ts=thread_ts):
                log.error(
                    "posted %d of %d parts to %s (thread %s); the rest were not delivered",
                    sent, len(parts), channel, thread_ts or "-",
                )  # fmt: skip
                break
            sent += 1
        return sent

    async def post(self, channel: str, part: Message, *, thread_ts: str | None = None) -> bool:
        """Post one part; False when it could not be posted (the reason is logged)."""

        async def attempt() -> None:
            await self.budget.wait(channel, urgent=True)
            await self.sender.post(channel, part, thread_ts=thread_ts)

        try:
            await self.retry.run(attempt, what=f"Slack answer to {channel}")
            return True
        except (RetryAfter, TransientError):
            return False  # given up after the retries; logged and counted by the policy
        except DeliveryError as error:
            if part.get("blocks") and not isinstance(error, ChatGone):
                # Slack refused the blocks: the plain text still reaches the reader.
                log.error("Slack refused blocks for %s (%s); posting the text alone", channel, error)
                return await self.post(channel, {"text": part.get("text") or "…"}, thread_ts=thread_ts)
            log.error("cannot post to %s: %s", channel, error)
            return False


def _rate_limited(error: BaseException) -> float | None:
    return error.seconds if isinstance(error, RetryAfter) else None


def _transient(error: BaseException) -> bool:
    return isinstance(error, TransientError)


def reply_retry_handlers(metrics: Metrics | None = None) -> list[AsyncRetryHandler]:
    """slack_sdk's handlers for the client that answers users: resets retried once (slack_sdk's default),
    429s waited out for Retry-After (plus up to a second of jitter, never less), many times over."""
    return [
        AsyncConnectionErrorRetryHandler(),
        CountedRateLimitRetry(metrics, max_retry_count=RATE_LIMIT_RETRIES),
    ]


def respond_retry_handlers(metrics: Metrics | None = None) -> list[AsyncRetryHandler]:
    """For response_url posts (ephemeral answers, command replies), which have no Poster around them:
    429s, 500/503 and resets, with backoff, all through slack_sdk's handlers."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=BACKOFF_BASE)
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=TRANSIENT_TRIES - 1, interval_calculator=backoff),
        AsyncServerErrorRetryHandler(max_retry_count=TRANSIENT_TRIES - 1, interval_calculator=backoff),
        CountedRateLimitRetry(metrics, max_retry_count=RATE_LIMIT_RETRIES),
    ]


class CountedRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, logging each wait and counting it as `newsbrief_replies{outcome="retried_429"}`."""

    def __init__(self, metrics: Metrics | None, *, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        response = kwargs.get("response")
        wait = _retry_after(response.headers) if response is not None else DEFAULT_RETRY_AFTER
        log.info("Slack asked to wait %.1f s; retrying then", wait)
        if self.metrics is not None:
            self.metrics.reply(PLATFORM, "retried_429")
        await super().prepare_for_next_attempt_async(**kwargs)


class Responder:
    """Bolt's `respond` (a response_url post) with slack_sdk's retry handlers, which Bolt's own lacks;
    a post that still fails is logged with the reason and counted."""

    def __init__(self, response_url: str, *, metrics: Metrics | None = None, timeout: int = 30) -> None:
        self.response_url, self.metrics = response_url, metrics
        self.client = AsyncWebhookClient(
            response_url, timeout=timeout, retry_handlers=respond_retry_handlers(metrics)
        )

    async def __call__(self, text: str = "", **fields: Any) -> WebhookResponse:
        """Post `text` and `fields` (blocks, response_type, replace_original, …) to the response_url."""
        message = {"text": text, **{key: value for key, value in fields.items() if value is not None}}
        try:
            response = await self.client.send_dict(message)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as error:
            self._failed(f"{type(error).__name__}: {error}")
            raise
        if response.status_code != 200:
            self._failed(f"HTTP {response.status_code} {str(response.body)[:200]}")
        return response

    def _failed(self, reason: str) -> None:
        log.error("Slack response_url post failed after its retries: %s", reason)
        if self.metrics is not None:
            self.metrics.reply(PLATFORM, "failed")
