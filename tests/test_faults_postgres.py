"""PostgreSQL restarted during a run: the process reconnects, and nothing is lost or doubled.

The shared server cannot be restarted from a test, so the restart is played at the network edge by a
real TCP proxy in front of it (DATABASE_URL points at the proxy): every connection cut at once, then
connections refused for a while. The in-server way, pg_terminate_backend on this test's sessions only
(found by their application_name), is what clients see of a fast shutdown. A real restart:
`python bench/pg_restart.py` as root.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bot.app import build_context
from bot.briefs.compose import Member, StoryEntry, compose
from bot.chat.telegram.sender import TelegramSender
from bot.config import Settings
from bot.context import Context
from bot.delivery.worker import DeliveryWorker
from bot.ingest.catalog import add_source
from bot.qa import answer_question
from bot.runtime.ingest_cycle import SOURCE_LEASE
from bot.runtime.scheduler import ingest_job
from bot.summarize import Bullet, Summary
from storage.db import Database, make_engine
from storage.models import Article, ArticleThread, Brief, Delivery, Passage, Source
from tests.conftest import postgres_database
from tests.servers.tcp_proxy import TcpProxy
from tests.servers.telegram_stub import TOKEN, FakeClock, TelegramStub
from tests.servers.web import Recorded, WebServer, respond
from tests.test_ingest import LAVROV_EN, rss

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")]

T0 = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)
FEEDS, ITEMS = 3, 4
ARTICLES = FEEDS * ITEMS
FAULT_AFTER_PAGES = 5
CHATS = 8
FAULT_AFTER_MESSAGES = 3


# ---------------------------------------------------------------- the database behind a proxy


@pytest.fixture
def pg() -> Iterator[Database]:
    """A migrated PostgreSQL schema of its own (reached directly, for the checks)."""
    yield from postgres_database(PG_URL)


@pytest.fixture
def proxy(pg: Database) -> Iterator[TcpProxy]:
    url = pg.engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as tcp:
        yield tcp


@pytest.fixture
def app_name() -> str:
    """This test's sessions in pg_stat_activity, so terminating them touches nobody else's."""
    return f"nb-faults-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ctx(
    settings: Settings, tmp_path: Path, pg: Database, proxy: TcpProxy, app_name: str, clock: FakeClock
) -> Iterator[Context]:
    """The application's context, its DATABASE_URL pointing at the proxy."""
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    url = pg.engine.url.set(host="127.0.0.1", port=proxy.port).update_query_dict(
        {"application_name": app_name}
    )
    context = build_context(
        settings.model_copy(
            update={
                "database_url": url.render_as_string(hide_password=False),
                "sources_file": empty,
                "embedder": "none",
                "fetch_timeout": 10.0,
                "telegram_bot_token": SecretStr(TOKEN),
                "telegram_rate_limit": 1000,
            }
        )
    )
    context.clock = clock
    yield context
    context.db.dispose()


def terminate_backends(app_name: str) -> int:
    """What a fast shutdown does to sessions, done server-side to this test's sessions only."""
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as connection:
            rows = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND application_name = :name"
                ),
                {"name": app_name},
            ).all()
    finally:
        admin.dispose()
    return len(rows)


def down_until_refused(proxy: TcpProxy) -> Callable[[], None]:
    """Cut, refuse connections until the bot has been turned away at least once, then come back up:
    a restart that took a while, without any timing in the test."""

    def fault() -> None:
        proxy.cut()
        proxy.down()
        refused = threading.Event()
        for _ in range(1000):  # up to ~10 s; the bot's next database access is far sooner
            if proxy.refused:
                refused.set()
                break
            refused.wait(0.01)
        proxy.up()

    return fault


def simple_fault(mode: str, proxy: TcpProxy, app_name: str) -> Callable[[], None]:
    """A restart over at once: every connection cut at the proxy, or terminated by the server."""

    def fault() -> None:
        if mode == "cut":
            proxy.cut()
        else:
            terminate_backends(app_name)

    return fault


# ---------------------------------------------------------------- 1. ingest


def _words(count: int) -> list[str]:
    rng = random.Random(0)
    words = {
        "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)) for _ in range(count)
    }
    return sorted(words)


WORDS = _words(600)


def article_body(n: int) -> str:
    """Three paragraphs of words no other article shares much of: never a near-duplicate."""
    rng = random.Random(n)
    paragraphs = [" ".join(rng.sample(WORDS, 45)).capitalize() + "." for _ in range(3)]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def page(n: int) -> bytes:
    title = f"Lavrov and Kim Jong Un hold talks, round {n}"
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{article_body(n)}</article></body></html>"
    ).encode()


def teaser_feed(server: WebServer, feed: int) -> bytes:
    items = "".join(
        f"<item><title>Lavrov and Kim Jong Un hold talks, round {n}</title>"
        f"<link>{server.url(f'/a/{n}.html')}</link><guid>{server.url(f'/a/{n}.html')}</guid>"
        "<description>Talks in Wonsan.</description></item>"
        for n in range(feed * ITEMS, (feed + 1) * ITEMS)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {feed}</title>'
        f"<link>http://example.com</link>{items}</channel></rss>"
    ).encode()


