"""Soak: ingest, questions and deliveries together for ten minutes against the local stand-ins.

    python bench/soak.py [--minutes 10] [--warmup 1] [--seed N] [--database URL] [--json]

The product runs as in production: `newsbrief run` in a process of its own (started as bench/slack.py
starts it), with Telegram, Slack and an LLM configured. Its scheduler's ingest job reads 50 feeds on a
local web server that keep growing (a new item every two seconds, some near-duplicates, some teasers
whose page must be fetched); its deliver job builds briefs for subscriptions falling due through the
run, and its outbox workers send them to the Telegram and Slack stand-ins; questions in Arabic and
English (some follow-ups in the same conversation) arrive as signed Slack events and as Telegram
messages read by its long polling; the LLM is the OpenAI stand-in. Stand-ins and load run in this
process, so the product's RSS is its own.

Faults are injected at a low rate and counted: Telegram 429 and 5xx on deliveries, LLM timeouts and
garbage, and one feed that turns malformed now and then. Errors come from the product's log (every
WARNING or worse), its /metrics and its database at the end (deliveries failed or lost, questions
unanswered) and are split into those the injected faults explain and the others (target: 0). The
product's RSS is sampled every 2 s; the baseline is the RSS at the end of the warm-up (target: at most
10% growth after it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.corpus import SyntheticArticle, articles, rss  # noqa: E402
from bench.qa import QUESTIONS_AR, QUESTIONS_EN  # noqa: E402
from bench.scale import schema  # noqa: E402
from bench.slack import free_port, start_bot, wait_healthy  # noqa: E402
from bot.app import build_context  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.ingest.catalog import add_source  # noqa: E402
from bot.runtime.scheduler import DELIVER_INTERVAL  # noqa: E402
from storage.models import Delivery, Source, Subscription  # noqa: E402
from tests.servers.openai_stub import OpenAIStub, Reply, start_stub  # noqa: E402
from tests.servers.slack_stub import BOT_USER_ID, SlackSide, SlackStub  # noqa: E402
from tests.servers.telegram_stub import TOKEN, TelegramStub  # noqa: E402
from tests.servers.web import WebServer  # noqa: E402
from tests.test_briefs import grounded_reply  # noqa: E402

FEEDS = 50
WINDOW = 20  # items a feed carries, newest last, as real feeds keep only their latest
ITEM_EVERY = 2.0  # seconds between new feed items (across all feeds)
TEASER_SHARE = 0.2  # items carrying only a teaser: the reader fetches their page
QUESTION_EVERY = 1.5  # seconds between questions (alternately Slack and Telegram)
FOLLOW_UP_SHARE = 0.3
FAULT_EVERY = 12.0  # mean seconds between injected faults
FLAKY_EVERY = 45.0  # the malformed feed toggles this often
SUBSCRIPTIONS_PER_MINUTE = 12  # due through the run, half Telegram, half Slack
FIRST_SUBSCRIPTIONS = 8  # due before the start: the scheduler's first deliver job sends them
SAMPLE_EVERY = 2.0
DRAIN_TIMEOUT = 90.0
INGEST_INTERVAL = 30
LLM_TIMEOUT = 3.0
TARGET_GROWTH = 0.10
MALFORMED = b"<html><body><p>Service temporarily replaced by a maintenance page</p></body></html>"
FOLLOW_UPS = {
    "en": ["And what happened after that?", "Who else was there?"],
    "ar": ["وماذا حدث بعد ذلك؟", "من حضر أيضا؟"],
}
ANSWER = {"en": "The sources report on this.", "ar": "تتناول المصادر هذا الموضوع."}
USERS = 6
BOLT_NOTICE = "As you gave `client` as well, `token` will be unused"


# ---------------------------------------------------------------------- the LLM stand-in's replies


def model_reply(request: dict[str, Any]) -> str:
    """A well-behaved model: grounded summaries, answers citing the first passage, echoed rewrites."""
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    if "You translate" in system or "You rewrite" in system:
        question = user.split("<question>\n", 1)[-1].split("\n</question>", 1)[0]
        return json.dumps(
            {"query" if "You translate" in system else "question": question}, ensure_ascii=False
        )
    passage = re.search(r'<passage id="(\d+)">', user)
    if passage:  # an answer, or its repair
        lang = "ar" if 'code "ar"' in user else "en"
        return json.dumps(
            {"answer": ANSWER[lang], "cites": [passage.group(1)], "covered": True}, ensure_ascii=False
        )
    return grounded_reply(request)


# ---------------------------------------------------------------------- growing feeds


class Feeds:
    """Feeds on a local web server that keep growing; the last one turns malformed now and then."""

    def __init__(self, server: WebServer, count: int, seed: int) -> None:
        self.server, self.count = server, count
        self.rng = random.Random(seed)
        self.stream = articles(10**7, seed=seed, duplicate_ratio=0.1, prefix=f"soak{seed}")
        self.items: list[list[SyntheticArticle]] = [[] for _ in range(count)]
        self.teasers: set[str] = set()
        self.versions = itertools.count(1)
        self.flaky, self.broken = count - 1, False
        self.added = 0
        self.malformed_served = 0

    def url(self, n: int) -> str:
        return self.server.url(f"/feeds/{n}.xml")

    def grow(self, n: int | None = None) -> None:
        """One new item in feed `n` or a random one (its page served too when it is a teaser)."""
        article = next(self.stream)
        n = self.rng.randrange(self.count) if n is None else n
        if self.rng.random() < TEASER_SHARE:
            self.teasers.add(article.guid)
            page = f"<html><head><title>{article.title}</title></head><body><article><h1>{article.title}</h1>"
            self.server.add(f"/a/{article.guid}", (page + article.html() + "</article></body></html>").encode(),
                            content_type="text/html; charset=utf-8")  # fmt: skip
        self.items[n] = [*self.items[n], article][-WINDOW:]
        self.added += 1
        self.publish(n)

    def publish(self, n: int) -> None:
        body = rss(self.items[n], base_url=self.server.base_url, title=f"Soak {n}", teasers=self.teasers,
                   pub_date=format_datetime(datetime.now(UTC), usegmt=True))  # fmt: skip
        if n == self.flaky and self.broken:
            body = MALFORMED
        self.server.add(f"/feeds/{n}.xml", body, content_type="application/rss+xml; charset=utf-8",
                        etag=f'"{n}-{next(self.versions)}"')  # fmt: skip

    def toggle_flaky(self) -> None:
        self.broken = not self.broken
        self.malformed_served += self.broken
        self.publish(self.flaky)


# ---------------------------------------------------------------------- questions


@dataclass
class Questions:
    """Questions through the adapters' own entry points; what was asked where, to check every answer."""

    telegram: TelegramStub
    slack_stub: SlackStub
    slack: SlackSide
    rng: random.Random
    asked: Counter[str] = field(default_factory=Counter)  # "slack"/"telegram" → questions
    threads: dict[str, tuple[str, int]] = field(default_factory=dict)  # slack thread ts → (channel, asked)
    chats: Counter[int] = field(default_factory=Counter)  # telegram chat → questions
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    errors: list[str] = field(default_factory=list)
    retried: int = 0  # Slack events sent again after a transport error, as Slack itself would

    def question(self, lang: str) -> str:
        return self.rng.choice(QUESTIONS_AR if lang == "ar" else QUESTIONS_EN)

    async def ask(self) -> None:
        n = next(self.numbers)
        lang = "ar" if n % 3 else "en"
        follow_up = self.rng.random() < FOLLOW_UP_SHARE
        if n % 2:
            await self.ask_slack(n, lang, follow_up)
        else:
            self.ask_telegram(n, lang, follow_up)

    async def ask_slack(self, n: int, lang: str, follow_up: bool) -> None:
        user = f"UQ{n % USERS:02d}"
        answered = [ts for ts, (channel, asked) in self.threads.items() if self.answers(channel, ts) >= asked]
        ts = f"{10_000 + n}.000100"
        if follow_up and answered:
            root = self.rng.choice(answered)
            channel, asked = self.threads[root]
            event = {"type": "message", "channel_type": "channel", "user": user, "ts": ts, "thread_ts": root,
                     "channel": channel, "text": self.rng.choice(FOLLOW_UPS[lang])}  # fmt: skip
            self.threads[root] = (channel, asked + 1)
        else:
            channel = f"CQ{n % 4:02d}"
            event = {"type": "app_mention", "user": user, "ts": ts, "channel": channel,
                     "text": f"<@{BOT_USER_ID}> {self.question(lang)}"}  # fmt: skip
            self.threads[ts] = (channel, 1)
        self.asked["slack"] += 1
        try:
            response = await self.slack.event(event, event_id=f"EvSoak{n}")
        except httpx.TransportError:
            # A kept-alive connection the server was closing: Slack retries such a delivery, and so do we.
            self.retried += 1
            response = await self.slack.event(event, event_id=f"EvSoak{n}", retry_num=1)
        if response.status_code != 200:
            self.errors.append(f"Slack event {n}: HTTP {response.status_code}")

    def answers(self, channel: str, ts: str) -> int:
        return sum(1 for post in self.slack_stub.posts(channel) if post.get("thread_ts") == ts)

    def ask_telegram(self, n: int, lang: str, follow_up: bool) -> None:
        chat = 500 + n % USERS
        sent = self.telegram.messages(chat)
        if follow_up and sent and len(sent) >= self.chats[chat]:
            text, reply_to = self.rng.choice(FOLLOW_UPS[lang]), sent[-1].message_id
        else:
            text, reply_to = self.question(lang), None
        self.telegram.send_text(chat_id=chat, text=text, reply_to=reply_to, language_code=lang)
        self.chats[chat] += 1
        self.asked["telegram"] += 1

    def unanswered(self) -> int:
        slack = sum(max(0, asked - self.answers(ch, ts)) for ts, (ch, asked) in self.threads.items())
        telegram = sum(max(0, asked - len(self.telegram.messages(c))) for c, asked in self.chats.items())
        return slack + telegram


