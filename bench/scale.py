"""Several worker processes on one PostgreSQL: delivery and ingest throughput by number of processes.

Run: TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test /work/.venv/bin/python bench/scale.py
Each run uses a schema of its own (dropped afterwards). Prints:
1. delivery, no limit: one brief to N subscribers with 1, 2 and 4 worker processes claiming the outbox with
   FOR UPDATE SKIP LOCKED, against the Telegram stand-in (its own process) with no limit;
2. delivery, shared limit: the same with the stand-in enforcing LIMIT msg/s and every process drawing
   from one token bucket in PostgreSQL; target: the total within 2% of LIMIT and no 429;
3. ingest: 2,000 feeds read by 1 and 2 worker processes claiming due sources.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.broadcast import start_stub  # noqa: E402
from bench.corpus import articles, rss  # noqa: E402
from bench.ingest import FeedServer  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.servers.telegram_stub import TOKEN  # noqa: E402

LIMIT = 200.0
UNLIMITED = 1_000_000.0
CONCURRENCY = 6  # sends in flight per process (the stand-in answers in about a millisecond)


@contextmanager
def schema(url: str) -> Iterator[str]:
    """A fresh schema; the URL that confines a connection to it."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def settings(url: str, folder: Path, **extra: Any) -> Settings:
    (folder / "none.toml").write_text("", encoding="utf-8")
    return Settings(
        _env_file=None,
        database_url=url,
        data_dir=folder,
        embedder="none",
        sources_file=folder / "none.toml",
        telegram_bot_token=SecretStr(TOKEN),
        **extra,
    )


