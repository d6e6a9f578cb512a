"""The paced sender: claims outbox rows and sends their parts within the platform's limits.

Limits: an overall rate (a token bucket without bursts beyond a few messages), one message per
second per chat, and a sliding minute per group. A 429 pauses everyone for its `retry_after` and the
part is tried again, however many times; 5xx and network errors give the row back with backoff; a 403
ends that chat's subscriptions. Stopping finishes the sends in flight and gives back every other row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.context import Context
from bot.delivery import outbox
from bot.delivery.base import ChatGone, DeliveryError, RetryAfter, Sender, TransientError
from bot.delivery.buckets import Bucket
from bot.delivery.outbox import Claimed, Progress
from bot.delivery.subscriptions import end_chat
from storage.db import describe_db_error, is_transient

if TYPE_CHECKING:
    from bot.delivery.budget import Budget

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

BACKOFF_BASE = 5.0
BACKOFF_MAX = 600.0
MAX_TRANSIENT_ATTEMPTS = 12


def no_groups(chat_id: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Limits:
    """A platform's sending limits; each sender brings its own (`Sender.limits`), these are neutral."""

    rate: float = 20.0
    per_chat_interval: float = 1.0
    group_per_minute: int = 20  # counts only for chats `is_group` names
    is_group: Callable[[str], bool] = no_groups


@dataclass(slots=True)
class Stats:
    """What one worker did."""

    sent: int = 0  # deliveries finished
    parts: int = 0
    retried_429: int = 0
    transient: int = 0
    failed: int = 0
    chats_gone: int = 0
    released: int = 0


class TokenBucket:
    """A rate with a small burst. Grants are serialized and based on the actual time of each grant, so
    a stalled event loop never releases a backlog of reserved slots at once."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.interval = 1.0 / rate
        # A burst of 2% of a second's worth keeps every sliding second under rate + a few messages.
        self.window = (burst if burst is not None else max(1.0, rate / 50)) * self.interval
        self._next = 0.0
        self._paused_until = 0.0
        self._clock, self._sleep = clock, sleep
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every sender for `seconds` (the platform said 429)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self) -> None:
        """Wait for a grant."""
        async with self._lock:
            while True:
                now = self._clock()
                wait = max(self._paused_until, self._next) - now
                if wait <= 0:
                    break
                await self._sleep(wait)
            self._next = max(self._next, now - self.window + self.interval) + self.interval


@dataclass(slots=True)
class ChatPacer:
    """One message per `interval` per chat, and at most `group_per_minute` per group in any minute."""

    limits: Limits
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    _next: dict[str, float] = field(default_factory=dict)
    _group: dict[str, deque[float]] = field(default_factory=dict)

    async def wait(self, chat_id: str) -> None:
        """Wait for this chat's next slot."""
        now = self.clock()
        slot = max(self._next.get(chat_id, 0.0), now)
        if self.limits.is_group(chat_id):
            sent = self._group.setdefault(chat_id, deque())
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.limits.group_per_minute:
                slot = max(slot, sent[0] + 60)
            sent.append(slot)
        self._next[chat_id] = slot + self.limits.per_chat_interval
        if slot > now:
            await self.sleep(slot - now)
        if len(self._next) > 50_000:
            self._forget(now)

    def _forget(self, now: float) -> None:
        self._next = {chat: t for chat, t in self._next.items() if t > now}


