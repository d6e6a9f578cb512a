"""Broadcast throughput of the outbox worker against the Telegram Bot API stand-in.

Run: /work/.venv/bin/python bench/broadcast.py [--subscribers 10000]
The stand-in runs in a process of its own (so it does not share our interpreter lock). Prints:
1. paced throughput: one brief to N subscribers, the stand-in enforcing 300 msg/s, the sender set to
   290 msg/s; target: achieved >= 95% of 290 and zero 429s;
2. sender capacity: the same broadcast with no limit anywhere; target >= 1,000 msg/s;
3. reply latency while the paced broadcast runs: replies sent through the production PTB Bot (its
   rate limiter hook, in the reply lane of the budget the outbox worker spends), REPLY_RATE a second to
   chats outside the broadcast, p50 and p99 from the call to the Bot API's answer; baseline: the same
   replies with no broadcast running. Target: p99 during the broadcast under 100 ms more than idle,
   and the broadcast plus the replies within the limit (0 429s);
4. peak RSS of this process (the sender, its database and the rendered brief).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from bot.app import build_context  # noqa: E402
from bot.chat.telegram.app import build_application, make_sender  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.delivery.budget import local_budget  # noqa: E402
from bot.delivery.outbox import enqueue_due  # noqa: E402
from bot.delivery.worker import DeliveryWorker, Limits  # noqa: E402
from storage.models import Delivery, Subscription  # noqa: E402
from tests.servers.telegram_stub import TOKEN, TelegramStub, asgi_app  # noqa: E402

STAND_IN_LIMIT = 300
PACED_RATE = 290.0
UNLIMITED = 1_000_000.0
REPLY_RATE = 10.0  # replies a second during the broadcast (each to a chat of its own)
IDLE_REPLIES = 100


def serve_stub(rate_limit: float | None, port: int) -> None:
    """The stand-in as an ASGI app under uvicorn, in its own process, until terminated."""
    import uvicorn

    stub = TelegramStub(rate_limit=rate_limit, record_calls=False)
    uvicorn.run(asgi_app(stub), host="127.0.0.1", port=port, log_level="warning", backlog=4096)


def start_stub(rate_limit: float | None) -> tuple[multiprocessing.Process, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = multiprocessing.Process(target=serve_stub, args=(rate_limit, port), daemon=True)
    process.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/stub/stats", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the stand-in did not start")


def prepare(folder: Path, subscribers: int) -> Context:
    """A database with the default threads and `subscribers` Telegram subscriptions due now."""
    settings = Settings(_env_file=None, data_dir=folder, embedder="none", telegram_bot_token=SecretStr(TOKEN))
    ctx = build_context(settings)
    add_due_subscribers(ctx, subscribers)
    return ctx


def add_due_subscribers(ctx: Context, count: int) -> None:
    """`count` Telegram chats subscribed to the Russia–DPRK brief in English, due a minute ago."""
    due = datetime.now(UTC) - timedelta(minutes=1)
    rows = [
        {"platform": "telegram", "chat_id": str(100_000 + n), "thread_id": "russia-dprk", "lang": "en",
         "deliver_at": "07:00", "timezone": "UTC", "active": True, "next_due_at": due, "created_by": "bench"}
        for n in range(count)
    ]  # fmt: skip
    with ctx.db.session() as session:
        session.execute(insert(Subscription), rows)


async def broadcast(ctx: Context, base: str, rate: float, concurrency: int) -> dict[str, float]:
    """Send every pending row once at `rate`; the achieved rate and the stand-in's counts."""
    ctx.settings.telegram_base_url = f"{base}/bot"
    async with make_sender(ctx, pool_size=concurrency) as sender:
        worker = DeliveryWorker(ctx, sender, limits=Limits(rate=rate), concurrency=concurrency, batch=500)
        started = time.perf_counter()
        await worker.run_once()
        elapsed = time.perf_counter() - started
    counts = httpx.get(f"{base}/stub/stats").json()
    return {"elapsed": elapsed, "sent": worker.stats.parts, "rate": worker.stats.parts / elapsed, **counts,
            "retried_429": worker.stats.retried_429}  # fmt: skip


