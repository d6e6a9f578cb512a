"""Ingestion: read a source, turn its items into clean articles, drop duplicates, place them in threads.

The work is split in two: `read_source` does the I/O (async, bounded per source), and
`ArticlePipeline` does the CPU work and the storage, one item at a time, inside the caller's
session. A failure in one source is recorded on that source and never stops the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.ingest.dedupe import NEAR_DUPLICATE_JACCARD, Fingerprint, fingerprint, similarity
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.sources.feeds import FeedError, parse_feed
from bot.ingest.sources.files import read_path
from bot.ingest.sources.model import RawItem
from bot.ingest.sources.pages import ExtractionError, extract_page
from bot.ingest.sources.urls import canonical_url
from bot.text.clean import clean_plain_text
from bot.text.dates import find_date, plausible
from bot.text.lang import detect_language
from bot.threads.classify import Evidence, ThreadClassifier, ThreadMatch
from storage import queries
from storage.models import Article, ArticleBand, ArticleThread, Source

log = logging.getLogger(__name__)

GUID_WINDOW = 500
MAX_EVIDENCE = 24
MAX_BACKOFF = timedelta(hours=24)
READ_ERRORS: tuple[type[Exception], ...] = (FetchError, FeedError, ExtractionError, OSError, ValueError)


@dataclass(slots=True)
class SourceRead:
    """What one read of a source produced: its items, or why there are none."""

    items: list[RawItem] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    title: str = ""
    charset: str | None = None  # which rule decoded the bytes read (`Decoded.rule`)
    total: int = 0  # entries the feed held; more than len(items) when FEED_MAX_ITEMS cut the read

    @property
    def cut(self) -> int:
        """Entries left out of this read by FEED_MAX_ITEMS."""
        return max(0, self.total - len(self.items))


@dataclass(slots=True)
class SourceReport:
    source_id: int
    name: str
    new: list[int] = field(default_factory=list)
    duplicates: int = 0
    seen: int = 0
    not_modified: bool = False
    error: str | None = None
    paused: bool = False
    refused: str | None = None  # not read: fetched too recently (SOURCE_MIN_INTERVAL), and when it may be


@dataclass(frozen=True, slots=True)
class Stored:
    """Where an item ended up: its article id, the original it duplicates, and whether it is new."""

    article_id: int
    duplicate_of: int | None
    new: bool


@dataclass(slots=True)
class Prepared:
    """An item after cleaning, language detection, fingerprinting and classification."""

    title: str
    text: str
    lang: str
    url: str | None
    guid: str | None
    outlet: str
    published: datetime | None
    fingerprint: Fingerprint
    matches: list[ThreadMatch]
    cleaning: dict[str, int]
    charset: str | None = None
    date_problem: str | None = None  # an implausible date the source gave, set aside (for its health)


class ArticlePipeline:
    """extract → clean → language → dedupe → threads → store, for items already read."""

    def __init__(self, classifier: ThreadClassifier, *, now: Callable[[], datetime] | None = None) -> None:
        self.classifier = classifier
        self.now = now or (lambda: datetime.now(UTC))

    def prepare(self, item: RawItem, *, pinned: Sequence[str] = ()) -> Prepared | None:
        """Clean and classify one item; None when nothing readable is left."""
        title, text, cleaning = self._clean(item)
        if not text.strip() and not title.strip():
            return None
        published, date_problem = self.published(item)
        matches = self.classifier.classify(title, text)
        if pinned:
            matches = [m for m in matches if m.thread_id in pinned]
        url = canonical_url(item.url) if item.url else None
        return Prepared(
            title=title.strip() or text.strip().split("\n", 1)[0][:200],
            text=text,
            lang=detect_language(f"{title}\n{text}"),
            url=url,
            guid=item.guid,
            outlet=item.outlet or "",
            published=published,
            fingerprint=fingerprint(f"{text}"),
            matches=matches,
            cleaning=cleaning,
            charset=item.extra.get("charset"),
            date_problem=date_problem,
        )

    def published(self, item: RawItem) -> tuple[datetime | None, str | None]:
        """The item's publication date, and the first implausible date set aside on the way, if any.

        In order: the feed's date (or a manifest's), the page's metadata, then a date written near the
        top of the text. A date more than a day ahead or before 1990 is set aside (see
        `bot.text.dates.plausible`). Nothing found means unknown (None): never the time of ingest, nor
        a file's modification time.
        """
        now = self.now()
        problem = None
        for candidate in (item.published, _parse_iso(item.extra.get("page_published")), _text_date(item)):
            moment, issue = plausible(candidate, now=now)
            if moment is not None:
                return moment, problem
            problem = problem or issue
        return None, problem

    def _clean(self, item: RawItem) -> tuple[str, str, dict[str, int]]:
        if not item.extra.get("plain"):
            return item.title, item.text, {}
        cleaned = clean_plain_text(item.text, continues_story=self._continues_story)
        counts: dict[str, int] = {}
        for dropped in cleaned.dropped:
            counts[dropped.reason] = counts.get(dropped.reason, 0) + 1
        return cleaned.title, cleaned.body, counts

    def _continues_story(self, headline: str, segment: str) -> bool:
        # A trailing segment belongs to the article when it shares a thread with the headline;
        # a headline in no thread gives no basis to cut anything.
        headline_threads = self.classifier.matches_thread(headline, "")
        if not headline_threads:
            return True
        return bool(headline_threads & self.classifier.matches_thread(segment, ""))

    def store_all(
        self, session: Session, source: Source | None, prepared: Sequence[Prepared]
    ) -> list[Stored]:
        """Store prepared items in order; input seen before is reported, not stored again.

        A near-duplicate of an earlier article is stored linked to its original (`duplicate_of`),
        outside every thread. Statements are Core inserts: an ingest pass writes thousands of rows,
        and the ORM's unit of work would cost more than all the text processing.
        """
        known = queries.known_articles(
            session, {p.fingerprint.content_hash for p in prepared}, {p.url for p in prepared if p.url}
        )
        results = []
        for item in prepared:
            hit = known.get(item.fingerprint.content_hash) or (known.get(item.url) if item.url else None)
            if hit is not None:
                results.append(Stored(hit[0], hit[1], new=False))
                continue
            stored = self._insert(session, source, item)
            known[item.fingerprint.content_hash] = (stored.article_id, stored.duplicate_of)
            if item.url:
                known[item.url] = (stored.article_id, stored.duplicate_of)
            results.append(stored)
        return results

    def _insert(self, session: Session, source: Source | None, item: Prepared) -> Stored:
        original = self._near_duplicate(session, item.fingerprint)
        values = {
            "source_id": source.id if source else None,
            "url": item.url,
            "guid": item.guid,
            "outlet": item.outlet or (source.name if source else ""),
            "title": item.title,
            "text": item.text,
            "lang": item.lang,
            "published_at": item.published,
            "fetched_at": self.now(),
            "content_hash": item.fingerprint.content_hash,
            "duplicate_of": original,
            "minhash": item.fingerprint.to_bytes(),
            "cleaning": item.cleaning,
            "charset": item.charset[:500] if item.charset else None,
        }
        article_id = session.execute(insert(Article).values(values).returning(Article.id)).scalar_one()
        if original is None:
            bands = [{"band": b, "bucket": k, "article_id": article_id} for b, k in item.fingerprint.bands()]
            session.execute(insert(ArticleBand), bands)
            links = thread_links(article_id, item.matches)
            if links:
                session.execute(insert(ArticleThread), links)
        return Stored(article_id, original, new=True)

    def _near_duplicate(self, session: Session, fp: Fingerprint) -> int | None:
        """The id of the original this fingerprint nearly duplicates, if any."""
        best: tuple[float, int] | None = None
        for article_id, minhash in queries.original_signatures(
            session, queries.band_candidates(session, fp.bands())
        ):
            score = similarity(fp.signature, minhash)
            if score >= NEAR_DUPLICATE_JACCARD and (best is None or score > best[0]):
                best = (score, article_id)
        return best[1] if best else None


async def read_source(
    source: Source, fetcher: Fetcher, *, executor: Executor | None = None, max_items: int | None = None
) -> SourceRead:
    """Read one source's current items (raises one of READ_ERRORS on failure).

    Parsing runs on `executor` (the default one when None), never on the event loop. A feed gives at
    most `max_items` entries, its newest (FEED_MAX_ITEMS); `total` says how many it held.
    """
    loop = asyncio.get_running_loop()
    if source.kind == "file":
        items = await loop.run_in_executor(executor, read_path, Path(source.location))
        return SourceRead(items=items)
    result = await fetcher.fetch(source.location, etag=source.etag, last_modified=source.last_modified)
    read = SourceRead(etag=result.etag, last_modified=result.last_modified, not_modified=result.not_modified)
    if result.not_modified:
        return read
    if source.kind == "feed":
        parse = functools.partial(
            parse_feed, result.content, url=result.url, content_type=result.content_type, max_items=max_items
        )
        feed = await loop.run_in_executor(executor, parse)
        read.items, read.title = feed.items, feed.title
        read.charset, read.total = feed.charset, feed.total
    else:
        page = await loop.run_in_executor(
            executor, functools.partial(extract_page, result.content, url=result.url)
        )
        read.items, read.charset = [page], page.extra.get("charset")
    return read


async def complete_items(
    items: list[RawItem], fetcher: Fetcher, *, concurrency: int = 8, executor: Executor | None = None
) -> list[RawItem]:
    """Fetch and extract the linked page of every item that carries only a teaser."""
    limit = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    async def complete(item: RawItem) -> RawItem:
        if not item.needs_fetch or not item.url:
            return item
        async with limit:
            try:
                page = await fetcher.fetch(item.url)
                extract = functools.partial(extract_page, page.content, url=page.url)
                extracted = await loop.run_in_executor(executor, extract)
            except (FetchError, ExtractionError) as error:
                log.info("keeping the feed summary of %s: %s", item.url, error)
                return item
        extracted.title = item.title or extracted.title
        extracted.guid, extracted.outlet = item.guid, item.outlet or extracted.outlet
        if extracted.published is not None:  # kept apart: the feed's date comes first, if plausible
            extracted.extra["page_published"] = extracted.published.isoformat()
        extracted.published = item.published
        extracted.url = item.url
        return extracted

    return list(await asyncio.gather(*(complete(item) for item in items)))


def thread_links(article_id: int, matches: Sequence[ThreadMatch]) -> list[dict[str, object]]:
    """The article–thread rows for an article's matches, evidence included."""
    return [
        {
            "article_id": article_id,
            "thread_id": m.thread_id,
            "score": m.score,
            "evidence": [evidence_json(e) for e in m.evidence[:MAX_EVIDENCE]],
        }
        for m in matches
    ]