# ---------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Faults injected at a low rate; `fired()` says how many the product actually met."""

    telegram: TelegramStub
    llm: OpenAIStub
    rng: random.Random
    targets: list[tuple[datetime, str]]  # Telegram subscription chats with their due times
    scheduled: Counter[str] = field(default_factory=Counter)
    pushed_llm: int = 0

    def inject(self) -> None:
        kind = self.rng.choice(("telegram-429", "telegram-5xx", "llm-timeout", "llm-garbage"))
        if kind.startswith("telegram"):
            chat = self._upcoming_chat()
            if chat is None:
                return
            status = 429 if kind == "telegram-429" else self.rng.choice((500, 502))
            self.telegram.fail("sendMessage", status, retry_after=1, chat_id=int(chat))
        elif kind == "llm-timeout":
            self.llm.push(Reply(delay=LLM_TIMEOUT + 1))
        else:
            self.llm.push(Reply(content=self.rng.choice(("not JSON at all", '{"headline": 42}', "[]"))))
        self.pushed_llm += kind.startswith("llm")
        self.scheduled[kind] += 1

    def _upcoming_chat(self) -> str | None:
        """A chat whose brief is due soon, so the fault meets a delivery, not a question's answer."""
        now = datetime.now(UTC)
        soon = [chat for due, chat in self.targets if now < due < now + timedelta(minutes=2)]
        if not soon:
            return None
        chat = self.rng.choice(soon)
        self.targets = [t for t in self.targets if t[1] != chat]
        return chat

    def fired(self) -> dict[str, int]:
        """Faults met by the product: scheduled minus those still waiting in the stand-ins."""
        waiting = sum(f.times for f in self.telegram.state.failures.get("sendMessage", []))
        llm_waiting = len(self.llm.replies)
        telegram = self.scheduled["telegram-429"] + self.scheduled["telegram-5xx"]
        return {
            **self.scheduled,
            "telegram (met)": telegram - waiting,
            "llm (met)": self.pushed_llm - llm_waiting,
        }


