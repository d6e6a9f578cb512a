"""kill -9 at random points of ingest, brief building and delivery, 20 times, with a restart each time.

One SQLite file, the real `newsbrief run` process, and three stand-ins that pull the trigger themselves:
the feed server SIGKILLs the process while answering its k-th request (ingest), the OpenAI-compatible
server on its k-th chat completion (brief building: the summarizer is asked about every story of a
brief) and the Telegram stand-in right after accepting its k-th message (delivery: sent, not yet
recorded). Every round publishes new articles and makes the chats whose last brief went out due
again; the phases take turns and k is drawn from a seeded RNG. After the 20 kills one more run
finishes the work, and then the archive, the outbox and what every chat received are checked.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import exists, func, select, text, update

from bot.app import build_context
from bot.chat.telegram.render import render_brief
from bot.config import Settings
from bot.delivery.outbox import delivery_key
from bot.delivery.subscriptions import subscribe
from bot.delivery.worker import DeliveryWorker
from bot.runtime.ingest_cycle import ingest_due
from bot.runtime.runner import _single_sqlite_process, index_unindexed
from storage import queries
from storage.db import Database
from storage.models import Article, ArticleThread, Brief, Delivery, Passage, Source, Subscription
from tests.processes import free_port, start
from tests.servers.openai_stub import start_stub
from tests.servers.telegram_stub import TelegramStub
from tests.servers.web import Recorded, WebServer, respond

SEED = 8
KILLS = 20
ARTICLES = 100  # five before the first round, then five new ones per round
FEEDS = 5
CHATS = 60
# Brief building follows the round whose ingest most often finished after its briefs were built (the
# delivery round): its articles make new stories, and the model is asked about each of them.
PHASES = ("ingest", "delivery", "brief")
RATE = 100.0  # messages per second: a progress flush (every 0.05 s) covers at most five of them
ROUND_TIMEOUT = 60.0

# A summary in the right shape whose figure no source reports: it fails validation, so summaries come
# from the offline summarizer, cached like a model's (a reply in the wrong shape would not be cached,
# and every brief of every group would ask again).
INVENTED = json.dumps(
    {
        lang: {"headline": headline, "bullets": [{"text": headline, "cites": [1]}]}
        for lang, headline in (
            ("en", "Officials reported 424242 tonnes."),
            ("ar", "أعلن المسؤولون 424242 طنا."),
        )
    },
    ensure_ascii=False,
)
THREADS = ("russia-dprk", "saudi-russia")
LANGS = ("en", "ar")
HEADLINES = {
    ("russia-dprk", "en"): "Lavrov and Kim Jong Un discuss {topic} in Pyongyang",
    ("russia-dprk", "ar"): "لافروف وكيم جونغ أون يبحثان {topic} في بيونغ يانغ",
    ("saudi-russia", "en"): "Saudi Arabia and Russia agree on {topic} in Riyadh",
    ("saudi-russia", "ar"): "السعودية وروسيا تتفقان على {topic} في الرياض",
}
TOPICS = {
    "en": [
        "rail links",
        "grain deliveries",
        "oil output",
        "a fertiliser plant",
        "tourism",
        "mining",
        "a port",
    ],
    "ar": ["السكك الحديدية", "شحنات الحبوب", "إنتاج النفط", "مصنع الأسمدة", "السياحة", "التعدين", "ميناء"],
}
WORDS = {  # split at run time: a list literal of 66 words would be longer than what it says
    "en": str.split(
        "officials delegation agreement trade minister talks cooperation visit summit energy project "
        "investment company factory harbour railway bridge schedule contract shipment valley river "
        "engineers doctors hospital school market currency bank budget harvest weather statement"
    ),
    "ar": str.split(
        "المسؤولون الوفد الاتفاق التجارة الوزير المحادثات التعاون الزيارة القمة الطاقة المشروع "
        "الاستثمار الشركة المصنع الميناء السكة الجسر الجدول العقد الشحنة الوادي النهر المهندسون "
        "الأطباء المستشفى المدرسة السوق العملة البنك الميزانية الحصاد الطقس البيان"
    ),
}


# ---------------------------------------------------------------------- the corpus


@dataclass(frozen=True, slots=True)
class Item:
    n: int
    title: str
    paragraphs: tuple[str, ...]

    @property
    def guid(self) -> str:
        return f"urn:chaos:{self.n}"

    @property
    def feed(self) -> int:
        return self.n % FEEDS


def corpus(rng: random.Random) -> list[Item]:
    """ARTICLES distinct articles, both threads and both languages, spread over the feeds."""
    items = []
    for i in range(ARTICLES):
        thread, lang = THREADS[i % 2], LANGS[(i // 2) % 2]
        topic = f"{rng.choice(TOPICS[lang])} {i}"
        title = HEADLINES[(thread, lang)].format(topic=topic)
        paragraphs = [title + "."]
        for n in range(4):  # random words: every article distinct, far from any near-duplicate
            words = " ".join(rng.choice(WORDS[lang]) for _ in range(18))
            paragraphs.append(f"{words} {i}{n}{rng.randint(100, 999)}.")
        items.append(Item(i, title, tuple(paragraphs)))
    return items


def feed_xml(items: list[Item], base_url: str) -> bytes:
    """RSS with teasers only, so every new item's page is fetched and extracted too."""
    entries = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base_url}/a/{a.n}</link>"
        f"<guid isPermaLink='false'>{a.guid}</guid>"
        f"<pubDate>{datetime.now(UTC):%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
        f"<description>{escape(a.title[:40])}</description></item>"
        for a in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>chaos</title>'
        f"<link>{base_url}</link>{entries}</channel></rss>"
    ).encode()