def evidence_json(evidence: Evidence) -> dict[str, object]:
    return {
        "entity_id": evidence.entity_id,
        "group_id": evidence.group_id,
        "alias": evidence.alias,
        "where": evidence.where,
        "count": evidence.count,
    }


def item_key(item: RawItem) -> str | None:
    return item.guid or item.url


def record_success(source: Source, read: SourceRead, now: datetime, interval: timedelta) -> None:
    source.last_checked_at = source.last_success_at = now
    source.error_count = 0
    source.last_error = None
    source.next_check_at = now + interval
    if read.etag or read.last_modified:
        source.etag, source.last_modified = read.etag, read.last_modified
    if read.charset:
        source.charset = read.charset[:500]
    if read.title and not source.name:
        source.name = read.title[:300]
    if not read.not_modified:
        source.last_items, source.last_cut = read.total or len(read.items), read.cut
    keys = [k for k in (item_key(i) for i in read.items) if k]
    if keys:
        window = [k for k in source.recent_guids if k not in set(keys)] + keys
        source.recent_guids = window[-GUID_WINDOW:]


def record_date_issues(source: Source, prepared: Sequence[Prepared], now: datetime) -> None:
    """Count the implausible dates this read gave (set aside as unknown), so the source's health shows them."""
    issues = [p.date_problem for p in prepared if p.date_problem]
    if issues:
        source.date_issues = (source.date_issues or 0) + len(issues)
        source.last_date_issue = issues[-1][:500]
        source.last_date_issue_at = now


def record_failure(
    source: Source, error: Exception, now: datetime, interval: timedelta, max_errors: int
) -> None:
    """Count the failure, back off exponentially, and pause the source past `max_errors`."""
    source.last_checked_at = source.last_error_at = now
    source.error_count += 1
    source.last_error = describe(error)
    backoff = min(interval * (2 ** (source.error_count - 1)), MAX_BACKOFF)
    source.next_check_at = now + backoff
    if source.error_count >= max_errors:
        source.paused = True
        source.pause_reported = False
        source.paused_reason = f"paused after {source.error_count} consecutive failures: {source.last_error}"


def describe(error: Exception) -> str:
    """A one-line, secret-free description of a read failure."""
    kind = type(error).__name__
    message = str(error).strip() or kind
    return message if message.startswith(kind) else f"{kind}: {message}"[:500]


def _text_date(item: RawItem) -> datetime | None:
    return find_date(f"{item.title}\n{item.text}")


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
