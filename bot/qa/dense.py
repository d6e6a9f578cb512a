"""Dense passage search: one float32 matrix per process and embedder, loaded lazily, grown incrementally.

Reading 100,000 blobs per question would cost far more than the search itself, so the vectors live in
memory. `refresh` reads only passages with an id above the highest one already loaded (one indexed
query), so passages written by another process appear on the next question. Deleted passages stay in
the matrix until the process restarts; callers drop ids that no longer exist when they read the rows.
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
from storage.models import Passage

log = logging.getLogger(__name__)

_INITIAL_CAPACITY = 1024
_LOAD_BATCH = 20_000


class DenseIndex:
    """Unit-length passage vectors of one embedder, with their passage ids."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(_INITIAL_CAPACITY, dtype=np.int64)
        self._matrix = np.zeros((_INITIAL_CAPACITY, dim), dtype=np.float32)
        self._size = 0
        self._max_id = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def add(self, ids: list[int], vectors: Matrix) -> None:
        """Append vectors for passages not loaded yet (ids at or below the highest loaded are skipped)."""
        with self._lock:
            keep = [i for i, pid in enumerate(ids) if pid > self._max_id]
            if not keep or vectors.shape[1] != self.dim:
                return
            self._grow(self._size + len(keep))
            end = self._size + len(keep)
            self._ids[self._size : end] = [ids[i] for i in keep]
            self._matrix[self._size : end] = vectors[keep]
            self._size = end
            self._max_id = int(self._ids[end - 1])

    def refresh(self, session: Session) -> int:
        """Load passages stored since the last refresh; returns how many were added."""
        added = 0
        while True:
            rows = session.execute(
                select(Passage.id, Passage.embedding)
                .where(Passage.id > self._max_id, Passage.embedding.is_not(None))
                .order_by(Passage.id)
                .limit(_LOAD_BATCH)
            ).all()
            if not rows:
                return added
            ids, vectors = self._decode(rows)
            self.add(ids, vectors)
            added += len(ids)
            if self._max_id < rows[-1][0]:
                # Only wrong-width vectors were in this batch; step over them so they are not read again.
                with self._lock:
                    self._max_id = int(rows[-1][0])

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
