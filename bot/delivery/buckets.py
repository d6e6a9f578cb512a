"""One send rate per bot, shared by every process: Telegram and Slack count per token, not per process.

The bucket is one row in PostgreSQL holding the next free send slot (epoch seconds on the database's
clock, so the processes' clocks do not matter). Each grant moves the slot forward by one interval in a
single UPDATE … RETURNING, so concurrent grants from any number of processes are serialized by the row
lock and never overlap; the caller sleeps until its slot. With REDIS_URL set, the same slot lives in a
Redis key and a Lua script (atomic in Redis) moves it, on Redis's clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from storage.db import Database
from storage.models import RateBucket

# A little under the limit, so that network jitter between a slot and its arrival at the platform never
# puts one message too many into any one-second window there.
HEADROOM = 0.015
# A slot this late (the event loop was busy) is given up rather than used: sending it anyway would bunch
# it with the next ones.
LATE = 0.01

# clock_timestamp() in SET is read once the row is locked, so waiting for the lock never yields a slot
# in the past.
_GRANT = text(
    "UPDATE rate_buckets SET next_slot = GREATEST(next_slot, extract(epoch FROM clock_timestamp())) + :interval "
    "WHERE name = :name RETURNING next_slot - :interval"
)
_NOW = text("SELECT extract(epoch FROM clock_timestamp())::float8")
CLOCK_SAMPLES = 5
_PAUSE = text(
    "UPDATE rate_buckets SET next_slot = GREATEST(next_slot, extract(epoch FROM clock_timestamp()) + :seconds) "
    "WHERE name = :name"
)


class Bucket(Protocol):
    """An overall send rate: this process's TokenBucket, or one every process shares."""

    async def acquire(self) -> None: ...

    def pause(self, seconds: float) -> None: ...


class Lanes:
    """One bucket, two lanes: a reply takes the next slot before any broadcast send that is waiting.

    Replies and the outbox draw from the same bucket, so together they never exceed its rate; what the
    lanes decide is only who gets the next slot. At most `depth` waiters at a time hold the bucket
    (reserve a slot and sleep until it), so at most `depth` broadcast slots are ever ahead of a reply
    that arrives, however many broadcast sends are queued. A reply never waits for the broadcast to
    finish, and it takes the slot the broadcast would have had rather than an extra one. A depth above
    one keeps a few grants of a shared bucket in flight, so a database round trip per grant does not
    bound this process's rate.
    """

    def __init__(self, bucket: Bucket, *, depth: int = 1) -> None:
        self.bucket = bucket
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._bulk: deque[asyncio.Future[None]] = deque()
        self._free = depth

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a slot of the shared rate; `urgent` (a reply) goes ahead of every bulk waiter."""
        await self._turn(self._urgent if urgent else self._bulk)
        try:
            await self.bucket.acquire()
        finally:
            self._hand_on()

    def pause(self, seconds: float) -> None:
        """Hold both lanes for `seconds` (the platform said 429)."""
        self.bucket.pause(seconds)

    @property
    def waiting(self) -> tuple[int, int]:
        """(replies, broadcast sends) waiting for a slot."""
        return len(self._urgent), len(self._bulk)

    async def _turn(self, lane: deque[asyncio.Future[None]]) -> None:
        if self._free > 0:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        lane.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._hand_on()  # handed the bucket just as we were cancelled: pass it on
            raise

    def _hand_on(self) -> None:
        for lane in (self._urgent, self._bulk):
            while lane:
                turn = lane.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._free += 1


class RateLimitError(Exception):
    """The shared bucket cannot be used as configured."""


def bucket_name(platform: str, token: str) -> str:
    """A bucket per bot token, named without the token itself."""
    return f"{platform}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


class SharedBucket:
    """The TokenBucket interface (`acquire`, `pause`) over a row every process shares."""

    def __init__(self, db: Database, *, name: str, rate: float, headroom: float = HEADROOM) -> None:
        if rate <= 0:
            raise RateLimitError("the rate must be positive")
        if db.is_sqlite:
            raise RateLimitError("a shared rate limit needs PostgreSQL; SQLite runs one process only")
        self.db, self.name = db, name
        self.interval = (1.0 + headroom) / rate
        self._ready = False
        self.offset = 0.0  # database clock minus this process's wall clock

    def _ensure(self) -> None:
        if self._ready:
            return
        with self.db.session() as session:
            session.execute(insert(RateBucket).values(name=self.name, next_slot=0.0).on_conflict_do_nothing())
        self.offset = self._clock_offset()
        self._ready = True

    def _clock_offset(self) -> float:
        """The database clock against ours, from the quickest of a few round trips."""
        samples = []
        with self.db.engine.connect() as connection:
            for _ in range(CLOCK_SAMPLES):
                before = time.time()
                now = float(connection.execute(_NOW).scalar_one())
                after = time.time()
                samples.append((after - before, now - (before + after) / 2))
        return min(samples)[1]

    def grant(self) -> float:
        """Reserve the next slot: epoch seconds on this process's clock."""
        self._ensure()
        with self.db.engine.begin() as connection:
            slot = connection.execute(_GRANT, {"interval": self.interval, "name": self.name}).scalar_one()
        return float(slot) - self.offset

    async def acquire(self) -> None:
        """Wait for this process's next slot of the shared rate."""
        await _acquire(self.grant, self.interval)

    def pause(self, seconds: float) -> None:
        """Hold every process for `seconds` (the platform said 429)."""
        self._ensure()
        with self.db.engine.begin() as connection:
            connection.execute(_PAUSE, {"seconds": max(seconds, 0.0), "name": self.name})