def serve_corpus(server: WebServer, fault: Callable[[], None]) -> list[str]:
    """FEEDS teaser feeds of ITEMS pages each; `fault` runs once, after FAULT_AFTER_PAGES pages were served."""
    served = Counter[str]()
    lock = threading.Lock()

    def handler(h: BaseHTTPRequestHandler, request: Recorded) -> None:
        n = int(request.path.rsplit("/", 1)[1].split(".")[0])
        with lock:
            served["pages"] += 1
            fire = served["pages"] == FAULT_AFTER_PAGES
        if fire:
            fault()
        respond(h, 200, page(n), content_type="text/html; charset=utf-8")

    for n in range(ARTICLES):
        server.handler(f"/a/{n}.html", handler)
    return [
        server.add(f"/feed{f}.xml", teaser_feed(server, f), content_type="application/rss+xml")
        for f in range(FEEDS)
    ]


def ingest_fault(mode: str, proxy: TcpProxy, app_name: str) -> Callable[[], None]:
    """The page-handler fault for `mode`; the in-transaction modes arm the proxy instead."""
    if mode in ("cut", "terminated-in-server"):
        return simple_fault(mode, proxy, app_name)
    if mode == "down-a-while":
        return down_until_refused(proxy)
    if mode == "cut-mid-transaction":
        proxy.cut_on(b"INSERT INTO articles", 2)
    elif mode == "commit-unacknowledged":
        proxy.cut_on(b"COMMIT", 1, after=b"INSERT INTO articles")
    elif mode == "commit-unacknowledged-then-down":
        proxy.cut_on(b"COMMIT", 1, after=b"INSERT INTO articles", then=proxy.down)
    return lambda: None


def stored_urls(pg: Database) -> list[str]:
    with pg.session() as session:
        return sorted(url or "" for url in session.scalars(select(Article.url)))


def all_urls(server: WebServer) -> list[str]:
    return sorted(server.url(f"/a/{n}.html") for n in range(ARTICLES))


async def run_ingest(ctx: Context) -> None:
    """One run of the scheduled ingest job; a run the database fails part-way is what the scheduler logs."""
    with contextlib.suppress(OperationalError):
        await ingest_job(ctx)()


@pytest.mark.parametrize(
    "mode",
    [
        "cut",
        "terminated-in-server",
        "down-a-while",
        "cut-mid-transaction",
        "commit-unacknowledged",
        "commit-unacknowledged-then-down",
    ],
)
async def test_ingest_cut_by_a_database_restart_stores_every_article_once_in_later_runs(
    ctx: Context,
    pg: Database,
    proxy: TcpProxy,
    app_name: str,
    web_server: WebServer,
    clock: FakeClock,
    mode: str,
) -> None:
    fault = ingest_fault(mode, proxy, app_name)
    for url in serve_corpus(web_server, fault):
        with ctx.db.session() as session:
            add_source(session, location=url, kind="feed", actor="test")

    await run_ingest(ctx)
    assert proxy.cuts >= 1 or mode == "terminated-in-server"
    assert proxy.triggered  # an armed in-transaction cut did fire
    if mode not in ("down-a-while", "commit-unacknowledged-then-down"):
        # A restart over at once costs nothing: stale connections are replaced, a cut transaction is retried.
        assert stored_urls(pg) == all_urls(web_server)
    proxy.up()  # the restart is over
    for _ in range(4):  # later runs: each after the leases of the first one ran out
        clock.advance(seconds=SOURCE_LEASE + 1)
        await run_ingest(ctx)

    assert stored_urls(pg) == all_urls(web_server)  # each exactly once
    with pg.session() as session:
        articles = session.scalars(select(Article)).all()
        links = session.execute(select(ArticleThread.article_id, ArticleThread.thread_id)).all()
        passages = session.execute(select(Passage.article_id, Passage.ord)).all()
        sources = session.scalars(select(Source)).all()
    assert all(a.duplicate_of is None for a in articles)
    assert Counter(article for article, _ in links) == {a.id: 1 for a in articles}
    assert {thread for _, thread in links} == {"russia-dprk"}
    assert {article for article, _ in passages} == {a.id for a in articles}  # all searchable
    assert len(set(passages)) == len(passages)  # no passage written twice
    assert [(s.error_count, s.paused, s.lease_until) for s in sources] == [(0, False, None)] * FEEDS
    assert all(s.last_success_at is not None and s.last_error is None for s in sources)


# ---------------------------------------------------------------- 2. delivery


