"""Each chat adapter lives and fails on its own: started in the background, retried with backoff, reported.

A platform that cannot be reached at start (Telegram's Bot API down, or blocked) is retried with
exponential backoff (tenacity) while everything else runs: the web server, the other adapters, the
scheduler, ingestion and the other platforms' deliveries. Its state (`connecting`, `up`, `failed`,
`stopped`) is on /healthz and in `newsbrief_adapter_state`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential, wait_random

from bot.metrics import Metrics

log = logging.getLogger(__name__)

STATES = ("connecting", "up", "failed", "stopped")
RETRY_MIN, RETRY_MAX = 1.0, 60.0  # seconds between attempts: 1, 2, 4 … up to a minute, plus jitter


@dataclass
class Adapters:
    """The state of every chat adapter of this process."""

    metrics: Metrics
    states: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    retry_min: float = RETRY_MIN
    retry_max: float = RETRY_MAX

    def set(self, name: str, state: str, error: str = "") -> None:
        self.states[name] = state
        self.errors[name] = error
        self.metrics.adapter_state(name, state)

    def report(self) -> dict[str, str]:
        """name → state, for /healthz."""
        return dict(self.states)

    async def connect(
        self,
        name: str,
        start: Callable[[], Awaitable[None]],
        *,
        transient: tuple[type[BaseException], ...],
        stopping: asyncio.Event,
    ) -> bool:
        """Run `start` until it works, retrying `transient` failures with backoff; False if it never did."""
        self.set(name, "connecting")

        def tell(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.set(name, "connecting", repr(error))
            wait = state.next_action.sleep if state.next_action else 0
            log.warning("%s is unreachable (%r); trying again in %.0f s", name, error, wait)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(transient),
            wait=wait_exponential(multiplier=self.retry_min, max=self.retry_max)
            + wait_random(0, self.retry_min),
            stop=lambda state: stopping.is_set(),
            before_sleep=tell,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await start()
        except transient as error:  # stopped while still unreachable
            self.set(name, "stopped", repr(error))
            return False
        except Exception as error:  # a permanent failure (a refused token): this adapter stays down
            log.error("%s cannot start: %s", name, error)
            self.set(name, "failed", str(error))
            return False
        self.set(name, "up")
        log.info("%s connected", name)
        return True
