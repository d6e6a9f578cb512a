"""Dense passage search: one float32 matrix per process and embedder, loaded lazily, grown incrementally.

Reading 100,000 blobs per question would cost far more than the search itself, so the vectors live in
memory. `refresh` reads only passages with an id above the highest one already passed (one indexed
query), so passages written by another process appear on the next question. A passage passed while it
still waited in the embedding queue (`bot.qa.vectors`) is remembered as a hole and loaded once the job
has given it its vector, so late vectors are never left out. Deleted passages stay in the matrix until
the process restarts; callers drop ids that no longer exist when they read the rows.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.embed import BLOB_DTYPE, Matrix, cosine_top_k
from storage.models import EmbedQueue, Passage

log = logging.getLogger(__name__)

_INITIAL_CAPACITY = 1024
_LOAD_BATCH = 20_000
_HOLES_BATCH = 500


class DenseIndex:
    """Unit-length passage vectors of one embedder, with their passage ids."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(_INITIAL_CAPACITY, dtype=np.int64)
        self._matrix = np.zeros((_INITIAL_CAPACITY, dim), dtype=np.float32)
        self._size = 0
        self._max_id = 0
        self._holes: set[int] = set()  # passed over while queued for a vector; loaded when it has one
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def add(self, ids: list[int], vectors: Matrix) -> None:
        """Append vectors for passages not loaded yet (ids at or below the highest loaded are skipped)."""
        with self._lock:
            keep = [i for i, pid in enumerate(ids) if pid > self._max_id]
            if not keep or vectors.shape[1] != self.dim:
                return
            self._append([ids[i] for i in keep], vectors[keep])
            self._max_id = max(self._max_id, ids[keep[-1]])

    def _append(self, ids: list[int], vectors: Matrix) -> None:
        self._grow(self._size + len(ids))
        end = self._size + len(ids)
        self._ids[self._size : end] = ids
        self._matrix[self._size : end] = vectors
        self._size = end

    def refresh(self, session: Session) -> int:
        """Load passages stored since the last refresh, and queued ones embedded since; returns how many."""
        added = self._fill_holes(session)
        while True:
            queued = EmbedQueue.passage_id.is_not(None).label("queued")
            # One statement, so a passage and its queue row are seen as one transaction left them.
            rows = session.execute(
                select(Passage.id, Passage.embedding, queued)
                .outerjoin(EmbedQueue, EmbedQueue.passage_id == Passage.id)
                .where(Passage.id > self._max_id)
                .order_by(Passage.id)
                .limit(_LOAD_BATCH)
            ).all()
            if not rows:
                return added
            ids, vectors = self._decode([(pid, blob) for pid, blob, _ in rows if blob is not None])
            self.add(ids, vectors)
            added += len(ids)
            with self._lock:
                self._holes.update(int(pid) for pid, blob, waiting in rows if blob is None and waiting)
                # Past every row read, unembedded and wrong-width ones too, so none is read again.
                self._max_id = max(self._max_id, int(rows[-1][0]))

    def _fill_holes(self, session: Session) -> int:
        """Load the vectors the embedding job gave to passages passed over while they were queued."""
        added = 0
        pending = sorted(self._holes)
        for start in range(0, len(pending), _HOLES_BATCH):
            holes = pending[start : start + _HOLES_BATCH]
            # The queue first: a passage that left it before this read has its vector in the next one.
            waiting = set(
                session.scalars(select(EmbedQueue.passage_id).where(EmbedQueue.passage_id.in_(holes)))
            )
            rows = session.execute(
                select(Passage.id, Passage.embedding).where(
                    Passage.id.in_(holes), Passage.embedding.is_not(None)
                )
            ).all()
            ids, vectors = self._decode(rows)
            with self._lock:
                if ids:
                    self._append(ids, vectors)
                # Embedded, or out of the queue without a vector (deleted, or given up): no longer a hole.
                self._holes.difference_update(pid for pid in holes if pid not in waiting)
                self._holes.difference_update(ids)
            added += len(ids)
        return added

    def search(self, vector: Matrix, k: int) -> list[tuple[int, float]]:
        """The `k` passage ids nearest to `vector`, best first, with their cosine similarity."""
        with self._lock:
            matrix, ids = self._matrix[: self._size], self._ids[: self._size]
        if not len(ids) or np.size(vector) != self.dim:
            return []
        return [(int(ids[row]), score) for row, score in cosine_top_k(vector, matrix, k)]

    def _decode(self, rows: Sequence[Any]) -> tuple[list[int], Matrix]:
        size = self.dim * BLOB_DTYPE.itemsize
        good = [(int(pid), blob) for pid, blob in rows if blob is not None and len(blob) == size]
        if len(good) < len(rows):
            log.warning(
                "skipped %d passage vector(s) of another width than %d", len(rows) - len(good), self.dim
            )
        if not good:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        flat = np.frombuffer(b"".join(blob for _, blob in good), dtype=BLOB_DTYPE)
        return [pid for pid, _ in good], flat.reshape(len(good), self.dim).astype(np.float32)

    def _grow(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        ids = np.zeros(capacity, dtype=np.int64)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        ids[: self._size] = self._ids[: self._size]
        matrix[: self._size] = self._matrix[: self._size]
        self._ids, self._matrix = ids, matrix


# Keyed by engine, not URL: two PostgreSQL schemas behind one URL are two archives.
_indexes: weakref.WeakKeyDictionary[Engine, dict[tuple[str, int], DenseIndex]] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def dense_index(engine: Engine, embedder_name: str, dim: int) -> DenseIndex:
    """The process-wide dense index of one database and embedder."""
    with _indexes_lock:
        per_engine = _indexes.setdefault(engine, {})
        if (embedder_name, dim) not in per_engine:
            per_engine[(embedder_name, dim)] = DenseIndex(dim)
        return per_engine[(embedder_name, dim)]