class FaultyTelegram(TelegramStub):
    """The Telegram stand-in, running `fault` once after accepting the `after`-th message, before
    answering it: that message is in flight when the database goes."""

    def __init__(self, *, after: int) -> None:
        super().__init__()
        self.after = after
        self.fault: Callable[[], None] = lambda: None
        self._accepted = 0
        self._count_lock = threading.Lock()

    def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = super()._m_sendMessage(params)
        with self._count_lock:
            self._accepted += 1
            fire = self._accepted == self.after
        if fire:
            self.fault()
        return answer


@pytest.fixture
def telegram() -> Iterator[FaultyTelegram]:
    with FaultyTelegram(after=FAULT_AFTER_MESSAGES) as stub:
        yield stub


@pytest.fixture
async def sender(ctx: Context, telegram: FaultyTelegram) -> AsyncIterator[TelegramSender]:
    settings = ctx.settings.model_copy(update={"telegram_base_url": telegram.base_url})
    async with TelegramSender(settings, pool_size=4) as client:
        yield client


def queue_briefs(ctx: Context, chats: list[int]) -> None:
    """A one-message brief due for every chat, in the outbox."""
    member = Member(1, "TASS", "https://tass.example/a1", "Lavrov in Wonsan", "en")
    summary = Summary(
        "en", "Lavrov meets Kim", (Bullet("Lavrov met Kim Jong Un in Wonsan.", (1,)),), "offline"
    )
    payload = compose(
        thread_id="russia-dprk", thread_name="Russia–DPRK", lang="en", as_of=T0, since=None,
        entries=[StoryEntry(1, summary, [member], T0, T0, 0)],
    )  # fmt: skip
    with ctx.db.session() as session:
        brief = Brief(thread_id="russia-dprk", lang="en", since=None, as_of=T0, payload=payload)
        session.add(brief)
        session.flush()
        session.add_all(
            Delivery(
                key=f"test:{chat}",
                brief_id=brief.id,
                platform="telegram",
                chat_id=str(chat),
                next_attempt_at=T0,
            )
            for chat in chats
        )


@pytest.mark.parametrize("mode", ["cut", "terminated-in-server", "down-a-while"])
async def test_delivery_cut_by_a_database_restart_brings_every_chat_its_brief_once(
    ctx: Context,
    pg: Database,
    proxy: TcpProxy,
    app_name: str,
    telegram: FaultyTelegram,
    sender: TelegramSender,
    clock: FakeClock,
    mode: str,
) -> None:
    chats = list(range(1, CHATS + 1))
    queue_briefs(ctx, chats)
    telegram.fault = (
        down_until_refused(proxy) if mode == "down-a-while" else simple_fault(mode, proxy, app_name)
    )
    worker = DeliveryWorker(ctx, sender, concurrency=4, flush_every=0.01, poll=0.01)

    await worker.run_once()
    assert proxy.cuts >= 1 or mode == "terminated-in-server"
    assert mode != "down-a-while" or proxy.refused >= 1  # the bot did meet the database down
    clock.advance(minutes=10)  # every lease ran out: whatever is still open is sent again now
    await worker.run_once()

    assert Counter(m.chat_id for m in telegram.messages()) == dict.fromkeys(chats, 1)
    with pg.session() as session:
        rows = session.scalars(select(Delivery)).all()
    assert [(r.status, r.parts_sent) for r in rows] == [("sent", 1)] * CHATS
    assert worker.stats.failed == 0


# ---------------------------------------------------------------- 3. a question


QUESTION = "What did Lavrov say about the nuclear programme?"


async def archive_one_article(ctx: Context, server: WebServer) -> None:
    """An archive of one article on Lavrov, the one QUESTION asks about, read through the ingest job."""
    feed = server.add("/feed.xml", rss([("Lavrov in Wonsan", "http://x.example/lavrov", LAVROV_EN)]))
    with ctx.db.session() as session:
        add_source(session, location=feed, kind="feed", actor="test")
    await ingest_job(ctx)()


@pytest.mark.parametrize("mode", ["cut", "terminated-in-server"])
async def test_the_first_question_after_a_database_restart_is_answered(
    ctx: Context, proxy: TcpProxy, app_name: str, web_server: WebServer, mode: str
) -> None:
    await archive_one_article(ctx, web_server)
    before = answer_question(ctx, QUESTION, user="u1")
    assert before.covered and before.citations

    if mode == "cut":
        assert proxy.cut() >= 1  # the pooled connections were open
    else:
        assert terminate_backends(app_name) >= 1
    after = answer_question(ctx, QUESTION, user="u1")

    assert after.covered
    assert [c.article_id for c in after.citations] == [c.article_id for c in before.citations]
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1


async def test_a_question_while_the_database_is_down_fails_and_the_next_one_works(
    ctx: Context, proxy: TcpProxy, web_server: WebServer
) -> None:
    await archive_one_article(ctx, web_server)

    proxy.cut()
    proxy.down()
    with pytest.raises(OperationalError):
        answer_question(ctx, QUESTION, user="u1")
    proxy.up()

    assert answer_question(ctx, QUESTION, user="u1").covered
