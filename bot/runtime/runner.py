"""`newsbrief run`: one asyncio loop with the web server, the chat adapters, the scheduler and the senders.

SIGTERM (or SIGINT) stops taking work: the scheduler and the adapters stop, the delivery workers let
the sends in flight finish and give every other claimed row back to the outbox, and the process exits
cleanly. On SQLite only one process may run (a second one refuses to start), so the deliveries and sources
a killed process left claimed are released on start, and the articles it stored but had not indexed yet
are indexed.

Roles: `web` serves webhooks, Slack events, /healthz and /metrics and nothing else, so any number can run
behind a load balancer; `worker` delivers, ingests and campaigns to lead (only the leader runs the
scheduled jobs and, in polling mode, polls Telegram), serving only /healthz and /metrics; `all` is both.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any, Literal

import uvicorn
from sqlalchemy import update

from bot.context import Context
from bot.delivery import outbox
from bot.delivery.budget import Budget, bot_budget
from bot.delivery.worker import DeliveryWorker, Limits
from bot.metrics import process_identity
from bot.runtime.adapters import Adapters
from bot.runtime.ingest_cycle import index_stragglers, ingest_due
from bot.runtime.leader import AlreadyRunning, Leadership, hold_sqlite
from bot.runtime.scheduler import build_scheduler, default_jobs
from bot.runtime.web import create_web_app, database_health
from storage.models import Source

log = logging.getLogger(__name__)

STOP_GRACE = 10.0
INGEST_POLL = 30.0

Role = Literal["all", "web", "worker"]
ROLES: tuple[str, ...] = ("all", "web", "worker")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ours stop every part in order, the server last."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class RunError(Exception):
    """The process cannot start as configured; the message says what to change."""


@dataclass
class Runtime:
    """What one `newsbrief run` holds, so it can be stopped in order."""

    ctx: Context
    role: Role = "all"
    workers: list[DeliveryWorker] = field(default_factory=list)
    worker_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    senders: list[Any] = field(default_factory=list)  # every platform's, for the admin notices
    stoppers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)
    telegram: Any = None
    slack: Any = None
    adapters: Adapters | None = None
    connecting: list[asyncio.Task[None]] = field(default_factory=list)
    after_ingest: Callable[[], Awaitable[Any]] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    leadership: Leadership | None = None
    scheduler: Any = None
    on_gain: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    on_loss: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @property
    def serves_web(self) -> bool:
        return self.role in ("all", "web")

    @property
    def works(self) -> bool:
        return self.role in ("all", "worker")

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def start_worker(self, worker: DeliveryWorker) -> None:
        """Start sending a platform's outbox rows (as soon as the loop runs)."""
        self.workers.append(worker)
        self.worker_tasks.append(asyncio.create_task(worker.run(), name=f"deliver-{worker.sender.platform}"))

    def in_background(self, name: str, work: Awaitable[None]) -> None:
        """An adapter connecting on its own: nothing else waits for it."""
        self.connecting.append(asyncio.create_task(work, name=f"connect-{name}"))  # type: ignore[arg-type]


def check_settings(ctx: Context) -> None:
    """Refuse half-configured webhook mode before anything starts."""
    s = ctx.settings
    if s.telegram_webhook_url and not s.telegram_webhook_secret.get_secret_value():
        raise RunError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET, checked on every webhook request")


async def start_telegram(rt: Runtime) -> None:
    """The PTB Application (polling, or fed by our webhook route) and the Telegram outbox worker.

    Connecting needs the Bot API; it happens in the background, retried with backoff while the API is
    unreachable, so a Telegram outage holds up nothing else. Until it connects, Telegram's outbox rows
    wait, pending; nothing is lost.
    """
    from telegram.error import InvalidToken, NetworkError

    from bot.chat.telegram.app import build_application, make_sender
    from bot.chat.telegram.webhook import webhook_route

    s = rt.ctx.settings
    webhook = bool(s.telegram_webhook_url)
    polling = not webhook and rt.works
    token = s.telegram_bot_token.get_secret_value()
    # One budget for the bot: its replies (through PTB) and its briefs (through the outbox) spend it together.
    budget = bot_budget(rt.ctx, platform="telegram", token=token, limits=Limits(rate=s.telegram_rate_limit))
    application = build_application(rt.ctx, polling=polling, budget=budget)
    rt.telegram = application
    if webhook and rt.serves_web:
        rt.routes.append(webhook_route(s, application))
    sender = make_sender(rt.ctx) if rt.works else None
    if sender is not None:
        rt.senders.append(sender)
    rt.stoppers.append(lambda: _stop_telegram(application, sender))

    async def connect() -> None:
        try:
            await application.initialize()
        except InvalidToken:
            raise RunError(
                "the Bot API refused TELEGRAM_BOT_TOKEN: check the token and TELEGRAM_BASE_URL"
            ) from None
        if not application.running:
            await application.start()
        if webhook and rt.serves_web:
            secret = s.telegram_webhook_secret.get_secret_value()
            await application.bot.set_webhook(s.telegram_webhook_url, secret_token=secret)

    async def run() -> None:
        assert rt.adapters is not None
        if not await rt.adapters.connect(
            "telegram", connect, transient=(NetworkError,), stopping=rt.stop_event
        ):
            return
        if polling:  # getUpdates allows one poller per bot: the leader polls
            rt.on_gain.append(lambda: _start_polling(application))
            rt.on_loss.append(lambda: _stop_polling(application))
            if rt.leadership is not None and rt.leadership.is_leader:
                await _start_polling(application)
        if sender is not None:
            rt.start_worker(_worker(rt.ctx, sender, budget))

    rt.in_background("telegram", run())


