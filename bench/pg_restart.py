"""Really restart the local PostgreSQL in the middle of an ingest and a delivery run (manual, not CI).

Run as root where `pg_ctlcluster` exists: `python bench/pg_restart.py [--cluster 15/main]`. It disrupts
every other client of that server for a few seconds. The same corpus and outbox as
tests/test_faults_postgres.py; the restart starts after a few pages / messages were served, in a thread,
and the runs go on as the scheduler's would until everything is in. Prints what was stored, delivered
and doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bot.app import build_context  # noqa: E402
from bot.chat.telegram.sender import TelegramSender  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.delivery.worker import DeliveryWorker  # noqa: E402
from bot.ingest.catalog import add_source  # noqa: E402
from bot.runtime.ingest_cycle import SOURCE_LEASE  # noqa: E402
from bot.runtime.scheduler import ingest_job  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Article, ArticleThread, Delivery, Passage  # noqa: E402
from tests.conftest import postgres_schema_url  # noqa: E402
from tests.servers.telegram_stub import TOKEN, FakeClock  # noqa: E402
from tests.servers.web import WebServer  # noqa: E402
from tests.test_faults_postgres import (  # noqa: E402
    ARTICLES,
    CHATS,
    T0,
    FaultyTelegram,
    all_urls,
    queue_briefs,
    serve_corpus,
)

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def restarter(cluster: str, done: list[str]) -> threading.Thread:
    """A thread that restarts the cluster once started (from a page or message handler: never blocks it)."""
    version, name = cluster.split("/")

    def restart() -> None:
        result = subprocess.run(["pg_ctlcluster", version, name, "restart"], check=False)
        done.append("ok" if result.returncode == 0 else f"failed ({result.returncode})")

    return threading.Thread(target=restart)


async def main(cluster: str) -> None:
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        sys.exit("needs root and pg_ctlcluster")
    schema = f"restart_{uuid.uuid4().hex[:8]}"
    admin = make_engine(URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    data = Path(tempfile.mkdtemp())
    (data / "sources.toml").write_text("", encoding="utf-8")
    restarts: list[str] = []
    try:
        with WebServer() as web, FaultyTelegram(after=3) as telegram:
            settings = Settings(
                _env_file=None, data_dir=data, database_url=postgres_schema_url(URL, schema),
                sources_file=data / "sources.toml", embedder="none", fetch_allowed_private_hosts=["127.0.0.1"],
                telegram_bot_token=SecretStr(TOKEN), telegram_base_url=telegram.base_url, telegram_rate_limit=1000,
            )  # fmt: skip
            ctx = build_context(settings)
            clock = FakeClock(T0)
            ctx.clock = clock
            ingest_restart = restarter(cluster, restarts)
            for url in serve_corpus(web, ingest_restart.start):
                with ctx.db.session() as session:
                    add_source(session, location=url, kind="feed", actor="bench")
            runs = 0
            while runs < 20:
                runs += 1
                try:
                    await ingest_job(ctx)()
                except OperationalError as error:
                    print(f"ingest run {runs}: {type(error).__name__}")
                if ingest_restart.ident and not ingest_restart.is_alive() and _articles(ctx) >= ARTICLES:
                    break
                await asyncio.sleep(1)
                clock.advance(seconds=SOURCE_LEASE + 1)
            ingest_restart.join()
            with ctx.db.session() as session:
                urls = list(session.scalars(select(Article.url)))
                links = len(session.execute(select(ArticleThread.article_id)).all())
                indexed = len(set(session.scalars(select(Passage.article_id))))
            print(f"ingest: {runs} run(s); stored {len(set(urls))}/{ARTICLES}, doubled {len(urls) - len(set(urls))}, "
                  f"missing {len(set(all_urls(web)) - set(urls))}, thread links {links}, indexed {indexed}")  # fmt: skip

            queue_briefs(ctx, list(range(1, CHATS + 1)))
            delivery_restart = restarter(cluster, restarts)
            telegram.fault = delivery_restart.start
            async with TelegramSender(settings, pool_size=4) as sender:
                worker = DeliveryWorker(ctx, sender, concurrency=4, flush_every=0.01, poll=0.5)
                for attempt in range(20):
                    try:
                        await worker.run_once()
                    except OperationalError as error:
                        print(f"delivery round {attempt + 1}: {type(error).__name__}")
                    if delivery_restart.ident and not delivery_restart.is_alive() and _open(ctx) == 0:
                        break
                    await asyncio.sleep(1)
                    clock.advance(minutes=10)
            per_chat = Counter(m.chat_id for m in telegram.messages())
            print(f"delivery: {len(per_chat)}/{CHATS} chats reached, doubled {sum(n - 1 for n in per_chat.values())}, "
                  f"rows still open {_open(ctx)}; restarts: {restarts}")  # fmt: skip
            ctx.db.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _articles(ctx: Context) -> int:
    with ctx.db.session() as session:
        return len(session.scalars(select(Article.id)).all())


def _open(ctx: Context) -> int:
    with ctx.db.session() as session:
        return len(session.scalars(select(Delivery.id).where(Delivery.status != "sent")).all())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="15/main", help="VERSION/NAME for pg_ctlcluster")
    asyncio.run(main(parser.parse_args().cluster))
