"""Posting to Slack: the outbox's SlackSender, and a poster for answers that paces and never drops.

Slack allows about one message a second per channel; a 429 says how long to wait (Retry-After). The
outbox worker paces and retries briefs itself from the errors `send` raises; answers go through
`Poster`, which waits out every 429 however many there are, and retries 5xx, resets and cut answers
with backoff for about a minute before giving up loudly in the log (the answer itself is already in
the QA log by then).

A reset or a cut answer after Slack accepted the message is indistinguishable from one before, so
its retry may post the message twice: the one duplicate the platforms leave no way to avoid.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.slack_response import SlackResponse

from bot.chat.slack.render import Message, brief_messages, escape
from bot.delivery.base import ChatGone, DeliveryError, RetryAfter, TransientError
from bot.delivery.worker import Limits

log = logging.getLogger(__name__)

GONE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "account_inactive"})
DEFAULT_RETRY_AFTER = 1.0
CHANNEL_INTERVAL = 1.0
# 0.5 + 1 + 2 + 4 + 8 + 16 + 30 s: an answer outlasts about a minute of Slack failing.
TRANSIENT_TRIES = 8
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0

Sleep = Callable[[float], Awaitable[None]]


class SlackSender:
    """The outbox's sender for Slack: a brief payload as Block Kit messages, one chat.postMessage each."""

    platform = "slack"
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


class ChannelPacer:
    """At most one message per `interval` seconds per channel (real time, not the app's clock)."""

    def __init__(self, interval: float = CHANNEL_INTERVAL) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        """Sleep until `channel` may take another message, and reserve that slot."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            delay = self._next.get(channel, now) - now
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[channel] = max(now, time.monotonic()) + self.interval
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        if len(self._next) > 1000:  # keeps memory flat across many channels
            for channel in [c for c, at in self._next.items() if at < now and not self._locks[c].locked()]:
                del self._next[channel], self._locks[channel]


class Poster:
    """Posts interactive replies in order per channel, pacing them and outlasting rate limits."""

    def __init__(
        self,
        sender: SlackSender,
        *,
        pacer: ChannelPacer | None = None,
        tries: int = TRANSIENT_TRIES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sender = sender
        self.pacer = pacer or ChannelPacer()
        self.tries = tries
        self._sleep = sleep

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
        """Post one part: 429s are waited out without limit, transient errors retried with backoff."""
        failures = 0
        while True:
            await self.pacer.wait(channel)
            try:
                await self.sender.post(channel, part, thread_ts=thread_ts)
                return True
            except RetryAfter as error:
                log.info("Slack asked to wait %.1f s before posting to %s", error.seconds, channel)
                await self._sleep(error.seconds)
            except TransientError as error:
                failures += 1
                if failures >= self.tries:
                    log.error("giving up posting to %s after %d failures: %s", channel, failures, error)
                    return False
                log.warning("posting to %s failed (%s); retrying", channel, error)
                await self._sleep(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (failures - 1)))
            except DeliveryError as error:
                if part.get("blocks") and not isinstance(error, ChatGone):
                    # Slack refused the blocks: the plain text still reaches the reader.
                    log.error("Slack refused blocks for %s (%s); posting the text alone", channel, error)
                    part = {"text": part.get("text") or "…"}
                    continue
                log.error("cannot post to %s: %s", channel, error)
                return False
