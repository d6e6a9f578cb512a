"""Articles as passages: a few sentences each, with search terms and a vector, indexed as articles arrive."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.embed import Embedder, EmbedError
from bot.qa.query import entity_token
from bot.qa.vectors import queue, vectors_for
from bot.text.figures import number_keys
from bot.text.normalize import normalize
from bot.text.sentences import split_paragraphs, split_sentences
from bot.text.stem import terms
from bot.threads.classify import ThreadClassifier
from storage.models import Article, Passage
from storage.search import index_text

if TYPE_CHECKING:
    from bot.context import Context

log = logging.getLogger(__name__)

MAX_PASSAGE_CHARS = 420
MAX_PASSAGE_SENTENCES = 3
# A paragraph this short with no sentence end is a subheading or a caption: it leads the passage after it.
HEADING_CHARS = 90
# Which of an article's passages get a vector (by the embedding job, off the ingest path). Embedding only
# the first 5 (title and lead) kept dev-set accuracy (36 of 113 right either way, bench/qa_devset.py) but
# buried deeper passages under embedded leads in the fusion: the seed question on 2024's non-oil trade
# quoted the headline instead of the 3.28-billion sentence. Since the vectors no longer hold up ingestion,
# every passage gets one again (64 is more than a news article has); the cost is the dense lag.
DENSE_PASSAGES = 64
_SENTENCE_ENDS = tuple('.!?؟…"”»)')


def split_passages(title: str, text: str) -> list[str]:
    """The article's passages: its title, then runs of up to three sentences within a paragraph.

    A title that only repeats the start of the text (a lead sentence used as the headline) is not a passage.
    """
    head = title.strip()
    passages = [head] if head and normalize(head) not in normalize(text[: len(head) + 200]) else []
    heading = ""
    for paragraph in split_paragraphs(text):
        paragraph = paragraph.strip()
        if not paragraph or paragraph == title.strip():
            continue
        if len(paragraph) < HEADING_CHARS and not paragraph.endswith(_SENTENCE_ENDS):
            heading = f"{heading}\n{paragraph}".strip()
            continue
        chunks = _chunks(split_sentences(paragraph) or [paragraph])
        if heading:
            chunks[0] = f"{heading}\n{chunks[0]}"
            heading = ""
        passages.extend(chunks)
    if heading:
        passages.append(heading)
    return passages


def _chunks(sentences: list[str]) -> list[str]:
    chunks: list[list[str]] = [[]]
    for sentence in sentences:
        current = chunks[-1]
        size = sum(len(s) + 1 for s in current)
        if current and (len(current) >= MAX_PASSAGE_SENTENCES or size + len(sentence) > MAX_PASSAGE_CHARS):
            chunks.append([sentence])
        else:
            current.append(sentence)
    return [" ".join(chunk) for chunk in chunks if chunk]


def passage_terms(text: str, lang: str | None, classifier: ThreadClassifier | None) -> str:
    """What lexical search indexes for a passage: stemmed terms, figure keys and entity tokens."""
    found = [entity_token(e) for e in classifier.entities_in(text)] if classifier else []
    return index_text([*terms(text, lang), *sorted(number_keys(text)), *found])


def index_articles(
    session: Session,
    article_ids: Sequence[int],
    embedder: Embedder,
    *,
    classifier: ThreadClassifier | None = None,
    defer: bool = False,
) -> int:
    """Write passages for the given articles that have none yet (duplicates are skipped); returns how many.

    The first DENSE_PASSAGES of each article get a vector: now, or with `defer` by the embedding job
    (`bot.qa.vectors`), which keeps the encoder off the ingest path.
    """
    if not article_ids:
        return 0
    done = set(
        session.scalars(select(Passage.article_id).where(Passage.article_id.in_(article_ids)).distinct())
    )
    articles = session.scalars(
        select(Article)
        .where(Article.id.in_(article_ids), Article.duplicate_of.is_(None))
        .order_by(Article.id)
    ).all()
    rows: list[Passage] = []
    for article in articles:
        if article.id in done:
            continue
        for ord_, text in enumerate(split_passages(article.title or "", article.text or "")):
            terms_text = passage_terms(text, article.lang, classifier)
            rows.append(
                Passage(article_id=article.id, ord=ord_, text=text, lang=article.lang, terms=terms_text)
            )
    dense = [row for row in rows if row.ord < DENSE_PASSAGES] if embedder.dim else []
    if not defer:
        _embed(dense, embedder)
    session.add_all(rows)
    session.flush()
    if defer:
        queue(session, [row.id for row in dense])
    return len(rows)


def _embed(rows: list[Passage], embedder: Embedder) -> None:
    try:
        blobs = vectors_for([row.text for row in rows], embedder)
    except EmbedError as error:
        # Lexical search still finds these passages; a vector-less passage only misses dense search.
        log.warning("passages stored without vectors: %s", error)
        return
    for row, blob in zip(rows, blobs, strict=True):
        row.embedding = blob


def index_missing(
    session: Session,
    embedder: Embedder,
    *,
    classifier: ThreadClassifier | None = None,
    batch: int = 200,
    stored_before: datetime | None = None,
    limit: int | None = None,
    defer: bool = False,
) -> int:
    """Index original articles that have no passages yet (a catch-up after an upgrade or a cut-short
    ingest): all of them, or those stored before `stored_before`, newest first, at most `limit`.

    Articles go in batches, each flushed and then let go, so a large archive is caught up in bounded memory.
    """
    query = select(Article.id).where(
        Article.duplicate_of.is_(None), ~exists().where(Passage.article_id == Article.id)
    )
    if stored_before is not None:
        query = query.where(Article.fetched_at < stored_before)
    missing = list(session.scalars(query.order_by(Article.id.desc()).limit(limit)))
    written = 0
    for start in range(0, len(missing), batch):
        ids = missing[start : start + batch]
        written += index_articles(session, ids, embedder, classifier=classifier, defer=defer)
        session.commit()
        session.expunge_all()
    return written


def index_new_articles(ctx: Context, article_ids: Sequence[int]) -> int:
    """The ingestion hook: index the articles just stored, their vectors queued for the embedding job
    (`bot.qa.vectors.embed_queued`); a failure is logged, never raised."""
    if not article_ids:
        return 0
    try:
        classifier, embedder = ctx.classifier(), ctx.embedder()
        with ctx.db.session() as session:
            return index_articles(session, article_ids, embedder, classifier=classifier, defer=True)
    except Exception:  # questions must not cost us the articles: they are stored already
        log.exception("indexing %d new article(s) for questions failed", len(article_ids))
        return 0
