"""Use cases that read like the product. Adapters and the scheduler call these, nothing lower."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta

from bot.context import Context
from bot.fetch import Fetcher
from bot.ingest import (
    READ_ERRORS,
    ArticlePipeline,
    SourceRead,
    SourceReport,
    complete_items,
    item_key,
    read_source,
    record_failure,
    record_success,
)
from bot.qa.index import index_new_articles
from bot.sources.model import RawItem
from storage import queries
from storage.models import Source

log = logging.getLogger(__name__)

ReportCallback = Callable[[SourceReport], None]

SOURCE_LEASE = 300.0


async def ingest_due(
    ctx: Context,
    *,
    source_ids: Sequence[int] | None = None,
    force: bool = False,
    concurrency: int = 16,
    on_report: ReportCallback | None = None,
    index_passages: bool = True,
    lease: float = SOURCE_LEASE,
) -> list[SourceReport]:
    """Read every due source once (or the given ones), store what is new, and report per source.

    Due sources are claimed in batches under a lease, so several workers on PostgreSQL share them.
    New articles are indexed for questions as they are stored, unless `index_passages` is False
    (then `bot.qa.index.index_missing` catches up later).
    """
    if source_ids or force:
        now = ctx.now()
        with ctx.db.session() as session:
            if source_ids:
                sources = [s for s in (session.get(Source, i) for i in source_ids) if s is not None]
            else:
                sources = list(queries.due_sources(session, now.replace(year=now.year + 100)))
        return await _ingest(ctx, sources, concurrency, on_report, index_passages)
    reports: list[SourceReport] = []
    while batch := _claim_sources(ctx, limit=concurrency * 4, lease=lease):
        reports += await _ingest(ctx, batch, concurrency, on_report, index_passages)
    return reports


def _claim_sources(ctx: Context, *, limit: int, lease: float) -> list[Source]:
    now = ctx.now()
    until = now + timedelta(seconds=lease)
    with ctx.db.session() as session:
        return queries.claim_due_sources(
            session, now, limit=limit, lease_until=until, skip_locked=not ctx.db.is_sqlite
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
        read = await read_source(source, fetcher, executor=cpu)
        seen = set(source.recent_guids or [])
        fresh = [i for i in read.items if (item_key(i) or "") not in seen]
        if fresh:
            fresh = await complete_items(fresh, fetcher, executor=cpu)
    except READ_ERRORS as error:
        await loop.run_in_executor(cpu, _save_failure, ctx, source.id, error, report)
        return report
    await loop.run_in_executor(cpu, _process, ctx, pipeline, source, read, fresh, report, index)
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
    _save_items(ctx, pipeline, source.id, read, prepared, report)
    if index:
        index_new_articles(ctx, report.new)


def _save_items(
    ctx: Context,
    pipeline: ArticlePipeline,
    source_id: int,
    read: SourceRead,
    prepared: list,
    report: SourceReport,
) -> None:
    interval = timedelta(seconds=ctx.settings.ingest_interval)
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        if source is None:  # removed while we were reading it
            return
        for stored in pipeline.store_all(session, source, prepared):
            if not stored.new:
                report.seen += 1
            elif stored.duplicate_of is not None:
                report.duplicates += 1
            else:
                report.new.append(stored.article_id)
        record_success(source, read, ctx.now(), interval)
        source.lease_until = None
        report.not_modified = read.not_modified


def _save_failure(ctx: Context, source_id: int, error: Exception, report: SourceReport) -> None:
    interval = timedelta(seconds=ctx.settings.ingest_interval)
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        if source is None:
            return
        record_failure(source, error, ctx.now(), interval, ctx.settings.source_max_errors)
        source.lease_until = None
        report.error, report.paused = source.last_error, source.paused
    log.warning("source %s failed: %s", source_id, report.error)