# ---------------------------------------------------------------------- the product's log and figures


@dataclass
class LogWatch:
    """Every WARNING-or-worse line of the product's JSON log, split into injected-fault ones and others."""

    flaky_source: int
    injected: Counter[str] = field(default_factory=Counter)
    other: list[str] = field(default_factory=list)
    notices: int = 0  # Bolt's start-up notice that SLACK_BOT_TOKEN is set beside our client: not an error

    def read(self, stream: IO[bytes]) -> threading.Thread:
        thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        thread.start()
        return thread

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.classify(line)

    def classify(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            self.other.append(line[:300])  # raw output: a traceback printed outside logging
            return
        if record.get("level") not in ("WARNING", "ERROR", "CRITICAL"):
            return
        logger, message = str(record.get("logger")), str(record.get("message"))
        if logger == "slack_bolt.AsyncApp" and message.startswith(BOLT_NOTICE):
            self.notices += 1
            return
        cause = self.cause(logger, message)
        if cause:
            self.injected[cause] += 1
            return
        failure = str(record.get("exception") or "").strip().splitlines()[-1:]
        self.other.append(f"{record.get('level')} {logger}: {message} {' '.join(failure)}"[:500])

    def cause(self, logger: str, message: str) -> str:
        if logger == "bot.runtime.ingest_cycle" and message.startswith(f"source {self.flaky_source} failed"):
            return "malformed feed"
        if logger in ("bot.llm", "bot.summarize.llm"):
            return "llm"
        return ""


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The product's /metrics as name → [(labels, value)]."""
    text = httpx.get(url + "/metrics", timeout=30).text
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> int:
    rows = samples.get(name, [])
    return int(sum(v for have, v in rows if all(have.get(k) == w for k, w in labels.items())))


def rss_mb(pid: int) -> float:
    """A process's resident set size (VmRSS) in MB (psutil is not installed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------- set-up


def subscription_rows(dues: list[datetime], start: int) -> list[dict[str, Any]]:
    """Alternately Telegram and Slack, both threads, both languages, one per due time."""
    rows = []
    for n, due in enumerate(dues, start):
        telegram = n % 2 == 0
        rows.append({
            "platform": "telegram" if telegram else "slack",
            "chat_id": str(200_000 + n) if telegram else f"CSUB{n:05d}",
            "thread_id": ("russia-dprk", "saudi-russia")[n // 2 % 2], "lang": ("en", "ar")[n // 4 % 2],
            "deliver_at": "07:00", "timezone": "UTC", "active": True, "next_due_at": due, "created_by": "soak",
        })  # fmt: skip
    return rows


def prepare(settings: Settings, feeds: Feeds, first: int) -> tuple[int, list[dict[str, Any]]]:
    """Threads, the feeds as sources, the first subscriptions (due now); the flaky source's id."""
    ctx = build_context(settings)
    with ctx.db.session() as session:
        ids = [
            add_source(session, location=feeds.url(n), kind="feed", actor="soak").id
            for n in range(feeds.count)
        ]
        rows = subscription_rows([datetime.now(UTC) - timedelta(minutes=1)] * first, 0)
        session.execute(insert(Subscription), rows)
    ctx.db.dispose()
    return ids[feeds.flaky], rows


def spread_subscriptions(settings: Settings, minutes: float, first: int) -> list[dict[str, Any]]:
    """Subscriptions due through the run, the last a deliver job before its end."""
    span = minutes * 60 - DELIVER_INTERVAL - 10
    count = int(SUBSCRIPTIONS_PER_MINUTE * span / 60)
    if count <= 0:
        return []
    now = datetime.now(UTC)
    rows = subscription_rows([now + timedelta(seconds=span * (k + 1) / count) for k in range(count)], first)
    ctx = build_context(settings, migrate=False, seed=False)
    with ctx.db.session() as session:
        session.execute(insert(Subscription), rows)
    ctx.db.dispose()
    return rows


def product_env(settings: Settings, telegram: TelegramStub, llm: OpenAIStub) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "SOURCES_FILE": str(settings.sources_file),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
        "LLM_BASE_URL": llm.base_url + "/v1",
        "LLM_API_KEY": "soak-key",
        "LLM_MODEL": "stub-model",
        "LLM_TIMEOUT": str(LLM_TIMEOUT),
        "LLM_MAX_RETRIES": "1",
        "INGEST_INTERVAL": str(INGEST_INTERVAL),
        "SOURCE_MIN_INTERVAL": str(INGEST_INTERVAL),  # the 5-minute floor would hide the feeds' growth
        "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "FETCH_TIMEOUT": "10",
        "QA_RATE_LIMIT": "60",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
    }


