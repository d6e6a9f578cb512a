"""Queries shared by the application: small functions over a Session."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, func, select, text
from sqlalchemy.orm import Session

from storage.models import Article, ArticleThread, AuditLog, Source, Thread


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    allowed: bool = True,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Record one admin action (allowed or refused)."""
    entry = AuditLog(actor=actor, action=action, target=target, allowed=allowed, details=details or {})
    session.add(entry)
    session.flush()
    return entry


def article_counts(session: Session) -> dict[int, int]:
    """Original (non-duplicate) articles per source id."""
    rows = session.execute(
        select(Article.source_id, func.count())
        .where(Article.duplicate_of.is_(None))
        .group_by(Article.source_id)
    )
    return {source_id: count for source_id, count in rows if source_id is not None}


def due_sources(session: Session, now: datetime, *, limit: int | None = None) -> Sequence[Source]:
    """Unpaused sources whose next check time has come (or was never set)."""
    query = (
        select(Source)
        .where(Source.paused.is_(False))
        .where((Source.next_check_at.is_(None)) | (Source.next_check_at <= now))
        .order_by(Source.next_check_at.is_not(None), Source.next_check_at, Source.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def claim_due_sources(
    session: Session,
    now: datetime,
    *,
    limit: int,
    lease_until: datetime,
    skip_locked: bool,
    checked_before: datetime | None = None,
) -> list[Source]:
    """Claim up to `limit` due sources nobody holds, until `lease_until`.

    With `skip_locked` (PostgreSQL) rows another transaction is claiming are passed over, so several
    workers share the due sources; a dead worker's lease runs out and the sources are due again.
    With `checked_before`, a source last checked after that moment is not due whatever its next check
    time says (a resumed source has none).
    """
    query = (
        select(Source)
        .where(Source.paused.is_(False))
        .where((Source.next_check_at.is_(None)) | (Source.next_check_at <= now))
        .where((Source.lease_until.is_(None)) | (Source.lease_until < now))
        .order_by(Source.next_check_at.is_not(None), Source.next_check_at, Source.id)
        .limit(limit)
    )
    if checked_before is not None:
        query = query.where((Source.last_checked_at.is_(None)) | (Source.last_checked_at <= checked_before))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = session.scalars(query).all()
    for row in rows:
        row.lease_until = lease_until
    return list(rows)


def find_source(session: Session, ref: str | int) -> Source | None:
    """A source by id, or by its exact location."""
    if isinstance(ref, int) or str(ref).isdigit():
        return session.get(Source, int(ref))
    return session.scalars(select(Source).where(Source.location == ref)).first()


def known_articles(session: Session, hashes: set[str], urls: set[str]) -> dict[str, tuple[int, int | None]]:
    """Stored articles with any of these content hashes or URLs: key -> (id, duplicate_of), oldest first."""
    found: dict[str, tuple[int, int | None]] = {}
    lookups = [(Article.content_hash, hashes), (Article.url, urls)]
    for column, keys in lookups:
        if not keys:
            continue
        query = select(column, Article.id, Article.duplicate_of).where(column.in_(keys)).order_by(Article.id)
        for key, article_id, original in session.execute(query):
            if key is not None:
                found.setdefault(key, (article_id, original))
    return found


def original_signatures(session: Session, article_ids: Sequence[int]) -> list[tuple[int, bytes]]:
    """The MinHash signatures of those of `article_ids` that are originals, not duplicates."""
    if not article_ids:
        return []
    rows = session.execute(
        select(Article.id, Article.minhash)
        .where(Article.id.in_(article_ids))
        .where(Article.duplicate_of.is_(None))
    )
    return [(article_id, minhash) for article_id, minhash in rows if minhash is not None]


def band_candidates(session: Session, keys: Iterable[tuple[int, str]]) -> list[int]:
    """Ids of articles sharing at least one MinHash-LSH band bucket with `keys`."""
    params: dict[str, object] = {}
    for i, (band, bucket) in enumerate(keys):
        params[f"b{i}"], params[f"k{i}"] = band, bucket
    if not params:
        return []
    return list(session.scalars(_band_query(len(params) // 2), params))


@functools.cache
def _band_query(count: int) -> TextClause:
    # One equality pair per band, OR-ed: SQLite and PostgreSQL both answer it from the primary key
    # index (a row-value IN list makes SQLite scan the table). Written as text because building the
    # same expression with the ORM for every article costs more than running it.
    pairs = " OR ".join(f"(band = :b{i} AND bucket = :k{i})" for i in range(count))
    return text(f"SELECT DISTINCT article_id FROM article_bands WHERE {pairs}")


def articles(
    session: Session, *, thread: str | None = None, limit: int = 50, include_duplicates: bool = False
) -> Sequence[Article]:
    """Newest articles first, optionally only those placed in `thread`."""
    query = select(Article).order_by(Article.fetched_at.desc(), Article.id.desc()).limit(limit)
    if thread:
        query = query.join(ArticleThread).where(ArticleThread.thread_id == thread)
    if not include_duplicates:
        query = query.where(Article.duplicate_of.is_(None))
    return session.scalars(query).all()


def active_threads(session: Session) -> Sequence[Thread]:
    return session.scalars(select(Thread).where(Thread.active.is_(True)).order_by(Thread.id)).all()