class DeliveryWorker:
    """Sends claimed outbox rows of one platform through its Sender, paced."""

    def __init__(
        self,
        ctx: Context,
        sender: Sender,
        *,
        limits: Limits | None = None,
        bucket: Bucket | None = None,
        budget: Budget | None = None,
        concurrency: int = 32,
        batch: int = 200,
        lease: float = outbox.DEFAULT_LEASE,
        poll: float = 1.0,
        max_attempts: int = MAX_TRANSIENT_ATTEMPTS,
        flush_every: float = 0.05,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.ctx, self.sender = ctx, sender
        self.limits = limits or sender.limits
        self.concurrency, self.batch, self.lease, self.poll = concurrency, batch, lease, poll
        self.max_attempts, self.flush_every = max_attempts, flush_every
        self.bucket: Bucket = bucket or TokenBucket(self.limits.rate, clock=clock, sleep=sleep)
        self.pacer = ChatPacer(self.limits, clock=clock, sleep=sleep)
        if budget is not None:  # the bot's budget, shared with its interactive replies
            self.limits, self.bucket, self.pacer = budget.limits, budget.lanes, budget.pacer
        self.stats = Stats()
        self._sleep = sleep
        self._parts: dict[int, Sequence[Any]] = {}
        self._pending: list[Progress] = []
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._flusher_done = asyncio.Event()
        self._held: set[int] = set()  # claimed by this worker and not yet finished or given back

    # ------------------------------------------------------------------ the loops

    async def run(self) -> None:
        """Send until stopped: drain what is due, then wait for a wake-up or the next poll."""
        while not self._stopping.is_set():
            try:
                done = await self.run_once()
            except Exception:  # e.g. the database briefly unavailable: the rows wait, the loop goes on
                log.exception("delivery round failed; retrying after %.0f s", self.poll)
                done = 0
            if done == 0 and not self._stopping.is_set():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    def wake(self) -> None:
        """New rows were enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop taking work; sends in flight finish, everything else goes back to the outbox."""
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run_once(self) -> int:
        """Claim and send every due row once; the number of rows handled."""
        queue: asyncio.Queue[Claimed | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        consumers = [asyncio.create_task(self._consume(queue)) for _ in range(self.concurrency)]
        flusher = asyncio.create_task(self._flush_loop())
        handled = 0
        try:
            handled = await self._produce(queue)
        finally:
            for _ in consumers:
                await queue.put(None)
            await asyncio.gather(*consumers, return_exceptions=True)
            # Not cancelled: a cancelled to_thread write that had not started yet never runs, and
            # the rows it carried would stay "sending" and go out again after a restart.
            self._flusher_done.set()
            await asyncio.gather(flusher, return_exceptions=True)
            self._flush()
        return handled

    async def _produce(self, queue: asyncio.Queue[Claimed | None]) -> int:
        handled = 0
        while not self._stopping.is_set():
            # In a thread: a blocked event loop would make the paced sends bunch up after it.
            claimed = await asyncio.to_thread(
                outbox.claim, self.ctx, platform=self.sender.platform, limit=self.batch, lease=self.lease
            )
            if not claimed:
                break
            self._held.update(c.id for c in claimed)
            for index, item in enumerate(claimed):
                if self._stopping.is_set():
                    outbox.release(self.ctx, [c.id for c in claimed[index:]])
                    self._held.difference_update(c.id for c in claimed[index:])
                    self.stats.released += len(claimed) - index
                    return handled
                await queue.put(item)
                handled += 1
            if len(claimed) < self.batch:
                break
        return handled

    async def _consume(self, queue: asyncio.Queue[Claimed | None]) -> None:
        while (item := await queue.get()) is not None:
            try:
                await self._consume_one(item)
            finally:
                self._held.discard(item.id)

    async def _consume_one(self, item: Claimed) -> None:
        if self._stopping.is_set():
            outbox.release(self.ctx, [item.id])
            self.stats.released += 1
            return
        try:
            await self._deliver(item)
        except asyncio.CancelledError:
            self._flush()
            outbox.release(self.ctx, [item.id])
            raise
        except Exception as error:  # a bug in rendering or sending must not stop the other chats
            try:
                self._failed(item, error)
            except Exception:  # the database is away: the row stays claimed and its lease runs out
                log.exception("delivery %s: its failure could not be recorded", item.id)

    def _failed(self, item: Claimed, error: Exception) -> None:
        self._flush()
        if is_transient(error):
            # The database, not the delivery, failed: the row is sent later (from the parts recorded).
            log.warning("delivery %s postponed: database unavailable: %s", item.id, describe_db_error(error))
            outbox.release(self.ctx, [item.id], retry_at=self.ctx.now() + timedelta(seconds=BACKOFF_BASE))
            return
        log.exception("delivery %s failed", item.id)
        outbox.fail(self.ctx, item.id, f"{type(error).__name__}: {error}")
        self.stats.failed += 1
        self._count("failed")

    # ------------------------------------------------------------------ one delivery

    def parts_of(self, brief_id: int) -> Sequence[Any]:
        """A brief rendered once per worker, whatever the number of chats it goes to."""
        if brief_id not in self._parts:
            if len(self._parts) > 64:
                self._parts.clear()
            self._parts[brief_id] = self.sender.render(outbox.brief_payload(self.ctx, brief_id))
        return self._parts[brief_id]

    async def _deliver(self, item: Claimed) -> None:
        parts = self.parts_of(item.brief_id)
        index = item.parts_sent
        while index < len(parts):
            if self._stopping.is_set():
                self._flush()
                outbox.release(self.ctx, [item.id])
                self.stats.released += 1
                return
            await self.pacer.wait(item.chat_id)
            await self.bucket.acquire()
            try:
                await self.sender.send(item.chat_id, parts[index])
            except RetryAfter as error:
                await self._wait_out(item, error.seconds)
                continue
            except ChatGone as error:
                self._chat_gone(item, str(error))
                return
            except TransientError as error:
                self._back_off(item, str(error))
                return
            except DeliveryError as error:
                self._flush()
                outbox.fail(self.ctx, item.id, str(error))
                self.stats.failed += 1
                self._count("failed")
                return
            index += 1
            self.stats.parts += 1
            done = index == len(parts)
            self._pending.append(Progress(item.id, index, len(parts), done, self.ctx.now()))
            self.stats.sent += done
            if done:
                self._count("sent")
        if index >= len(parts) and item.parts_sent >= len(parts):  # nothing was left to send
            self._pending.append(Progress(item.id, index, len(parts), True, self.ctx.now()))

    async def _wait_out(self, item: Claimed, seconds: float) -> None:
        """429: everyone holds for `seconds`; this part is tried again afterwards, never dropped."""
        self.stats.retried_429 += 1
        self._count("retried")
        seconds = max(seconds, 0.0)
        self.bucket.pause(seconds)
        # Every row this worker holds, not just this one: queued rows wait out the pause too, and a
        # lease running out meanwhile would let another process send them as well. Rows sent but not yet
        # recorded are still held in the database's eyes.
        held = self._held | {item.id} | {progress.delivery_id for progress in self._pending}
        try:
            outbox.extend_lease(self.ctx, held, seconds + self.lease)
        except Exception as error:  # best effort: a lease running out costs at most a repeat, never a loss
            log.warning("leases not extended during a 429 pause: %s", describe_db_error(error))
        log.info("429 for chat %s: waiting %.1f s", item.chat_id, seconds)
        await self._sleep(seconds)

    def _chat_gone(self, item: Claimed, reason: str) -> None:
        self._flush()
        with self.ctx.db.session() as session:
            end_chat(session, platform=self.sender.platform, chat_id=item.chat_id, reason=reason[:500])
        self.stats.chats_gone += 1
        self._count("gone")
        log.info("chat %s is gone (%s): its subscriptions ended", item.chat_id, reason)

    def _back_off(self, item: Claimed, reason: str) -> None:
        self._flush()
        self.stats.transient += 1
        attempts = item.attempts + 1
        if attempts >= self.max_attempts:
            outbox.fail(self.ctx, item.id, f"gave up after {attempts} attempts: {reason}")
            self.stats.failed += 1
            self._count("failed")
            return
        self._count("retried")
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        retry_at = self.ctx.now() + timedelta(seconds=delay)
        outbox.release(self.ctx, [item.id], retry_at=retry_at, error=reason, count_attempt=True)

    def _count(self, outcome: str) -> None:
        self.ctx.metrics.delivery(self.sender.platform, outcome)

    # ------------------------------------------------------------------ progress

    async def _flush_loop(self) -> None:
        self._flusher_done.clear()
        while not self._flusher_done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flusher_done.wait(), timeout=self.flush_every)
            pending, self._pending = self._pending, []
            try:
                await asyncio.to_thread(outbox.record_progress, self.ctx, pending)
            except Exception as error:
                self._keep(pending, error)

    def _flush(self) -> None:
        """Write the parts sent since the last flush: batched, because a commit per message limits the rate."""
        pending, self._pending = self._pending, []
        try:
            outbox.record_progress(self.ctx, pending)
        except Exception as error:
            self._keep(pending, error)

    def _keep(self, pending: list[Progress], error: Exception) -> None:
        """Progress that could not be written is written with the next flush: a sent part whose record
        was lost would be sent again. Later progress of the same row wins (it is appended after)."""
        if not is_transient(error):
            log.exception("delivery progress of %d row(s) could not be recorded", len(pending))
            return
        self._pending = pending + self._pending
        log.warning("delivery progress not recorded, kept for the next flush: %s", describe_db_error(error))


async def deliver_once(ctx: Context, sender: Sender, **options: Any) -> Stats:
    """One-shot: send every due row of the sender's platform, then return what was done."""
    worker = DeliveryWorker(ctx, sender, **options)
    await worker.run_once()
    return worker.stats