# ---------------------------------------------------------------------- the run


@dataclass
class Run:
    """What the load loops share."""

    minutes: float
    warmup: float
    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    started: float = field(default_factory=time.monotonic)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def every(self, seconds: float, action: Any, rng: random.Random | None = None) -> None:
        """Call `action()` every `seconds` (jittered when `rng` is given) until the run stops."""
        while not self.stopping.is_set():
            wait = seconds * (rng.uniform(0.5, 1.5) if rng else 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=wait)
                return
            result = action()
            if asyncio.iscoroutine(result):
                await result

    def sample(self) -> None:
        self.samples.append((self.elapsed, rss_mb(self.pid)))

    def rss_at(self, seconds: float) -> float:
        return next((mb for at, mb in self.samples if at >= seconds), self.samples[-1][1])


async def drain(url: str, questions: Questions, settings: Settings, until: datetime) -> float:
    """Wait for every question's answer, an empty outbox and every due subscription enqueued."""
    started = time.monotonic()
    ctx = build_context(settings, migrate=False, seed=False)
    try:
        while time.monotonic() - started < DRAIN_TIMEOUT:
            with ctx.db.session() as session:
                waiting = session.scalar(
                    select(func.count()).select_from(Subscription)
                    .where(Subscription.active.is_(True), Subscription.next_due_at <= until)
                )  # fmt: skip
                # An ingest round in flight would be cancelled by the stop (apscheduler logs that as an error).
                reading = session.scalar(
                    select(func.count()).select_from(Source).where(Source.lease_until > datetime.now(UTC))
                )
            depth = total(await asyncio.to_thread(scrape, url), "newsbrief_outbox_depth")
            if not waiting and not reading and not depth and not questions.unanswered():
                break
            await asyncio.sleep(1.0)
    finally:
        ctx.db.dispose()
    return time.monotonic() - started


