"""Use cases that read like the product. Adapters and the scheduler call these, nothing lower."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.context import Context
from bot.ingest.fetch import Fetcher
from bot.ingest.pipeline import (
    READ_ERRORS,
    ArticlePipeline,
    SourceRead,
    SourceReport,
    complete_items,
    item_key,
    read_source,
    record_date_issues,
    record_failure,
    record_success,
)
from bot.ingest.sources.model import RawItem
from bot.qa.index import index_missing, index_new_articles
from bot.qa.vectors import embed_queued
from bot.stories.cluster import cluster_pending
from storage import queries
from storage.db import describe_db_error, is_transient, retry_transient
from storage.models import Source

log = logging.getLogger(__name__)

ReportCallback = Callable[[SourceReport], None]

SOURCE_LEASE = 300.0
# An article stored this long ago with no passages had its indexing cut short (e.g. by a database restart).
INDEX_GRACE = timedelta(minutes=10)
INDEX_CATCH_UP = 500


async def ingest_due(
    ctx: Context,
    *,
    source_ids: Sequence[int] | None = None,
    every: bool = False,
    force: bool = False,
    concurrency: int = 16,
    on_report: ReportCallback | None = None,
    index_passages: bool = True,
    lease: float = SOURCE_LEASE,
    embed_passages: bool = True,
) -> list[SourceReport]:
    """Read every due source once (or the given ones, or `every` one), store what is new, report per source.

    Due sources are claimed in batches under a lease, so several workers on PostgreSQL share them.
    No source is read again within SOURCE_MIN_INTERVAL of its last check, whoever asks: one asked for
    by id (or by `every`) that was read too recently gets a report saying when it may be read again.
    `force` lifts that cap and reads every source (or the given ones) now; a caller that lets a person
    force it writes that to the audit log. New articles are indexed for questions as they are stored,
    unless `index_passages` is False (then `bot.qa.index.index_missing` catches up later): searchable
    lexically at once; their title and lead passages get their vectors after the round, in batches
    (`bot.qa.vectors.embed_queued`), unless `embed_passages` is False (then the next round does it).
    """
    reports = await _ingest_round(
        ctx, source_ids, every, force, concurrency, on_report, index_passages, lease
    )
    if embed_passages and index_passages:
        stop = threading.Event()
        try:
            await asyncio.to_thread(embed_queued, ctx, stop=stop)
        except asyncio.CancelledError:  # stopping: the job ends after its batch, the rest stays queued
            stop.set()
            raise
    return reports


async def _ingest_round(
    ctx: Context,
    source_ids: Sequence[int] | None,
    every: bool,
    force: bool,
    concurrency: int,
    on_report: ReportCallback | None,
    index_passages: bool,
    lease: float,
) -> list[SourceReport]:
    if source_ids or every or force:
        now = ctx.now()
        with ctx.db.session() as session:
            if source_ids:
                sources = [s for s in (session.get(Source, i) for i in source_ids) if s is not None]
            else:
                sources = list(queries.due_sources(session, now.replace(year=now.year + 100)))
        refused: list[SourceReport] = []
        if not force:
            sources, refused = _rested(ctx, sources, now)
            for report in refused:
                if on_report:
                    on_report(report)
        reports = refused + await _ingest(ctx, sources, concurrency, on_report, index_passages)
        await _cluster_new(ctx, reports)
        return reports
    reports = []
    while batch := _claim_sources(ctx, limit=concurrency * 4, lease=lease):
        try:
            reports += await _ingest(ctx, batch, concurrency, on_report, index_passages)
        except asyncio.CancelledError:  # stopped mid-round: the next process reads them at once
            _release_sources(ctx, [source.id for source in batch])
            raise
    await _cluster_new(ctx, reports)
    return reports


async def _cluster_new(ctx: Context, reports: Sequence[SourceReport]) -> None:
    """Stories are made here, on the write path, once per ingest round that stored something new.

    A failure is logged and left for the next round (the articles stay pending): ingestion itself
    has succeeded and must not be reported as failed.
    """
    if not any(r.new or r.duplicates for r in reports):
        return
    try:
        await asyncio.get_running_loop().run_in_executor(None, cluster_pending, ctx)
    except Exception:
        log.exception("clustering after ingestion failed; the articles stay pending for the next round")


def _release_sources(ctx: Context, source_ids: list[int]) -> None:
    with ctx.db.session() as session:
        session.execute(update(Source).where(Source.id.in_(source_ids)).values(lease_until=None))


def min_interval(ctx: Context) -> timedelta:
    """SOURCE_MIN_INTERVAL: the shortest time between two reads of one source."""
    return timedelta(seconds=max(0, ctx.settings.source_min_interval))


def check_interval(ctx: Context) -> timedelta:
    """The time between checks of a source: INGEST_INTERVAL, never below SOURCE_MIN_INTERVAL."""
    return max(timedelta(seconds=ctx.settings.ingest_interval), min_interval(ctx))


def next_fetch_allowed(ctx: Context, source: Source) -> datetime | None:
    """When `source` may be read again; None when it may be read now."""
    if source.last_checked_at is None:
        return None
    allowed: datetime = source.last_checked_at + min_interval(ctx)
    return allowed if allowed > ctx.now() else None


def _rested(
    ctx: Context, sources: Sequence[Source], now: datetime
) -> tuple[list[Source], list[SourceReport]]:
    """The sources that may be read now, and a refusal for each one read too recently."""
    allowed, refused = [], []
    for source in sources:
        until = next_fetch_allowed(ctx, source)
        if until is None:
            allowed.append(source)
            continue
        ago = int((now - (source.last_checked_at or now)).total_seconds())
        report = SourceReport(source_id=source.id, name=source.name or source.location)
        report.refused = (
            f"not read: it was read {ago} s ago and a source is read at most once every "
            f"{int(min_interval(ctx).total_seconds())} s (SOURCE_MIN_INTERVAL); "
            f"next read allowed at {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        refused.append(report)
    return allowed, refused


def _claim_sources(ctx: Context, *, limit: int, lease: float) -> list[Source]:
    now = ctx.now()
    until = now + timedelta(seconds=lease)
    with ctx.db.session() as session:
        return queries.claim_due_sources(
            session,
            now,
            limit=limit,
            lease_until=until,
            skip_locked=not ctx.db.is_sqlite,
            checked_before=now - min_interval(ctx),
        )


async def _ingest(
    ctx: Context,
    sources: Sequence[Source],
    concurrency: int,
    on_report: ReportCallback | None,
    index_passages: bool,
) -> list[SourceReport]:
    pipeline = ArticlePipeline(ctx.classifier(), now=ctx.now)
    limit = asyncio.Semaphore(concurrency)
    # Parsing, cleaning, storing and indexing are CPU-bound and hold the GIL: one worker thread does
    # them in turn, which keeps the event loop free for the network and memory flat.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as cpu:
        async with ctx.fetcher() as fetcher:

            async def one(source: Source) -> SourceReport:
                async with limit:
                    report = await _ingest_source(ctx, pipeline, fetcher, cpu, source, index_passages)
                ctx.metrics.ingest_report(report)
                if on_report:
                    on_report(report)
                return report

            return list(await asyncio.gather(*(one(s) for s in sources)))


async def _ingest_source(
    ctx: Context, pipeline: ArticlePipeline, fetcher: Fetcher, cpu: Executor, source: Source, index: bool
) -> SourceReport:
    report = SourceReport(source_id=source.id, name=source.name or source.location)
    loop = asyncio.get_running_loop()
    try:
        read = await read_source(source, fetcher, executor=cpu, max_items=ctx.settings.feed_max_items)
        seen = set(source.recent_guids or [])
        fresh = [i for i in read.items if (item_key(i) or "") not in seen]
        if fresh:
            fresh = await complete_items(fresh, fetcher, executor=cpu)
    except READ_ERRORS as error:
        await loop.run_in_executor(cpu, _save_failure, ctx, source.id, error, report)
        return report
    try:
        await loop.run_in_executor(cpu, _process, ctx, pipeline, source, read, fresh, report, index)
    except Exception as error:  # one source's failure must not stop the others
        if is_transient(error):
            # Its transaction rolled back (or committed unacknowledged: then its items are known and not
            # stored twice); its lease runs out and a later run reads it again. Not the source's fault,
            # so no backoff.
            report.error = f"database unavailable, left for the next run: {describe_db_error(error)}"
            log.warning("source %s: %s", source.id, report.error)
        else:
            log.exception("source %s could not be stored", source.id)
            await loop.run_in_executor(cpu, _save_failure, ctx, source.id, error, report)
    return report


def _process(
    ctx: Context,
    pipeline: ArticlePipeline,
    source: Source,
    read: SourceRead,
    items: list[RawItem],
    report: SourceReport,
    index: bool,
) -> None:
    pinned = source.threads or []
    prepared = [p for p in (pipeline.prepare(i, pinned=pinned) for i in items) if p is not None]
    stored = retry_transient(lambda: _save_items(ctx, pipeline, source.id, read, prepared, report))
    if index:
        index_new_articles(ctx, stored)


def _save_items(
    ctx: Context,
    pipeline: ArticlePipeline,
    source_id: int,
    read: SourceRead,
    prepared: list,
    report: SourceReport,
) -> list[int]:
    """Store the items and the source's success in one transaction; the originals to index.

    Safe to run again after a lost connection: a commit that landed unacknowledged makes the items
    "seen", and they are returned for indexing all the same (indexing skips what it already did).
    """
    interval = check_interval(ctx)
    report.new, report.seen, report.duplicates = [], 0, 0
    originals: list[int] = []
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        if source is None:  # removed while we were reading it
            return []
        for stored in pipeline.store_all(session, source, prepared):
            if stored.duplicate_of is None:
                originals.append(stored.article_id)
            if not stored.new:
                report.seen += 1
            elif stored.duplicate_of is not None:
                report.duplicates += 1
            else:
                report.new.append(stored.article_id)
        record_success(source, read, ctx.now(), interval)
        record_date_issues(source, prepared, ctx.now())
        source.lease_until = None
        report.not_modified = read.not_modified
    return originals


def index_stragglers(
    ctx: Context, *, grace: timedelta = INDEX_GRACE, limit: int | None = INDEX_CATCH_UP
) -> int:
    """Index articles stored over `grace` ago whose indexing was cut short; the number of passages written.

    Younger articles are left to the ingest that stored them, so two indexers never write the same
    article's passages (a lone process, e.g. on SQLite at start, may pass no grace).
    """
    with ctx.db.session() as session:
        written = index_missing(
            session,
            ctx.embedder(),
            classifier=ctx.classifier(),
            stored_before=ctx.now() - grace,
            limit=limit,
            defer=True,  # vectors from the embedding job, after the round, like any ingested article
        )
    if written:
        log.info("indexed %d passage(s) of articles left unindexed", written)
    return written


def _save_failure(ctx: Context, source_id: int, error: Exception, report: SourceReport) -> None:
    interval = check_interval(ctx)
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        if source is None:
            return
        record_failure(source, error, ctx.now(), interval, ctx.settings.source_max_errors)
        source.lease_until = None
        report.error, report.paused = source.last_error, source.paused
    log.warning("source %s failed: %s", source_id, report.error)
