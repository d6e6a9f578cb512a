"""Several processes: roles, the SQLite single-process guard, leadership, claiming and the shared rate."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from bot.app import build_context
from bot.config import Settings
from bot.delivery.buckets import RateLimitError, SharedBucket
from bot.runtime.leader import AlreadyRunning, Leadership, hold_sqlite
from bot.runtime.runner import serve
from storage import queries
from storage.db import Database
from storage.models import Delivery, Source
from tests.conftest import postgres_database
from tests.harness import telegram_settings
from tests.processes import NEWSBRIEF, environment, free_port, prepared, start, wait_healthy
from tests.servers.telegram_stub import TelegramStub, until

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")


@pytest.fixture
def pg() -> Iterator[Database]:
    """A migrated PostgreSQL schema of its own."""
    yield from postgres_database(PG_URL)


@pytest.fixture
def stub() -> Iterator[TelegramStub]:
    with TelegramStub() as server:
        yield server


# ---------------------------------------------------------------------- SQLite: one process only


def test_a_second_holder_of_the_sqlite_file_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'newsbrief.db'}")
    first = hold_sqlite(db)
    assert first is not None
    with pytest.raises(AlreadyRunning, match="several processes need PostgreSQL"):
        hold_sqlite(db)
    first.close()  # what the kernel does when the process dies, even by kill -9
    again = hold_sqlite(db)
    assert again is not None
    again.close()
    db.dispose()


def test_a_second_run_on_the_same_sqlite_file_refuses_to_start(tmp_path: Path, stub: TelegramStub) -> None:
    prepared(tmp_path, 0)
    first_port = free_port()
    first = start(tmp_path, stub, first_port)
    try:
        wait_healthy(first_port, first)
        second = start(tmp_path, stub, free_port())
        output = second.communicate(timeout=60)[0].decode()
        assert second.returncode != 0
        assert "several processes need PostgreSQL" in output
        first.kill()  # SIGKILL: the lock must go with the process
        first.wait(timeout=10)
        port = free_port()
        third = start(tmp_path, stub, port)
        try:
            wait_healthy(port, third)
        finally:
            third.kill()
            third.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()


# ---------------------------------------------------------------------- roles


def role_settings(tmp_path: Path, stub: TelegramStub, **extra: object) -> Settings:
    return telegram_settings(tmp_path / "data", stub, ingest_interval=3600, **extra)


def leader_line(port: int) -> str:
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return next(line for line in metrics.splitlines() if line.startswith("newsbrief_leader_info{"))


async def health(port: int) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                response = await client.get(f"http://127.0.0.1:{port}/healthz")
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("never healthy")


async def test_the_web_role_neither_schedules_nor_delivers_nor_polls(
    tmp_path: Path, stub: TelegramStub
) -> None:
    prepared(tmp_path, 3)  # three briefs already due: a worker would send them at once
    ctx = build_context(role_settings(tmp_path, stub))
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(ctx, port=port, install_signals=False, stop_event=stop, role="web"))
    try:
        report = await health(port)
        assert (report["role"], report["leader"]) == ("web", False)
        line = await asyncio.to_thread(leader_line, port)
        assert 'identity=""' in line and 'role="web"' in line  # a web process never leads
        with ctx.db.engine.connect() as connection:
            assert "apscheduler_jobs" not in connection.dialect.get_table_names(connection)
        assert not [method for method, _ in stub.state.calls if method in ("getUpdates", "sendMessage")]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        ctx.db.dispose()


async def test_the_worker_role_leads_and_delivers_but_takes_no_webhook(
    tmp_path: Path, stub: TelegramStub
) -> None:
    prepared(tmp_path, 3)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = role_settings(
        tmp_path, stub, telegram_webhook_url=url, telegram_webhook_secret=SecretStr("s3cret")
    )
    ctx = build_context(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, port=port, install_signals=False, stop_event=stop, role="worker"))
    try:
        await until(lambda: len(stub.messages()) >= 3, timeout=30)  # the leader's scheduler enqueued them
        report = await health(port)
        assert (report["role"], report["leader"]) == ("worker", True)
        line = await asyncio.to_thread(leader_line, port)
        assert f':{os.getpid()}"' in line and 'role="worker"' in line  # this process leads
        async with httpx.AsyncClient() as client:
            posted = await client.post(url, json={}, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
        assert posted.status_code == 404
        assert stub.state.webhook.get("url") is None  # only a web process registers the webhook
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        ctx.db.dispose()


async def test_an_unknown_role_is_refused_with_the_choices(tmp_path: Path, stub: TelegramStub) -> None:
    from bot.runtime.runner import RunError

    ctx = build_context(role_settings(tmp_path, stub))
    with pytest.raises(RunError, match="all, web, worker"):
        await serve(ctx, port=free_port(), install_signals=False, role="both")  # type: ignore[arg-type]
    ctx.db.dispose()


# ---------------------------------------------------------------------- PostgreSQL


@needs_postgres
async def test_leadership_moves_to_another_process_when_the_leader_session_dies(pg: Database) -> None:
    other = Database(str(pg.engine.url.render_as_string(hide_password=False)))
    gained: list[str] = []

    async def on(name: str) -> None:
        gained.append(name)

    first = Leadership(pg, timeout=0.6, on_gain=lambda: on("first"))
    second = Leadership(other, timeout=0.6, on_gain=lambda: on("second"))
    tasks = [asyncio.create_task(first.run())]
    try:
        await until(lambda: first.is_leader, timeout=10)
        tasks.append(asyncio.create_task(second.run()))
        assert await asyncio.to_thread(second._check) is False  # the lock is taken
        assert not second.is_leader
        with pg.engine.connect() as connection:  # the leader's session dies as with kill -9
            pids = (
                connection.execute(
                    text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :c"),
                    {"c": 0x6E657773},
                )
                .scalars()
                .all()
            )
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await until(lambda: second.is_leader, timeout=10)
        assert gained == ["first", "second"]
    finally:
        await first.stop()
        await second.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        other.dispose()


@needs_postgres
def test_workers_claiming_due_sources_at_once_get_disjoint_sources_and_dead_leases_expire(
    pg: Database,
) -> None:
    with pg.session() as session:
        session.add_all(Source(kind="rss", location=f"https://example.org/{i}.xml") for i in range(10))
    now = datetime.now(UTC)
    lease = now + timedelta(minutes=5)
    with pg.session() as first, pg.session() as second:
        mine = queries.claim_due_sources(first, now, limit=4, lease_until=lease, skip_locked=True)
        theirs = queries.claim_due_sources(second, now, limit=100, lease_until=lease, skip_locked=True)
        assert len(mine) == 4 and len(theirs) == 6
        assert not {s.id for s in mine} & {s.id for s in theirs}
    with pg.session() as session:  # everything is leased: nothing is due to anybody
        assert queries.claim_due_sources(session, now, limit=100, lease_until=lease, skip_locked=True) == []
    later = lease + timedelta(seconds=1)  # the workers died; their leases ran out
    with pg.session() as session:
        again = queries.claim_due_sources(session, later, limit=100, lease_until=later, skip_locked=True)
        assert len(again) == 10


@needs_postgres
def test_grants_of_a_shared_bucket_from_several_processes_never_overlap(pg: Database) -> None:
    rate = 500.0
    buckets = [SharedBucket(Database(str(pg.engine.url.render_as_string(hide_password=False))), name="t:x", rate=rate) for _ in range(3)]  # fmt: skip

    async def grants(bucket: SharedBucket) -> list[float]:
        return [await asyncio.to_thread(bucket.grant) + bucket.offset for _ in range(40)]

    async def everyone() -> list[list[float]]:
        return list(await asyncio.gather(*(grants(b) for b in buckets)))

    slots = sorted(s for per in asyncio.run(everyone()) for s in per)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 1 / rate - 1e-6  # one slot per interval, whoever asks
    for bucket in buckets:
        bucket.db.dispose()


def test_a_shared_bucket_on_sqlite_is_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(RateLimitError, match="PostgreSQL"):
        SharedBucket(db, name="t", rate=10)
    db.dispose()


# ---------------------------------------------------------------------- three processes, one killed

CHATS = 2000
RATE = 100
LEADER_TIMEOUT = 3.0


def is_leader(port: int) -> bool:
    try:
        return bool(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json().get("leader"))
    except httpx.HTTPError:
        return False


@needs_postgres
def test_three_processes_share_a_broadcast_and_survive_the_leader_being_killed(
    pg: Database, tmp_path: Path
) -> None:
    url = pg.engine.url.render_as_string(hide_password=False)
    prepared(tmp_path, CHATS, database_url=url)  # seeded once, not by three processes at once
    extra = {
        "DATABASE_URL": url,
        # 5% under the stand-in's limit: three processes on two shared cores jitter by tens of
        # milliseconds, which can push one message across a one-second window; bench/scale.py measures
        # the tight case (the shared budget at 98% of the limit with no 429).
        "TELEGRAM_RATE_LIMIT": str(RATE * 0.95),
        "LEADER_TIMEOUT": str(LEADER_TIMEOUT),
        "DELIVERY_LEASE": "15",
    }
    with TelegramStub(rate_limit=RATE, record_calls=False) as stub:
        ports = [free_port() for _ in range(3)]
        env = environment(tmp_path, stub, **extra)
        processes = {
            port: subprocess.Popen(
                [*NEWSBRIEF, "run", "--port", str(port)], env=env, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for port in ports
        }  # fmt: skip
        try:
            for port, process in processes.items():
                wait_healthy(port, process)
            leader = stub.wait_for(lambda: [p for p in ports if is_leader(p)], timeout=20)
            assert len(leader) == 1
            stub.wait_for(lambda: len(stub.messages()) >= CHATS // 2, timeout=40)
            processes[leader[0]].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            processes[leader[0]].wait(timeout=10)
            survivors = [p for p in ports if p != leader[0]]
            stub.wait_for(lambda: [p for p in survivors if is_leader(p)], timeout=LEADER_TIMEOUT + 10)
            took_over = time.monotonic() - killed_at
            stub.wait_for(lambda: len({m.chat_id for m in stub.messages()}) == CHATS, timeout=60)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        per_chat = Counter(m.chat_id for m in stub.messages())
        doubled = sum(n - 1 for n in per_chat.values())
        print(f"leadership moved in {took_over:.1f} s; doubled {doubled}; 429s {stub.state.rate_limited}")
        assert set(per_chat) == set(range(1, CHATS + 1))  # every subscriber got the brief
        assert doubled <= 40  # at most what the killed process had in flight
        # No bound on the hand-over time or on 429s here (a survivor leading within the wait above is the
        # behaviour): on a loaded machine three processes jitter past any margin, and a 429 costs nothing
        # but a wait. The line printed above reports both; bench/scale.py measures the shared rate.
    with pg.session() as session:
        assert set(session.scalars(select(Delivery.status))) == {"sent"}