def outbox_state(settings: Settings, telegram: TelegramStub, slack: SlackStub) -> dict[str, int]:
    """Deliveries by status, subscriptions due but never enqueued, and chats that got a brief twice."""
    ctx = build_context(settings, migrate=False, seed=False)
    with ctx.db.session() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        parts = session.execute(select(Delivery.platform, Delivery.chat_id, Delivery.parts_total)).all()
        due = session.scalar(
            select(func.count()).select_from(Subscription)
            .where(Subscription.active.is_(True), Subscription.created_by == "soak", Subscription.last_brief_at.is_(None))
            .where(Subscription.next_due_at <= datetime.now(UTC))
        )  # fmt: skip
    ctx.db.dispose()
    # Every subscriber chat has one delivery in the run: more messages than its parts means a re-send.
    received = Counter(str(m.chat_id) for m in telegram.messages()) + Counter(
        p["channel"] for p in slack.posts()
    )
    twice = sum(1 for _, chat, total in parts if received[chat] > (total or 0))
    return {
        **{str(status): int(n) for status, n in rows},
        "due, never enqueued": int(due or 0),
        "sent twice": twice,
    }


async def soak(args: argparse.Namespace, folder: Path, database_url: str) -> dict[str, Any]:
    rng = random.Random(args.seed)
    (folder / "none.toml").write_text("", encoding="utf-8")
    settings = Settings(
        _env_file=None, data_dir=folder, database_url=database_url, sources_file=folder / "none.toml"
    )
    with WebServer() as web, TelegramStub(record_calls=False) as telegram, SlackStub() as slack_stub:
        llm, stop_llm = start_stub()
        llm.responder = model_reply
        try:
            feeds = Feeds(web, FEEDS, args.seed)
            for n in range(FEEDS):
                feeds.grow(n)
            flaky, first = prepare(settings, feeds, FIRST_SUBSCRIPTIONS)
            return await run_product(
                args, folder, settings, feeds, flaky, first, telegram, slack_stub, llm, rng
            )
        finally:
            stop_llm()


