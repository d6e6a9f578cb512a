"""Hybrid retrieval: lexical (BM25) and dense rankings fused by reciprocal rank, with an optional thread filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from bot.embed import Embedder
from bot.qa.dense import DenseIndex
from bot.qa.query import Query
from storage.models import Article, ArticleThread, Passage, Source
from storage.search import lexical_search

# The customary constant of reciprocal rank fusion: ranks far down either list still count a little.
RRF_K = 60
CANDIDATES = 50
DEFAULT_TOP = 16
# Passages after a retrieved title that come with it: the lead paragraphs hold the who, when, where.
LEAD_PASSAGES = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved passage with what a citation needs."""

    passage_id: int
    article_id: int
    ord: int
    text: str
    lang: str
    outlet: str
    title: str
    url: str | None
    when: datetime
    score: float
    lexical_rank: int | None
    dense_rank: int | None
    published: datetime | None = None  # the article's own date; `when` falls back to the fetch time


def fuse(rankings: Sequence[Sequence[int]], *, k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several best-first id lists; ties keep the first list's order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def retrieve(
    session: Session,
    query: Query,
    *,
    embedder: Embedder | None = None,
    dense: DenseIndex | None = None,
    limit: int = DEFAULT_TOP,
    thread: str | None = None,
    candidates: int = CANDIDATES,
) -> list[Hit]:
    """The best `limit` passages for `query`, lexical and (when an embedder is given) dense, fused."""
    lexical = [
        pid for pid, _ in lexical_search(session, query.search_terms(), limit=candidates, thread=thread)
    ]
    nearest: list[int] = []
    if dense is not None and embedder is not None and embedder.dim:
        dense.refresh(session)
        vector = embedder.embed([query.text])[0]
        # A thread filter is applied when the rows are read, so ask for more to keep enough after it.
        nearest = [pid for pid, _ in dense.search(vector, candidates * (4 if thread else 1))]
    fused = fuse([lexical, nearest])
    # Rows of deleted passages or of other threads (dense hits are not filtered) drop out when read,
    # so read on down the fused list until `limit` rows are found.
    rows: dict[int, Row[Any]] = {}
    for start in range(0, len(fused), limit):
        rows |= _read(session, [pid for pid, _ in fused[start : start + limit]], thread)
        if len(rows) >= limit:
            break
    lexical_rank = {pid: rank for rank, pid in enumerate(lexical)}
    dense_rank = {pid: rank for rank, pid in enumerate(nearest)}
    hits = [
        _hit(rows[pid], score, lexical_rank.get(pid), dense_rank.get(pid))
        for pid, score in fused
        if pid in rows
    ]
    return _with_leads(session, hits[:limit], thread)


def _with_leads(session: Session, hits: list[Hit], thread: str | None) -> list[Hit]:
    """Each title hit followed by its article's lead passages: a headline names the topic, the lead answers.

    Short titles match a question's names best, so without this the top hits can be titles alone.
    """
    titles = {h.article_id: h for h in hits if h.ord == 0 and h.text.strip() == h.title.strip()}
    if not titles:
        return hits
    have = {h.passage_id for h in hits}
    lead_ids = session.scalars(
        select(Passage.id).where(
            Passage.article_id.in_(list(titles)), Passage.ord > 0, Passage.ord <= LEAD_PASSAGES
        )
    ).all()
    rows = _read(session, [pid for pid in lead_ids if pid not in have], thread)
    leads: dict[int, list[Hit]] = {}
    for row in sorted(rows.values(), key=lambda r: r.ord):
        title = titles[row.article_id]
        leads.setdefault(row.article_id, []).append(_hit(row, title.score, None, None))
    out: list[Hit] = []
    for hit in hits:
        out.append(hit)
        if hit.article_id in titles and titles[hit.article_id] is hit:
            out += leads.get(hit.article_id, [])
    return out


_COLUMNS = (
    Passage.id,
    Passage.article_id,
    Passage.ord,
    Passage.text,
    Passage.lang,
    Article.title,
    Article.outlet,
    Article.url,
    Article.published_at,
    Article.fetched_at,
    Source.name,
)


def _read(session: Session, ids: list[int], thread: str | None) -> dict[int, Row[Any]]:
    """The rows a citation needs, only those columns (article texts and vectors stay unread)."""
    if not ids:
        return {}
    stmt = (
        select(*_COLUMNS)
        .join(Article, Article.id == Passage.article_id)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(Passage.id.in_(ids))
    )
    if thread:
        stmt = stmt.join(
            ArticleThread, (ArticleThread.article_id == Article.id) & (ArticleThread.thread_id == thread)
        )
    rows: dict[int, Row[Any]] = {row.id: row for row in session.execute(stmt)}  # type: ignore[misc]
    return rows


def outlet_name(outlet: str, source_name: str | None, url: str | None) -> str:
    """The outlet to cite: the article's own, else its source's name, else the link's host."""
    if outlet:
        return outlet
    if source_name:
        return source_name
    return (urlsplit(url).hostname or "") if url else ""


def _hit(row: Row[Any], score: float, lexical: int | None, dense: int | None) -> Hit:
    return Hit(
        passage_id=row.id,
        article_id=row.article_id,
        ord=row.ord,
        text=row.text,
        lang=row.lang,
        outlet=outlet_name(row.outlet, row.name, row.url),
        title=row.title,
        url=row.url if row.url and row.url.startswith(("http://", "https://")) else None,
        when=row.published_at or row.fetched_at,
        score=score,
        lexical_rank=lexical,
        dense_rank=dense,
        published=row.published_at,
    )
