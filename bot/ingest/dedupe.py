"""Duplicate detection: canonical URL, exact content hash, and MinHash-LSH for near-duplicates.

Band keys are stored in the database (storage.models.ArticleBand), so a near-duplicate is
found with index lookups whose cost does not grow with the archive, and every process sees
the same index.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass

import numpy as np

from bot.text.normalize import tokens

NUM_PERM = 128
BANDS = 16
ROWS = NUM_PERM // BANDS
# With 16 bands of 8 rows the LSH catches pairs from a Jaccard similarity of about 0.7;
# the estimate then decides.
NEAR_DUPLICATE_JACCARD = 0.75
SHINGLE = 3
SCHEME = "affine32"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    content_hash: str
    signature: np.ndarray  # uint32, NUM_PERM values

    def bands(self) -> list[tuple[int, str]]:
        """The LSH band keys of this signature."""
        return [(band, _bucket(self.signature[band * ROWS : (band + 1) * ROWS])) for band in range(BANDS)]

    def to_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()


def fingerprint(text: str) -> Fingerprint:
    """The exact hash and MinHash signature of an article's normalized text."""
    words = tokens(text)
    content_hash = hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
    from datasketch import MinHash  # its package import pulls in scipy: only commands that ingest pay it

    minhash = MinHash(num_perm=NUM_PERM, hashfunc=_identity, permutations=_permutations(), scheme=SCHEME)
    minhash.update_batch(_shingle_hashes(words).tolist())
    return Fingerprint(content_hash, np.asarray(minhash.hashvalues, dtype=np.uint32))


def _shingle_hashes(words: list[str]) -> np.ndarray:
    """32-bit hashes of the word 3-shingles, combined in numpy (hashing each shingle's bytes is slower)."""
    hashes = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    if len(hashes) < SHINGLE:
        return np.unique(hashes) if len(hashes) else np.zeros(1, dtype=np.uint64)
    n = len(hashes) - SHINGLE + 1
    combined = hashes[:n] * np.uint64(0x9E3779B1) + hashes[1 : n + 1] * np.uint64(0x85EBCA77)
    combined = (combined & np.uint64(0xFFFFFFFF)) * np.uint64(0xC2B2AE3D) + hashes[2 : n + 2]
    return np.unique(combined & np.uint64(0xFFFFFFFF))


def _identity(value: int) -> int:
    return value


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    # Computing the permutations costs more than hashing a short article; they depend only on the seed.
    permutations: tuple[np.ndarray, np.ndarray] = MinHash(
        num_perm=NUM_PERM, seed=7, scheme=SCHEME
    ).permutations
    return permutations


def similarity(signature: np.ndarray, stored: bytes) -> float:
    """Estimated Jaccard similarity between a signature and a stored one."""
    other = np.frombuffer(stored, dtype="<u4")
    if other.shape != signature.shape:
        return 0.0
    return float(np.count_nonzero(signature == other)) / NUM_PERM


def _bucket(values: np.ndarray) -> str:
    return hashlib.blake2b(values.astype("<u4").tobytes(), digest_size=8).hexdigest()