async def run_product(
    args: argparse.Namespace, folder: Path, settings: Settings, feeds: Feeds, flaky: int,
    first: list[dict[str, Any]], telegram: TelegramStub, slack_stub: SlackStub, llm: OpenAIStub, rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    port = free_port()
    env = product_env(settings, telegram, llm)
    process = start_bot(folder, slack_stub, port, env=env, stderr=subprocess.PIPE)
    assert process.stderr is not None
    logs = LogWatch(flaky)
    reader = logs.read(process.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, process, timeout=300)
        later = spread_subscriptions(settings, args.minutes, len(first))
        side = SlackSide(url + "/slack/events", slack_stub)
        questions = Questions(telegram, slack_stub, side, rng)
        targets = [(r["next_due_at"], r["chat_id"]) for r in later if r["platform"] == "telegram"]
        faults = Faults(telegram, llm, rng, targets)
        run = Run(args.minutes, args.warmup, process.pid)
        run.sample()
        loops = [
            run.every(SAMPLE_EVERY, run.sample),
            run.every(ITEM_EVERY, feeds.grow),
            run.every(QUESTION_EVERY, questions.ask),
            run.every(FAULT_EVERY, faults.inject, rng),
            run.every(FLAKY_EVERY, feeds.toggle_flaky),
        ]
        tasks = [asyncio.create_task(loop) for loop in loops]
        await asyncio.sleep(args.minutes * 60)
        run.sample()
        load_seconds = run.elapsed
        run.stopping.set()
        await asyncio.gather(*tasks)
        drained = await drain(url, questions, settings, datetime.now(UTC))
        metrics = await asyncio.to_thread(scrape, url)
        await side.close()
    finally:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)
    return report(args, run, load_seconds, drained, metrics, logs, questions, faults, feeds, telegram, slack_stub,
                  outbox_state(settings, telegram, slack_stub), len(first) + len(later), process.returncode)  # fmt: skip


