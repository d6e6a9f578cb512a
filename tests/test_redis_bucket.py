"""REDIS_URL: the per-bot send rate shared through Redis, against the Redis running on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid

import pytest

from bot.delivery.buckets import RedisBucket

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="no Redis at TEST_REDIS_URL")


def _buckets(count: int, rate: float) -> list[RedisBucket]:
    name = f"test:{uuid.uuid4().hex}"
    return [RedisBucket(REDIS_URL, name=name, rate=rate) for _ in range(count)]


def test_grants_from_several_clients_never_share_a_slot() -> None:
    buckets = _buckets(3, rate=50)
    slots = sorted(b.grant() for _ in range(20) for b in buckets)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= buckets[0].interval * 0.99  # 60 grants, one interval apart, whoever asked


async def test_clients_sharing_a_bucket_stay_under_its_rate_together() -> None:
    rate = 40
    buckets = _buckets(3, rate=rate)
    sent: list[float] = []

    async def sender(bucket: RedisBucket) -> None:
        for _ in range(20):
            await bucket.acquire()
            sent.append(time.time())

    await asyncio.gather(*(sender(b) for b in buckets))
    sent.sort()
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= rate


def test_a_pause_holds_every_client() -> None:
    first, second = _buckets(2, rate=100)
    first.pause(0.5)
    assert second.grant() - time.time() >= 0.4