def _worker(ctx: Context, sender: Any, budget: Budget) -> DeliveryWorker:
    """A delivery worker spending the bot's budget (on PostgreSQL shared with every other process)."""
    return DeliveryWorker(ctx, sender, budget=budget, lease=ctx.settings.delivery_lease)


async def _start_polling(application: Any) -> None:
    assert application.updater is not None
    if application.updater.running:  # leadership and the connection may both ask for it
        return
    await application.bot.delete_webhook()
    await application.updater.start_polling()


async def _stop_polling(application: Any) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()


async def _stop_telegram(application: Any, sender: Any) -> None:
    try:
        await _stop_polling(application)
        if application.running:
            await application.stop()
        await application.shutdown()  # a no-op when it never connected
    finally:
        if sender is not None:
            await sender.aclose()


async def start_slack(rt: Runtime) -> None:
    """Slack, when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set and the adapter is installed."""
    s = rt.ctx.settings
    if not (s.slack_bot_token.get_secret_value() and s.slack_signing_secret.get_secret_value()):
        return
    if importlib.util.find_spec("bot.chat.slack") is None:
        log.warning("Slack is configured but bot.chat.slack is not installed")
        return
    from bot.chat.slack import SLACK_LIMITS, build_slack

    token = s.slack_bot_token.get_secret_value()
    budget = bot_budget(rt.ctx, platform="slack", token=token, limits=SLACK_LIMITS)
    adapter = build_slack(rt.ctx, budget=budget)
    rt.slack = adapter
    if rt.serves_web:
        rt.routes += adapter.routes()
    if rt.works:
        rt.senders.append(adapter.sender)
    rt.stoppers.append(adapter.stop)

    async def run() -> None:
        assert rt.adapters is not None
        # HTTP mode has nothing to connect; Socket Mode dials Slack, and is retried like Telegram.
        if not await rt.adapters.connect(
            "slack", adapter.start, transient=(Exception,), stopping=rt.stop_event
        ):
            return
        if rt.works:
            rt.start_worker(_worker(rt.ctx, adapter.sender, adapter.budget))

    rt.in_background("slack", run())


async def serve(
    ctx: Context,
    *,
    port: int | None = None,
    install_signals: bool = True,
    stop_event: asyncio.Event | None = None,
    role: Role = "all",
) -> None:
    """Run the parts of `role` until SIGTERM/SIGINT (or `stop_event` is set), then stop in order."""
    check_settings(ctx)
    if role not in ROLES:
        raise RunError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    # httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    lock = _single_sqlite_process(ctx)
    try:
        await _serve(ctx, port=port, install_signals=install_signals, stop_event=stop_event, role=role)
    finally:
        if lock is not None:
            lock.close()


def _single_sqlite_process(ctx: Context) -> IO[str] | None:
    """On SQLite: refuse a second process, and take back what a killed one left in flight."""
    try:
        lock = hold_sqlite(ctx.db)
    except AlreadyRunning as error:
        raise RunError(str(error)) from None
    if ctx.db.is_sqlite:
        released = outbox.release_all_leases(ctx)
        if released:
            log.info("released %d delivery(ies) a previous process left in flight", released)
        sources = release_source_leases(ctx)
        if sources:
            log.info("released %d source(s) a previous process left being read", sources)
    return lock