async def _acquire(grant: Callable[[], float], interval: float) -> None:
    while True:
        slot = await asyncio.to_thread(grant)
        wait = slot - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if time.time() - slot <= max(LATE, interval):
            return


# KEYS[1]: the bucket; ARGV[1]: seconds; ARGV[2]: "grant" (reserve the next slot, ARGV[1] apart) or
# "pause" (no slot before now + ARGV[1]). Returns the slot (or the pause's end) on Redis's clock.
_REDIS_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_slot = tonumber(redis.call('GET', KEYS[1]) or '0')
local seconds = tonumber(ARGV[1])
local value
local slot
if ARGV[2] == 'pause' then
  value = math.max(next_slot, now + seconds)
  slot = value
else
  slot = math.max(next_slot, now)
  value = slot + seconds
end
redis.call('SET', KEYS[1], string.format('%.6f', value), 'EX', 86400)
return string.format('%.6f', slot)
"""


class RedisBucket:
    """The same shared slot in Redis (REDIS_URL), for deployments that keep their rate limits there."""

    def __init__(self, url: str, *, name: str, rate: float, headroom: float = HEADROOM) -> None:
        import redis

        if rate <= 0:
            raise RateLimitError("the rate must be positive")
        self.client = redis.Redis.from_url(url)
        self.key = f"newsbrief:rate:{name}"
        self.interval = (1.0 + headroom) / rate
        self._script = self.client.register_script(_REDIS_SLOT)
        self.offset: float | None = None  # Redis clock minus this process's wall clock

    def _clock_offset(self) -> float:
        samples = []
        for _ in range(CLOCK_SAMPLES):
            before = time.time()
            seconds, micros = self.client.time()
            after = time.time()
            samples.append((after - before, seconds + micros / 1e6 - (before + after) / 2))
        return min(samples)[1]

    def _run(self, seconds: float, mode: str) -> float:
        if self.offset is None:
            self.offset = self._clock_offset()
        value = self._script(keys=[self.key], args=[repr(seconds), mode])
        return float(value) - self.offset

    def grant(self) -> float:
        """Reserve the next slot: epoch seconds on this process's clock."""
        return self._run(self.interval, "grant")

    async def acquire(self) -> None:
        """Wait for this process's next slot of the shared rate."""
        await _acquire(self.grant, self.interval)

    def pause(self, seconds: float) -> None:
        """Hold every process for `seconds` (the platform said 429)."""
        self._run(max(seconds, 0.0), "pause")
