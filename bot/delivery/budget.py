"""One sending budget per bot, shared by its interactive replies and its outbox worker.

Telegram and Slack count a bot's messages per token, whatever sent them, so a reply and a broadcast
part spend the same budget: the overall rate (a bucket with two lanes, replies first: bot.delivery.buckets.Lanes)
and each chat's pace (one message a second, twenty a minute in a Telegram group: ChatPacer). The
runner builds one Budget per platform and hands it to both the chat adapter and the delivery worker.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from bot.context import Context
from bot.delivery.buckets import Bucket, Lanes, RedisBucket, SharedBucket, bucket_name
from bot.delivery.worker import ChatPacer, Clock, Limits, Sleep, TokenBucket

# A shared bucket's grant is a round trip to PostgreSQL or Redis; one grant at a time would cap a process
# below a high rate (at 290/s slots are 3.4 ms apart). Enough grants stay in flight to cover a round trip
# this long, and a reply waits behind no more reserved slots than that: about 10 ms at any rate.
GRANT_ROUND_TRIP = 0.01


@dataclass(frozen=True, slots=True)
class Budget:
    """A bot's limits, its overall rate in two lanes, and its per-chat pacing."""

    limits: Limits
    lanes: Lanes
    pacer: ChatPacer

    async def wait(self, chat_id: str, *, urgent: bool) -> None:
        """Wait until one more message to `chat_id` fits every limit."""
        await self.pacer.wait(chat_id)
        await self.lanes.acquire(urgent=urgent)


def local_budget(limits: Limits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> Budget:
    """A budget for this process alone (SQLite, tests, one-shot commands)."""
    bucket = TokenBucket(limits.rate, clock=clock, sleep=sleep)
    return Budget(limits, Lanes(bucket), ChatPacer(limits, clock=clock, sleep=sleep))


def bot_budget(ctx: Context, *, platform: str, token: str, limits: Limits) -> Budget:
    """The budget for `newsbrief run`: on PostgreSQL (or with REDIS_URL) the overall rate is the bot's,
    shared with every other process; replies still go ahead of this process's broadcast sends."""
    bucket: Bucket
    name = bucket_name(platform, token)
    if ctx.settings.redis_url:
        bucket = RedisBucket(ctx.settings.redis_url, name=name, rate=limits.rate)
    elif not ctx.db.is_sqlite:
        bucket = SharedBucket(ctx.db, name=name, rate=limits.rate)
    else:
        return local_budget(limits)
    depth = max(1, math.ceil(limits.rate * GRANT_ROUND_TRIP))
    return Budget(limits, Lanes(bucket, depth=depth), ChatPacer(limits))