async def replies_during_broadcast(
    ctx: Context, base: str, rate: float, concurrency: int
) -> dict[str, float]:
    """The paced broadcast again, replies going out beside it through the production Bot within the
    same budget; reply latencies idle (before) and during the broadcast."""
    ctx.settings.telegram_base_url = f"{base}/bot"
    budget = local_budget(Limits(rate=rate))
    application = build_application(ctx, polling=False, budget=budget)
    await application.initialize()
    try:
        idle = [await _reply(application.bot, 800_000 + n) for n in range(IDLE_REPLIES)]
        async with make_sender(ctx, pool_size=concurrency) as sender:
            worker = DeliveryWorker(ctx, sender, budget=budget, concurrency=concurrency, batch=500)
            started = time.perf_counter()
            sending = asyncio.create_task(worker.run_once())
            replies = await _reply_while(application.bot, sending)
            elapsed = time.perf_counter() - started
    finally:
        await application.shutdown()
    counts = httpx.get(f"{base}/stub/stats").json()
    # "parts", not "sent": the stand-in's counts (merged below) have a "sent" of their own.
    return {"elapsed": elapsed, "parts": worker.stats.parts, "rate": worker.stats.parts / elapsed,
            "replies": len(replies), "idle_p50": _percentile(idle, 50), "idle_p99": _percentile(idle, 99),
            "p50": _percentile(replies, 50), "p99": _percentile(replies, 99), **counts}  # fmt: skip


async def _reply_while(bot: object, sending: asyncio.Task[int]) -> list[float]:
    """A reply every 1/REPLY_RATE s until the broadcast ends, each on its own (as concurrent updates are)."""
    replies: list[asyncio.Task[float]] = []
    while not sending.done():
        replies.append(asyncio.create_task(_reply(bot, 900_000 + len(replies))))
        await asyncio.sleep(1 / REPLY_RATE)
    await sending
    return list(await asyncio.gather(*replies))


async def _reply(bot: object, chat_id: int) -> float:
    started = time.perf_counter()
    await bot.send_message(chat_id=chat_id, text="Subscribed: <b>Russia–DPRK</b>", parse_mode="HTML")  # type: ignore[attr-defined]
    return time.perf_counter() - started


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if len(values) > 1 else 0.0


def reset(ctx: Context) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(Delivery).values(status="pending", parts_sent=0, sent_at=None, lease_until=None)
        )


def run(subscribers: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ctx = prepare(Path(folder), subscribers)
        started = time.perf_counter()
        created = enqueue_due(ctx)
        print(
            f"enqueue: {len(created)} outbox rows (one brief built) in {time.perf_counter() - started:.2f} s"
        )

        stub, base = start_stub(STAND_IN_LIMIT)
        try:
            paced = asyncio.run(broadcast(ctx, base, PACED_RATE, concurrency))
        finally:
            stub.terminate()
        share = paced["rate"] / PACED_RATE
        print(
            f"1. paced: {paced['sent']:.0f} messages in {paced['elapsed']:.1f} s = {paced['rate']:.1f} msg/s "
            f"({share:.1%} of {PACED_RATE:.0f}; target >= 95%), 429s from the stand-in: {paced['rate_limited']:.0f} "
            f"(target 0), chats reached: {paced['chats']:.0f}, rejected: {paced['rejected']:.0f}"
        )
        reset(ctx)
        stub, base = start_stub(None)
        try:
            free = asyncio.run(broadcast(ctx, base, UNLIMITED, concurrency))
        finally:
            stub.terminate()
        print(
            f"2. capacity: {free['sent']:.0f} messages in {free['elapsed']:.1f} s = {free['rate']:.0f} msg/s "
            f"(target >= 1000), chats reached: {free['chats']:.0f}"
        )
        reset(ctx)
        stub, base = start_stub(STAND_IN_LIMIT)
        try:
            mixed = asyncio.run(replies_during_broadcast(ctx, base, PACED_RATE, concurrency))
        finally:
            stub.terminate()
        total = (mixed["parts"] + mixed["replies"]) / mixed["elapsed"]
        print(
            f"3. replies during the broadcast: {mixed['replies']:.0f} replies, latency p50 {mixed['p50']:.1f} ms, "
            f"p99 {mixed['p99']:.1f} ms (idle: p50 {mixed['idle_p50']:.1f} ms, p99 {mixed['idle_p99']:.1f} ms); "
            f"broadcast {mixed['rate']:.1f} msg/s + replies {mixed['replies'] / mixed['elapsed']:.1f} msg/s = {total:.1f} "
            f"msg/s of the {PACED_RATE:.0f}/s budget "
            f"(stand-in limit {STAND_IN_LIMIT}/s), 429s: {mixed['rate_limited']:.0f} (target 0)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"4. peak RSS: {peak:.0f} MB")
        ctx.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    # The stand-in answers in about a millisecond, so a few sends in flight saturate it; against
    # Telegram (tens of milliseconds per call) the runner's default of 32 is the right order.
    parser.add_argument("--concurrency", type=int, default=6, help="sends in flight (and connections)")
    args = parser.parse_args()
    print(f"{args.subscribers} subscribers, {args.concurrency} sends in flight, stand-in in its own process")
    run(args.subscribers, args.concurrency)


if __name__ == "__main__":
    main()
