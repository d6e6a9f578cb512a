"""A circuit breaker: after some failures in a row, stop asking a failing service for a while.

Without it, an LLM endpoint that times out costs every story and every question LLM_TIMEOUT × (retries + 1)
before the offline fallback runs: a brief of twenty stories would go out an hour late. While the breaker
is open, callers fall back at once; after the cool-down one call tries again, and a success closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class Breaker:
    """Counts consecutive failures; open for `cooldown` seconds once they reach `threshold`."""

    def __init__(self, *, threshold: int = 3, cooldown: float = 300.0, clock: Clock = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._lock = threading.Lock()  # summaries run on worker threads, answers on the answer pool

    def wait_left(self) -> float:
        """Seconds until the service may be asked again; 0 when it may be asked now."""
        with self._lock:
            return max(0.0, self._open_until - self._clock())

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = 0.0

    def failed(self) -> bool:
        """Count a failure; True when this one opened the breaker."""
        with self._lock:
            self._failures += 1
            if self._failures < self.threshold:
                return False
            # Past the threshold every failure (the probe after a cool-down included) opens it again.
            self._open_until = self._clock() + self.cooldown
            return True

    @property
    def failures(self) -> int:
        return self._failures