def release_source_leases(ctx: Context) -> int:
    """Sources a killed process was reading: due again now, not when its lease (minutes) runs out."""
    with ctx.db.session() as session:
        result = session.execute(
            update(Source).where(Source.lease_until.is_not(None)).values(lease_until=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def index_unindexed(ctx: Context) -> int:
    """Passages for the articles a killed process stored but had not indexed yet (a separate transaction)."""
    return index_stragglers(ctx, grace=timedelta(0), limit=None)


async def _serve(
    ctx: Context, *, port: int | None, install_signals: bool, stop_event: asyncio.Event | None, role: Role
) -> None:
    await asyncio.to_thread(_warm_up, ctx)  # every role answers commands (webhooks or polling)
    if ctx.db.is_sqlite:  # the only process: nobody else is indexing these articles right now
        await asyncio.to_thread(index_unindexed, ctx)
    rt = Runtime(ctx, role=role, stop_event=stop_event or asyncio.Event())
    if install_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, rt.stop_event.set)
    try:
        await _run(rt, port if port is not None else ctx.settings.http_port)
    finally:
        await _shutdown(rt)


def _warm_up(ctx: Context) -> None:
    """Build the classifier now, not inside the first request.

    The local embedder is not loaded here: it holds about 117 MiB (its tokenizer and vocabulary table),
    which a process at rest does not need. The first question, or the embedding job when ingestion
    queued passages, loads it (about a second); bench/memory.py measures the difference.
    """
    ctx.classifier()


async def _run(rt: Runtime, port: int) -> None:
    ctx = rt.ctx
    rt.adapters = Adapters(ctx.metrics, retry_max=ctx.settings.adapter_retry_max)
    if ctx.settings.telegram_bot_token.get_secret_value():
        await start_telegram(rt)
    await start_slack(rt)
    ctx.metrics.set_leader("", role=rt.role)  # until this process leads: empty identity, "not me"
    background: list[asyncio.Task[None]] = []
    if rt.works:
        background.append(_campaign(rt))
        if not ctx.db.is_sqlite:  # several workers share the due sources; on SQLite the job does it all
            background.append(asyncio.create_task(_ingest_loop(rt), name="ingest"))
    app = create_web_app(ctx, routes=rt.routes, health=_health(rt))
    # log_config=None: uvicorn logs through the root handler, so its lines are masked and formatted too.
    server = _Server(
        uvicorn.Config(app, host="0.0.0.0", port=port, log_level="warning", lifespan="off", log_config=None)
    )
    tasks = [asyncio.create_task(server.serve(), name="web")]
    rt.stoppers.insert(0, lambda: _stop_server(server))
    log.info("newsbrief running: role %s, port %d, %d sender(s)", rt.role, port, len(rt.senders))
    stop = asyncio.create_task(rt.stop_event.wait())
    done, _ = await asyncio.wait([stop, *tasks, *background], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stop and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    stop.cancel()
    for task in [*background, *rt.connecting]:  # leadership is handed over by its stopper, later
        task.cancel()
    await asyncio.gather(*background, *rt.connecting, return_exceptions=True)
    await _stop_workers(rt, rt.worker_tasks)
    with contextlib.suppress(Exception):
        await _stop_server(server)
        await asyncio.wait_for(tasks[0], STOP_GRACE)


def _campaign(rt: Runtime) -> asyncio.Task[None]:
    """Seek leadership; the leader alone runs the scheduled jobs (and polls Telegram)."""
    ctx = rt.ctx

    async def gain() -> None:
        # A fresh scheduler each time: its jobs are due at once, so what the dead leader missed runs once.
        # Admin notices go out through every platform's sender (the list grows as adapters connect).
        jobs = default_jobs(ctx, wake=rt.wake, after_ingest=rt.after_ingest, senders=rt.senders)
        rt.scheduler = build_scheduler(ctx, jobs)
        rt.scheduler.start()
        ctx.metrics.set_leader(process_identity(), role=rt.role)
        for hook in rt.on_gain:
            await hook()

    async def lose() -> None:
        ctx.metrics.set_leader("", role=rt.role)
        for hook in rt.on_loss:
            await hook()
        if rt.scheduler is not None:
            await _stop_scheduler(rt.scheduler)
            rt.scheduler = None

    rt.leadership = Leadership(ctx.db, timeout=ctx.settings.leader_timeout, on_gain=gain, on_loss=lose)
    rt.stoppers.insert(0, rt.leadership.stop)
    return asyncio.create_task(rt.leadership.run(), name="leadership")


async def _ingest_loop(rt: Runtime) -> None:
    """Claim and read due sources until stopped (PostgreSQL: every worker takes a share)."""
    while not rt.stop_event.is_set():
        try:
            await ingest_due(rt.ctx)
        except Exception:  # the database briefly away: the sources stay due
            log.exception("ingest round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                rt.stop_event.wait(), timeout=min(INGEST_POLL, rt.ctx.settings.ingest_interval)
            )


def _health(rt: Runtime) -> Callable[[], dict[str, Any]]:
    """Healthy: the database answers and, on the leader, the scheduler runs."""
    database = database_health(rt.ctx)

    def check() -> dict[str, Any]:
        report = database()
        leading = rt.leadership is not None and rt.leadership.is_leader
        if leading and not (rt.scheduler is not None and rt.scheduler.running):
            raise RuntimeError("the leader's scheduler is not running")
        adapters = rt.adapters.report() if rt.adapters is not None else {}
        return {**report, "role": rt.role, "leader": leading, "adapters": adapters}

    return check


async def _stop_scheduler(scheduler: Any) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)


async def _stop_server(server: uvicorn.Server) -> None:
    server.should_exit = True


async def _stop_workers(rt: Runtime, tasks: list[asyncio.Task[None]]) -> None:
    """Sends in flight finish; rows not yet sent go back to the outbox."""
    for worker in rt.workers:
        await worker.stop()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in pending:  # a send stuck past the grace period: cancelled, its row released
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _shutdown(rt: Runtime) -> None:
    for stopper in rt.stoppers:
        try:
            await stopper()
        except Exception:  # stopping one part must not keep the others running
            log.exception("error while stopping")
    log.info("newsbrief stopped")
