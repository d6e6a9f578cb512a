"""Interactive replies are retried, never dropped at the first 429: the policy both chat adapters use.

A reply (an answer, a confirmation, a button's edit, an admin preview, a refusal) has no outbox row to
come back to later, so it is retried where it is sent, with tenacity:

- a rate limit (HTTP 429) is waited out for exactly what the platform asked (`retry_after`,
  `Retry-After`), never less, and tried again, however many times it comes. The bot's shared budget is
  not paused for it: a broadcast that meets the same limit pauses on its own 429, which is also when the
  outbox extends the leases of the rows it holds (a pause it did not see could outlast them);
- a 5xx or a network failure is retried with exponential backoff (0.5, 1, 2, 4, 8, 16, 30 s: about a
  minute over TRANSIENT_TRIES tries), then given up with an ERROR saying what could not be sent and why,
  counted as `newsbrief_replies{outcome="failed"}`;
- anything else (a 400, a 403) is the caller's to handle and is not retried.

A network failure after the platform accepted the message is indistinguishable from one before, so such
a retry may show the reply twice: the one duplicate no client can avoid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from bot.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

TRANSIENT_TRIES = 8
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0


@dataclass(frozen=True, slots=True)
class ReplyRetry:
    """How one platform's replies are retried; `run` sends one reply under it."""

    platform: str
    retry_after: Callable[[BaseException], float | None]  # seconds a rate limit asks to wait, else None
    transient: Callable[[BaseException], bool]  # a 5xx or a network failure
    metrics: Metrics | None = None
    sleep: Sleep = asyncio.sleep
    tries: int = TRANSIENT_TRIES

    async def run(self, attempt: Callable[[], Awaitable[T]], *, what: str) -> T:
        """`await attempt()` until it succeeds, a failure is not retryable, or transient ones outlast the
        tries (the last error is raised, after the ERROR line)."""
        transient = 0

        def retryable(error: BaseException) -> bool:
            nonlocal transient
            if self.retry_after(error) is not None:
                return True
            if self.transient(error):
                transient += 1
                return True
            return False

        def stop(state: RetryCallState) -> bool:
            return self.retry_after(_error(state)) is None and transient >= self.tries

        def wait(state: RetryCallState) -> float:
            seconds = self.retry_after(_error(state))
            if seconds is not None:
                return max(seconds, 0.0)
            return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (transient - 1))

        def before_sleep(state: RetryCallState) -> None:
            error = _error(state)
            seconds = self.retry_after(error)
            if seconds is not None:
                log.info("%s: %s asked to wait %.1f s; retrying then", what, self.platform, seconds)
                self._count("retried_429")
                return
            log.warning("%s failed (%s); retry %d of %d", what, _reason(error), transient, self.tries - 1)
            self._count("retried")

        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop,
            wait=wait,
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except Exception as error:
            if self.retry_after(error) is None and self.transient(error):
                log.error("%s: gave up after %d tries: %s", what, transient, _reason(error))
                self._count("failed")
            raise

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reply(self.platform, outcome)


def _error(state: RetryCallState) -> BaseException:
    """The failure tenacity is deciding about (its hooks run only after a failed attempt)."""
    error = state.outcome.exception() if state.outcome is not None else None
    return error if error is not None else RuntimeError("no outcome recorded")


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