def report(
    args: argparse.Namespace, run: Run, load_seconds: float, drained: float, metrics: dict[str, Any],
    logs: LogWatch, questions: Questions, faults: Faults, feeds: Feeds, telegram: TelegramStub,
    slack_stub: SlackStub, outbox: dict[str, int], subscriptions: int, exit_status: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Every figure, and the errors not explained by an injected fault."""
    fired = faults.fired()
    other = list(logs.other) + questions.errors
    unanswered = questions.unanswered()
    if unanswered:
        other.append(f"{unanswered} question(s) never answered")
    for status in ("failed", "pending", "sending", "due, never enqueued", "sent twice"):
        if outbox.get(status):
            other.append(f"{outbox[status]} delivery(ies) {status} at the end")
    gone = total(metrics, "newsbrief_deliveries_total", outcome="gone")
    if gone:
        other.append(f"{gone} chat(s) reported gone (no 403 was injected)")
    llm_failed = sum(
        v for labels, v in metrics.get("newsbrief_llm_calls_total", []) if labels.get("outcome") != "ok"
    )
    if llm_failed > 2 * fired["llm (met)"]:  # one injected fault: the call, and at most its repair
        other.append(f"{int(llm_failed)} failed LLM calls for {fired['llm (met)']} injected LLM faults")
    if exit_status not in (0, None):
        other.append(f"newsbrief run exited with status {exit_status}")
    baseline = run.rss_at(run.warmup * 60)
    end = run.rss_at(load_seconds)
    growth = (end - baseline) / baseline
    return {
        "minutes": args.minutes, "warmup_minutes": args.warmup, "seed": args.seed,
        "database": "postgresql" if args.database else "sqlite", "drain_seconds": round(drained, 1),
        "operations": {
            "feed items published": feeds.added,
            "articles stored": total(metrics, "newsbrief_articles_ingested_total"),
            "questions asked (slack, telegram)": [questions.asked["slack"], questions.asked["telegram"]],
            "questions answered": total(metrics, "newsbrief_question_latency_seconds_count"),
            "slack events re-sent after a transport error": questions.retried,
            "subscriptions due": subscriptions,
            "briefs built": total(metrics, "newsbrief_briefs_built_total"),
            "briefs delivered (telegram, slack)": [
                total(metrics, "newsbrief_deliveries_total", platform=p, outcome="sent") for p in ("telegram", "slack")
            ],
            "messages sent (telegram, slack)": [telegram.stats()["sent"], len(slack_stub.posts())],
            "llm calls ok": total(metrics, "newsbrief_llm_calls_total", outcome="ok"),
            "delivery retries": total(metrics, "newsbrief_deliveries_total", outcome="retried"),
            "outbox at the end": outbox,
        },
        "faults injected": {**fired, "malformed feed windows": feeds.malformed_served},
        "errors": {"injected": dict(logs.injected), "other": len(other), "first other": other[:5]},
        "rss_mb": {
            "start": round(run.samples[0][1], 1), "after warm-up": round(baseline, 1), "end": round(end, 1),
            "peak": round(max(mb for _, mb in run.samples), 1), "growth after warm-up %": round(100 * growth, 1),
            "each minute": [round(run.rss_at(60 * m), 1) for m in range(int(load_seconds // 60) + 1)],
        },
        "pass": growth <= TARGET_GROWTH and not other,
    }  # fmt: skip


def format_report(r: dict[str, Any]) -> str:
    """The report as printed (and as docs/benchmarks.md shows it)."""
    lines = [
        f"soak: {r['minutes']} min ({r['warmup_minutes']} min warm-up), seed {r['seed']}, {r['database']}, "
        f"`newsbrief run` against the Telegram, Slack and OpenAI stand-ins and {FEEDS} growing feeds"
    ]
    lines.append("operations:")
    lines += [f"  {name}: {value}" for name, value in r["operations"].items()]
    lines.append("faults injected: " + ", ".join(f"{k} {v}" for k, v in r["faults injected"].items()))
    errors = r["errors"]
    lines.append(
        f"errors: injected {sum(errors['injected'].values())} {errors['injected']}, other {errors['other']}"
    )
    lines += [f"  other: {text}" for text in errors["first other"]]
    rss = r["rss_mb"]
    lines.append(
        f"RSS: start {rss['start']} MB, after warm-up {rss['after warm-up']} MB, end {rss['end']} MB, "
        f"peak {rss['peak']} MB, growth after warm-up {rss['growth after warm-up %']}% "
        f"(target <= {TARGET_GROWTH:.0%})\nRSS each minute (MB): {rss['each minute']}"
    )
    lines.append(
        f"drained in {r['drain_seconds']} s; {'PASS' if r['pass'] else 'FAIL'} (growth <= 10%, 0 other errors)"
    )
    return "\n".join(lines)


def main() -> None:
    count = os.cpu_count() or 1
    if count > 1:  # the last core is the product's (bench/slack.py pins it there)
        os.sched_setaffinity(0, set(range(count - 1)))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="minutes before the RSS baseline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database", default="", help="a PostgreSQL URL (a fresh schema is used); default SQLite"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.warmup >= args.minutes and args.warmup:
        parser.error("--warmup must be shorter than --minutes")
    database = schema(args.database) if args.database else contextlib.nullcontext("")
    with tempfile.TemporaryDirectory() as tmp, database as url:
        result = asyncio.run(soak(args, Path(tmp), url))
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_report(result))
    raise SystemExit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