def in_processes(count: int, target: Callable[..., None], *args: Any) -> float:
    """Run `target(*args, start, done)` in `count` processes started together; the wall time they took."""
    start, done = multiprocessing.Event(), multiprocessing.Queue()
    processes = [multiprocessing.Process(target=target, args=(*args, start, done)) for _ in range(count)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let every process connect and warm up before the clock starts
    began = time.perf_counter()
    start.set()
    for _ in processes:
        done.get(timeout=600)
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    return elapsed


# ---------------------------------------------------------------------- delivery


def deliver(url: str, folder: str, base: str, rate: float, shared: bool, start: Any, done: Any) -> None:
    """One worker process: drain the outbox, then report."""
    from bot.app import build_context
    from bot.chat.telegram.app import make_sender
    from bot.delivery.buckets import SharedBucket, bucket_name
    from bot.delivery.worker import DeliveryWorker, Limits

    ctx = build_context(
        settings(url, Path(folder), telegram_base_url=f"{base}/bot"), migrate=False, seed=False
    )

    async def run() -> None:
        async with make_sender(ctx, pool_size=CONCURRENCY) as sender:
            bucket = SharedBucket(ctx.db, name=bucket_name("telegram", TOKEN), rate=rate) if shared else None
            if bucket is not None:
                await asyncio.to_thread(bucket.grant)  # the clock offset measured before the start
                # Connections opened before the clock starts: a first send slowed by its handshake would
                # arrive bunched with the next ones. The stand-in's window is empty again by the start.
                await asyncio.gather(*(sender.send("1", "warm-up") for _ in range(CONCURRENCY)))
            worker = DeliveryWorker(
                ctx, sender, limits=Limits(rate=rate), bucket=bucket, concurrency=CONCURRENCY, batch=100
            )
            await asyncio.to_thread(start.wait)
            await worker.run_once()

    asyncio.run(run())
    ctx.db.dispose()
    done.put(os.getpid())


def prepare_outbox(url: str, folder: Path, subscribers: int) -> None:
    from bench.broadcast import add_due_subscribers
    from bot.app import build_context
    from bot.delivery.outbox import enqueue_due

    ctx = build_context(settings(url, folder))
    add_due_subscribers(ctx, subscribers)
    enqueue_due(ctx)
    ctx.db.dispose()


def delivery(url: str, workers: int, subscribers: int, limit: float | None, folder: Path) -> dict[str, float]:
    with schema(url) as scoped:
        prepare_outbox(scoped, folder, subscribers)
        stub, base = start_stub(limit)
        try:
            rate = limit if limit else UNLIMITED
            elapsed = in_processes(workers, deliver, scoped, str(folder), base, rate, bool(limit))
            counts = httpx.get(f"{base}/stub/stats").json()
        finally:
            stub.terminate()
    if limit:
        counts["sent"] -= workers * CONCURRENCY  # the warm-up sends
    return {"elapsed": elapsed, "rate": counts["sent"] / elapsed, **counts}


# ---------------------------------------------------------------------- ingest


def ingest(url: str, folder: str, start: Any, done: Any) -> None:
    """One worker process: claim and read due sources until none is left."""
    from bot.app import build_context
    from bot.runtime.ingest_cycle import ingest_due

    ctx = build_context(
        settings(url, Path(folder), fetch_allowed_private_hosts=["127.0.0.1"]), migrate=False, seed=False
    )
    ctx.classifier()
    start.wait()
    reports = asyncio.run(ingest_due(ctx, index_passages=False))
    ctx.db.dispose()
    done.put(len(reports))


def ingest_run(url: str, workers: int, feeds: int, folder: Path) -> float:
    from bot.app import build_context
    from bot.ingest.catalog import add_source

    corpus = list(articles(feeds * 2, seed=7, duplicate_ratio=0.0))
    routes = {
        f"/s/{n}.xml": (rss(corpus[n * 2 : n * 2 + 2], base_url="http://127.0.0.1", title=f"S{n}"), None)
        for n in range(feeds)
    }
    with schema(url) as scoped, FeedServer(routes) as base:
        ctx = build_context(settings(scoped, folder))
        with ctx.db.session() as session:
            for n in range(feeds):
                add_source(session, location=f"{base}/s/{n}.xml", kind="feed", actor="bench")
        ctx.db.dispose()
        return in_processes(workers, ingest, scoped, str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--subscribers", type=int, default=6000)
    parser.add_argument("--limited-subscribers", type=int, default=4000)
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 2")
    parser.add_argument("--feeds", type=int, default=2000)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("set TEST_DATABASE_URL (or --database-url) to a PostgreSQL database")
    folder = Path(f"/tmp/newsbrief-scale-{os.getpid()}")
    folder.mkdir(exist_ok=True)
    parts = set(args.parts.split(","))
    if "1" in parts:
        delivery_bench(args, folder)
    if "2" in parts:
        limited_bench(args, folder)
    if "3" in parts:
        ingest_bench(args)


def delivery_bench(args: argparse.Namespace, folder: Path) -> None:
    print(f"1. delivery, no limit, {args.subscribers} subscribers, {CONCURRENCY} sends in flight per process")
    for workers in (1, 2, 4):
        r = delivery(args.database_url, workers, args.subscribers, None, folder)
        print(f"   {workers} process(es): {r['sent']} sent in {r['elapsed']:.1f} s = {r['rate']:.0f} msg/s")


def limited_bench(args: argparse.Namespace, folder: Path) -> None:
    print(f"2. delivery, shared limit {LIMIT:.0f} msg/s, {args.limited_subscribers} subscribers")
    for workers in (1, 2, 4):
        r = delivery(args.database_url, workers, args.limited_subscribers, LIMIT, folder)
        print(
            f"   {workers} process(es): {r['rate']:.1f} msg/s = {r['rate'] / LIMIT:.1%} of the limit "
            f"(target 98-100%), 429s {r['rate_limited']}"
        )


def ingest_bench(args: argparse.Namespace) -> None:
    folder = Path(f"/tmp/newsbrief-scale-{os.getpid()}")
    print(f"3. ingest, {args.feeds} feeds of 2 new articles each")
    for workers in (1, 2):
        elapsed = ingest_run(args.database_url, workers, args.feeds, folder)
        print(f"   {workers} process(es): {elapsed:.1f} s = {args.feeds / elapsed:.0f} feeds/s")


if __name__ == "__main__":
    main()
