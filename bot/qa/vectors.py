"""Passage vectors, off the ingest path: ingestion queues the passages dense search covers, and a job
embeds them in batches soon after.

An article is searchable lexically the moment it is stored and densely once the job has run (after
each ingest round, and at the end of `newsbrief ingest`). The encoder, the slowest step by far, thus
never holds up storing articles, and it runs on long batches, where it is fastest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from bot.embed import Embedder, EmbedError, to_blob
from storage.clock import utcnow
from storage.models import EmbedQueue, Passage

if TYPE_CHECKING:
    from bot.context import Context

log = logging.getLogger(__name__)

EMBED_BATCH = 64
# Passages read and written per transaction of the job.
JOB_BATCH = 512
# The vector stands for a passage's first sentences: the encoder's cost grows fast with length, and a
# passage's lead carries its topic (bench/qa.py measures the build rate this buys).
EMBED_CHARS = 240


def vectors_for(texts: Sequence[str], embedder: Embedder) -> list[bytes]:
    """The stored vector of each text's lead, in order; raises EmbedError."""
    # Batches of similar lengths waste less on padding.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    blobs: list[bytes] = [b""] * len(texts)
    for start in range(0, len(order), EMBED_BATCH):
        batch = order[start : start + EMBED_BATCH]
        vectors = embedder.embed([lead(texts[i]) for i in batch])
        for i, vector in zip(batch, vectors, strict=True):
            blobs[i] = to_blob(vector)
    return blobs


def lead(text: str) -> str:
    """The passage's first EMBED_CHARS characters, cut at a word boundary."""
    if len(text) <= EMBED_CHARS:
        return text
    cut = text.rfind(" ", 0, EMBED_CHARS)
    return text[: cut if cut > EMBED_CHARS // 2 else EMBED_CHARS]


def queue(session: Session, passage_ids: Sequence[int]) -> None:
    """Queue passages (already flushed) for the embedding job."""
    if passage_ids:
        now = utcnow()
        session.execute(insert(EmbedQueue), [{"passage_id": pid, "queued_at": now} for pid in passage_ids])


@dataclass(slots=True)
class Drained:
    """What one run of the job did: passages embedded, and how long the longest-waiting one had waited."""

    passages: int = 0
    max_wait: float = 0.0
    seconds: float = 0.0


def embed_pending(
    session: Session,
    embedder: Embedder,
    *,
    batch: int = JOB_BATCH,
    limit: int | None = None,
    stop: threading.Event | None = None,
) -> Drained:
    """Embed the queued passages, oldest first, one transaction per `batch`, until the queue is empty
    (or `limit` are done, or `stop` is set).

    On PostgreSQL the rows are claimed with SKIP LOCKED, so several workers share the queue. A batch the
    embedder fails on stays queued for the next run (lexical search finds those passages meanwhile).
    """
    drained = Drained()
    started = time.perf_counter()
    if embedder.dim == 0:
        return drained
    postgres = session.get_bind().dialect.name == "postgresql"
    while (limit is None or drained.passages < limit) and not (stop and stop.is_set()):
        stmt = (
            select(Passage.id, Passage.text, EmbedQueue.queued_at)
            .join(EmbedQueue, EmbedQueue.passage_id == Passage.id)
            .order_by(EmbedQueue.passage_id)
            .limit(batch if limit is None else min(batch, limit - drained.passages))
        )
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=EmbedQueue)
        rows = session.execute(stmt).all()
        if not rows:
            break
        try:
            blobs = vectors_for([row.text for row in rows], embedder)
        except EmbedError as error:
            session.rollback()
            log.warning("%d passage(s) left queued for dense search: %s", len(rows), error)
            break
        ids = [row.id for row in rows]
        session.execute(
            update(Passage), [{"id": pid, "embedding": blob} for pid, blob in zip(ids, blobs, strict=True)]
        )
        session.execute(delete(EmbedQueue).where(EmbedQueue.passage_id.in_(ids)))
        session.commit()
        now = utcnow()
        drained.max_wait = max(drained.max_wait, max((now - row.queued_at).total_seconds() for row in rows))
        drained.passages += len(rows)
    drained.seconds = time.perf_counter() - started
    return drained


def embed_queued(ctx: Context, *, stop: threading.Event | None = None) -> Drained:
    """The job: embed what ingestion queued; a failure is logged, never raised."""
    try:
        embedder = ctx.embedder()
        if embedder.dim == 0:
            return Drained()
        with ctx.db.session() as session:
            drained = embed_pending(session, embedder, stop=stop)
    except Exception:  # dense search lagging must not stop ingestion; the queue is still there
        log.exception("embedding queued passages failed")
        return Drained()
    if drained.passages:
        log.info(
            "embedded %d passage(s) for dense search in %.1f s; the longest had waited %.1f s",
            drained.passages,
            drained.seconds,
            drained.max_wait,
        )
    return drained
