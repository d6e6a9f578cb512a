"""The scheduled jobs: APScheduler 3 in the process's event loop, its job store in our database.

Jobs are stored by name and call `run_job(name)`, which finds this process's runtime: the store
persists only a reference and a name, never a connection or a context, so schedules survive a restart
and a job missed while the process was down runs once (coalesced) when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.context import Context
from bot.delivery.base import Sender
from bot.delivery.outbox import enqueue_due
from bot.qa.vectors import embed_queued
from bot.runtime.ingest_cycle import index_stragglers, ingest_due
from bot.runtime.notices import notify_budget, notify_paused_sources

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
DELIVER_INTERVAL = 60
MISFIRE_GRACE = 24 * 3600

Job = Callable[[], Awaitable[object]]
_JOBS: dict[str, Job] = {}


async def run_job(name: str) -> None:
    """What the job store calls: the job registered under `name` in this process."""
    job = _JOBS.get(name)
    if job is None:
        log.warning("scheduled job %r has no runner in this process", name)
        return
    try:
        await job()
    except asyncio.CancelledError:  # the scheduler stopping: not a failure, and the job gave its work back
        log.info("scheduled job %r stopped before it finished", name)
    except Exception:  # one failed run must not unschedule the job
        log.exception("scheduled job %r failed", name)


def ingest_job(ctx: Context, *, after: Callable[[], Awaitable[object]] | None = None) -> Job:
    """Read the due sources once; then `after` (e.g. tell the admins about sources that paused)."""

    async def job() -> None:
        reports = await ingest_due(ctx)
        log.info(
            "ingest: %d new article(s) from %d source(s)", sum(len(r.new) for r in reports), len(reports)
        )
        # Articles whose indexing a database restart cut short become searchable now, densely too.
        if await asyncio.to_thread(index_stragglers, ctx):
            await asyncio.to_thread(embed_queued, ctx)
        if after is not None:
            await after()

    return job


def deliver_job(ctx: Context, *, wake: Callable[[], None] | None = None) -> Job:
    """Build the due briefs, write their outbox rows, and wake the delivery workers."""

    async def job() -> None:
        created = await asyncio.to_thread(enqueue_due, ctx)
        if created:
            log.info("enqueued %d delivery(ies)", len(created))
        if wake is not None:
            wake()

    return job


def alerts_job(ctx: Context, *, wake: Callable[[], None] | None = None) -> Job:
    """Cluster what came in, alert the newly corroborated stories, release alerts whose quiet hours ended."""
    from bot.reader.alerts import scan
    from bot.stories.cluster import cluster_pending

    async def job() -> None:
        loop = asyncio.get_running_loop()

        def wake_soon() -> None:  # called from the worker thread: wake the senders on the loop
            if wake is not None:
                loop.call_soon_threadsafe(wake)

        def work() -> object:
            cluster_pending(ctx)
            return scan(ctx, wake=wake_soon)

        report = await asyncio.to_thread(work)
        log.debug("alerts: %s", report)

    return job


def notices_job(ctx: Context, senders: Sequence[Sender]) -> Job:
    """Tell the admins of every platform what they must hear once: the token budget is spent, a source paused."""

    async def job() -> None:
        sent = await notify_budget(ctx, senders)
        if sent:
            log.info("told %d admin(s) that the daily token budget is spent", sent)
        paused = await notify_paused_sources(ctx, senders)
        if paused:
            log.info("told the admins that %d source(s) paused themselves", paused)

    return job


def build_scheduler(ctx: Context, jobs: dict[str, tuple[Job, int]]) -> AsyncIOScheduler:
    """A scheduler whose jobs (name → (coroutine factory, every N seconds)) persist in our database."""
    _JOBS.clear()
    store = SQLAlchemyJobStore(engine=ctx.db.engine, tablename=JOBS_TABLE)
    scheduler = AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
        timezone="UTC",
    )
    for name, (job, seconds) in jobs.items():
        _JOBS[name] = job
        scheduler.add_job(
            run_job,
            "interval",
            seconds=seconds,
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
            next_run_time=datetime.now(UTC),  # catch up at once on start: a missed brief goes out late, once
        )
    return scheduler


def default_jobs(
    ctx: Context,
    *,
    wake: Callable[[], None] | None = None,
    after_ingest: Callable[[], Awaitable[object]] | None = None,
    senders: Sequence[Sender] = (),
) -> dict[str, tuple[Job, int]]:
    """ingest every INGEST_INTERVAL, deliver and admin notices every minute, alerts every ALERT_SCAN_INTERVAL."""
    alerts = alerts_job(ctx, wake=wake)

    async def after() -> None:  # what came in is checked for alerts at once, not at the next scan
        try:
            await alerts()
        except Exception:  # a failed check must not hold back what follows; the next scan retries
            log.exception("alerts after ingest failed")
        if after_ingest is not None:
            await after_ingest()

    return {
        "ingest": (ingest_job(ctx, after=after), ctx.settings.ingest_interval),
        "deliver": (deliver_job(ctx, wake=wake), DELIVER_INTERVAL),
        "notices": (notices_job(ctx, senders), DELIVER_INTERVAL),
        "alerts": (alerts, ctx.settings.alert_scan_interval),
    }