def page_html(item: Item) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
    return (
        f"<html><head><title>{escape(item.title)}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{escape(item.title)}</h1>{body}</article><footer>All rights reserved.</footer>"
        "</body></html>"
    ).encode()


# ---------------------------------------------------------------------- the trigger


class Tripwire:
    """SIGKILLs the running child at the k-th event of the armed kind (called from the stand-ins), or
    `delay` seconds after it: the requests of an ingest come first, its parsing and storing after them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kind: str | None = None
        self._left = 0
        self._pid: int | None = None
        self._delay = 0.0
        self._timer: threading.Timer | None = None
        self.fired = threading.Event()

    def arm(self, kind: str, k: int, pid: int, delay: float = 0.0) -> None:
        with self._lock:
            self._kind, self._left, self._pid, self._delay = kind, k, pid, delay
            self.fired.clear()

    def disarm(self) -> None:
        with self._lock:
            self._kind, self._pid = None, None
            if self._timer is not None:
                self._timer.cancel()

    def hit(self, kind: str) -> None:
        with self._lock:
            if kind != self._kind or self._pid is None:
                return
            self._left -= 1
            if self._left > 0:
                return
            pid, self._kind = self._pid, None
            if self._delay:
                self._timer = threading.Timer(self._delay, self._kill, args=(pid,))
                self._timer.start()
                return
        self._kill(pid)

    def _kill(self, pid: int) -> None:
        with self._lock:
            if self._pid != pid:  # disarmed: that round is over
                return
            os.kill(pid, signal.SIGKILL)
            self._pid = None
            self.fired.set()


class Newsroom:
    """The feed and page server: publishes the corpus a round at a time; every request may pull the trigger."""

    def __init__(self, server: WebServer, items: list[Item], wire: Tripwire) -> None:
        self.server, self.items, self.wire = server, items, wire
        self.published = 0
        for feed in range(FEEDS):
            server.handler(f"/feed/{feed}.xml", self._feed(feed))
        for item in items:
            server.handler(f"/a/{item.n}", self._page(item))

    def publish(self, count: int) -> None:
        self.published = min(len(self.items), self.published + count)

    def feed_urls(self) -> list[str]:
        return [self.server.url(f"/feed/{feed}.xml") for feed in range(FEEDS)]

    def guids(self) -> set[str]:
        return {item.guid for item in self.items[: self.published]}

    def _feed(self, feed: int) -> Callable[[BaseHTTPRequestHandler, Recorded], None]:
        def answer(handler: BaseHTTPRequestHandler, request: Recorded) -> None:
            self.wire.hit("ingest")
            mine = [a for a in self.items[: self.published] if a.feed == feed]
            respond(handler, 200, feed_xml(mine, self.server.base_url), content_type="application/rss+xml")

        return answer

    def _page(self, item: Item) -> Callable[[BaseHTTPRequestHandler, Recorded], None]:
        def answer(handler: BaseHTTPRequestHandler, request: Recorded) -> None:
            self.wire.hit("ingest")
            respond(handler, 200, page_html(item), content_type="text/html; charset=utf-8")

        return answer


class KillingTelegram(TelegramStub):
    """The Telegram stand-in; a message it accepted may be the last thing the process ever sent."""

    def __init__(self, wire: Tripwire) -> None:
        super().__init__(record_calls=False)
        self.wire = wire

    def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = super()._m_sendMessage(params)
        self.wire.hit("delivery")
        return answer


# ---------------------------------------------------------------------- the database, seen from the test


@dataclass
class World:
    tmp_path: Path
    db: Database
    newsroom: Newsroom
    telegram: KillingTelegram
    env: dict[str, str]
    base_due: datetime
    rng: random.Random
    wire: Tripwire
    expected_keys: set[str] = field(default_factory=set)
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        return "\n".join(
            " ".join(f"{k}={v}" for k, v in r.items()) for r in self.rounds
        )  # printed with every failure


def make_due(world: World, round_no: int, *, newcomer: bool) -> None:
    """Time passes: new articles are out, every source is due, and the chats served since are due again.

    A `newcomer` chat subscribes too: its first brief covers the whole last day, so every story in its
    thread is summarized (the model is asked) while the briefs are built.
    """
    world.newsroom.publish(ARTICLES // KILLS)
    now = datetime.now(UTC)
    due = world.base_due + timedelta(minutes=round_no)
    with world.db.session() as session:
        session.execute(update(Source).values(next_check_at=now))
        if newcomer:
            chat = CHATS + round_no
            subscribe(session, platform="telegram", chat_id=str(chat), thread_id=THREADS[chat % 2],
                      lang=LANGS[(chat // 2) % 2], deliver_at="07:00", timezone="UTC", now=now)  # fmt: skip
            session.flush()
        for sub in session.scalars(select(Subscription)):
            # Enqueuing moves next_due_at past now (as does subscribing); one still due waits for its turn.
            if sub.next_due_at is None or sub.next_due_at > now:
                sub.next_due_at = due
                world.expected_keys.add(delivery_key("telegram", sub.id, due))


def outstanding(db: Database) -> int:
    """Deliveries not yet sent, and chats due: each is at least one message still to come."""
    now = datetime.now(UTC)
    with db.session() as session:
        open_rows = session.scalar(select(func.count()).where(Delivery.status.in_(("pending", "sending"))))
        due = session.scalar(select(func.count()).where(Subscription.next_due_at <= now))
    return int(open_rows or 0) + int(due or 0)


def stored(world: World) -> int:
    """How many of the published articles are in the archive."""
    with world.db.session() as session:
        count = session.scalar(
            select(func.count(func.distinct(Article.guid))).where(Article.guid.in_(world.newsroom.guids()))
        )
    return int(count or 0)


def settled(world: World) -> bool:
    """All published articles stored and indexed, no chat due, nothing left in the outbox."""
    return (
        stored(world) == len(world.newsroom.guids())
        and outstanding(world.db) == 0
        and unindexed_originals(world.db) == 0
    )


def unrecorded(world: World) -> int:
    """Messages Telegram accepted beyond the parts the outbox records as sent (in flight at a kill)."""
    with world.db.session() as session:
        recorded = session.scalar(select(func.coalesce(func.sum(Delivery.parts_sent), 0)))
    return len(world.telegram.messages()) - int(recorded or 0)


# ---------------------------------------------------------------------- the run


def run_until(world: World, log: Path, arm: Callable[[int], None], *, at_rest: str = "kill") -> str:
    """Start `newsbrief run`, arm the trigger, and wait for the kill; if the work gets done first, SIGKILL
    it then (`at_rest="kill"`) or stop it with SIGTERM (`"term"`)."""
    with log.open("ab") as output:
        process = start(world.tmp_path, world.telegram, free_port(), output=output, **world.env)
    try:
        arm(process.pid)
        deadline = time.monotonic() + ROUND_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return "killed" if process.returncode == -signal.SIGKILL else f"exited {process.returncode}"
            if settled(world):  # the trigger was not reached: a kill -9 at rest, or the final SIGTERM
                world.wire.disarm()
                process.send_signal(signal.SIGKILL if at_rest == "kill" else signal.SIGTERM)
                return f"settled, exited {process.wait(timeout=30)}"
            time.sleep(0.1)
        return "timeout"
    finally:
        world.wire.disarm()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    rng = random.Random(SEED)
    wire = Tripwire()
    llm, stop_llm = start_stub()
    telegram = KillingTelegram(wire)
    with WebServer() as web, telegram:
        newsroom = Newsroom(web, corpus(rng), wire)

        def summarize(request: dict[str, Any]) -> str:
            wire.hit("brief")
            return INVENTED  # fails the checks twice: the offline summary is used, and cached

        llm.responder = summarize
        sources = tmp_path / "sources.toml"
        sources.write_text(
            "".join(f'[[sources]]\nlocation = "{u}"\nkind = "feed"\n' for u in newsroom.feed_urls())
        )
        env = {
            "SOURCES_FILE": str(sources),
            "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
            "FETCH_TIMEOUT": "10",
            "SOURCE_MIN_INTERVAL": "0",
            "LLM_BASE_URL": llm.base_url + "/v1",
            "LLM_API_KEY": "sk-test-DO-NOT-LEAK-7f3a9c",
            "LLM_MAX_RETRIES": "0",
            "TELEGRAM_RATE_LIMIT": str(RATE),
        }
        settings = Settings(
            _env_file=None, data_dir=tmp_path / "data", embedder="none", sources_file=sources,
            fetch_allowed_private_hosts="127.0.0.1",
        )  # fmt: skip
        ctx = build_context(settings)  # migrated and seeded with the feeds, as the process would
        newsroom.publish(ARTICLES // KILLS)
        asyncio.run(ingest_due(ctx))  # yesterday's news: the first briefs have stories to summarize
        with ctx.db.session() as session:
            for chat in range(1, CHATS + 1):
                subscribe(session, platform="telegram", chat_id=str(chat), thread_id=THREADS[chat % 2],
                          lang=LANGS[(chat // 2) % 2], deliver_at="07:00", timezone="UTC", now=datetime.now(UTC))  # fmt: skip
        base_due = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
        world = World(tmp_path, ctx.db, newsroom, telegram, env, base_due, rng, wire)
        try:
            yield world
        finally:
            wire.disarm()
            ctx.db.dispose()
            stop_llm()


@pytest.mark.timeout(900)  # 21 starts of the real process; the suite's default is 120 s
def test_twenty_kill_9s_in_ingest_briefs_and_delivery_lose_nothing_and_resend_only_what_was_in_flight(
    world: World,
) -> None:
    rng, wire = world.rng, world.wire
    log = world.tmp_path / "newsbrief.log"
    in_flight: list[int] = []  # per kill: messages accepted but not recorded
    for round_no in range(KILLS):
        phase = PHASES[round_no % len(PHASES)]
        make_due(world, round_no, newcomer=phase == "brief")
        delay = 0.0
        if phase == "ingest":  # every feed, then the new items' pages; or a moment after one of them
            k = rng.randint(1, FEEDS + ARTICLES // KILLS)
            delay = rng.choice((0.0, round(rng.uniform(0.2, 2.0), 2)))
        elif phase == "brief":
            k = rng.randint(1, 3)
        else:
            k = rng.randint(1, max(1, outstanding(world.db)))
        sent_before, started = len(world.telegram.messages()), time.monotonic()
        how = run_until(world, log, lambda pid: wire.arm(phase, k, pid, delay))  # noqa: B023 (called at once)
        in_flight.append(unrecorded(world) - sum(in_flight))
        world.rounds.append(
            {
                "round": round_no,
                "phase": phase,
                "k": k,
                "delay": delay,
                "end": how,
                "trigger": "hit" if wire.fired.is_set() else "missed",
                "secs": round(time.monotonic() - started, 1),
                "messages": len(world.telegram.messages()) - sent_before,
                "unrecorded": in_flight[-1],
                "outstanding": outstanding(world.db),
                "articles": stored(world),
            }
        )
        print(world.rounds[-1])
        assert how in ("killed", f"settled, exited {-signal.SIGKILL}"), world.summary()
    how = run_until(world, log, lambda pid: None, at_rest="term")
    assert how == "settled, exited 0", world.summary() + "\n" + log.read_text()[-5000:]
    hits = Counter(r["phase"] for r in world.rounds if r["trigger"] == "hit")
    print(f"kills that hit their phase: {dict(hits)}")
    check_archive(world)
    check_outbox(world)
    check_messages(world, in_flight)
    assert set(hits) == set(PHASES), world.summary()  # every phase was really hit, not just killed at rest


def check_archive(world: World) -> None:
    """Each article once, every published one there, with its thread links and its passages."""
    with world.db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    ctx = build_context(
        Settings(_env_file=None, data_dir=world.tmp_path / "data", embedder="none"), seed=False
    )
    classifier = ctx.classifier()
    with world.db.session() as session:
        articles = session.scalars(select(Article)).all()
        assert len({a.content_hash for a in articles}) == len(articles), world.summary()
        assert len({a.url for a in articles}) == len(articles), world.summary()
        assert {a.guid for a in articles} == world.newsroom.guids()
        links: dict[int, set[str]] = defaultdict(set)
        for link in session.scalars(select(ArticleThread)):
            links[link.article_id].add(link.thread_id)
        indexed = set(session.scalars(select(Passage.article_id).distinct()))
        passages = session.execute(select(Passage.article_id, Passage.ord)).all()
        assert len(set(passages)) == len(passages)  # no article indexed twice
        for article in articles:
            if article.duplicate_of is not None:
                continue
            expected = {m.thread_id for m in classifier.classify(article.title, article.text)}
            assert expected and links[article.id] == expected, (article.guid, links[article.id], expected)
            assert article.id in indexed, f"{article.guid} has no passages"
    ctx.db.dispose()


def check_outbox(world: World) -> None:
    """One row per (subscription, due time), every one sent in full, none left claimed."""
    with world.db.session() as session:
        rows = session.scalars(select(Delivery)).all()
        assert {r.key for r in rows} == world.expected_keys, world.summary()
        assert len(rows) == len(world.expected_keys)
        assert Counter(r.status for r in rows) == {"sent": len(rows)}
        assert all(r.lease_until is None for r in rows)
        for row in rows:
            assert row.parts_sent == row.parts_total >= 1


def check_messages(world: World, in_flight: list[int]) -> None:
    """Every chat got every brief due to it, all parts in order; the extra messages are the in-flight ones."""
    received: dict[int, list[str]] = defaultdict(list)
    for message in world.telegram.messages():
        received[message.chat_id].append(message.text)
    expected_total = 0
    with world.db.session() as session:
        rows = session.execute(
            select(Delivery.chat_id, Brief.payload).join(Brief, Brief.id == Delivery.brief_id)
        )
        for chat_id, payload in rows:
            parts = render_brief(payload)
            expected_total += len(parts)
            stream = iter(received[int(chat_id)])
            assert all(part in stream for part in parts), f"chat {chat_id} is missing a part of a brief"
    doubled = len(world.telegram.messages()) - expected_total
    concurrency = inspect.signature(DeliveryWorker).parameters["concurrency"].default
    per_kill = concurrency + int(RATE * 0.05) + 1  # the sends in flight and one progress flush's worth
    delivery_kills = sum(1 for n in in_flight if n > 0)
    print(f"doubled {doubled}; in flight per kill {in_flight}; bound {per_kill} per kill")
    assert doubled <= sum(in_flight), world.summary()  # only what was in flight at a kill went out again
    assert max(in_flight) <= per_kill, world.summary()
    assert doubled <= delivery_kills * per_kill


# ---------------------------------------------------------------------- the restart's recovery, alone


async def test_a_restart_on_sqlite_frees_the_sources_a_killed_process_was_reading_and_indexes_what_it_stored(
    tmp_path: Path,
) -> None:
    ctx = build_context(Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none"))
    # Killed between the two transactions of an ingest: articles stored, their passages not yet written.
    await ingest_due(ctx, index_passages=False)
    later = datetime.now(UTC) + timedelta(minutes=5)
    with ctx.db.session() as session:  # and killed while reading the sources again: their leases stay
        session.execute(update(Source).values(lease_until=later, next_check_at=datetime.now(UTC)))
    assert unindexed_originals(ctx.db) > 0
    with ctx.db.session() as session:
        assert queries.claim_due_sources(session, datetime.now(UTC), limit=10, lease_until=later, skip_locked=False) == []  # fmt: skip

    lock = _single_sqlite_process(ctx)  # what `newsbrief run` does first on SQLite
    assert index_unindexed(ctx) > 0  # and after loading the classifier
    assert lock is not None
    lock.close()

    with ctx.db.session() as session:
        assert session.scalars(select(Source.lease_until)).all() == [None]
        assert len(queries.claim_due_sources(session, datetime.now(UTC), limit=10, lease_until=later, skip_locked=False)) == 1  # fmt: skip
    assert unindexed_originals(ctx.db) == 0
    assert index_unindexed(ctx) == 0  # nothing indexed twice
    ctx.db.dispose()


def unindexed_originals(db: Database) -> int:
    """Stored originals without passages (their indexing is a transaction of its own, after the store)."""
    with db.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Article)
            .where(Article.duplicate_of.is_(None), ~exists().where(Passage.article_id == Article.id))
        )
    return int(count or 0)
