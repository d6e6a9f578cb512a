"""What the Slack listeners share: the conversation core, the poster, and the work started after an ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.chat.slack.sender import Poster, SlackSender
from bot.context import Context
from bot.conversation import Conversation

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Few answer threads: answers are CPU-bound under the GIL, and every extra runnable thread delays the
# event loop's acknowledgements (measured: one thread gave both lower ack latency and more answers/s).
ANSWER_WORKERS = 1


class Background:
    """The work started after an acknowledgement, tracked so it is not lost and can be awaited."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the current acknowledgement; its failure is logged, never raised."""
        task = asyncio.get_running_loop().create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> int:
        """How many pieces of work are still running."""
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the running work (and what it starts) to finish, up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def cancel(self) -> None:
        """Cancel whatever is still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("Slack background work failed")


@dataclass
class Services:
    """The conversation core and the Slack side's shared parts, handed to every listener."""

    conversation: Conversation
    sender: SlackSender
    poster: Poster
    background: Background = field(default_factory=Background)

    @property
    def ctx(self) -> Context:
        return self.conversation.ctx

    def close(self) -> None:
        """Let the answer threads go once their work is done."""
        self.conversation.close()
