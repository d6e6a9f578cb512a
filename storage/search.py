"""Lexical search over passages: SQLite FTS5 with bm25(), PostgreSQL full-text search with a BM25-like score.

The caller normalizes and stems (bot.text); this module only turns those terms into tokens both backends
cut alike (`index_text`, `query_tokens`) and runs the search SQL.

How the two backends rank, and where they differ:
- Both leave out the tokens most passages carry (see `prune`), from the same document frequencies.
- SQLite: FTS5's bm25() (k1=1.2, b=0.75) over an OR of the query tokens.
- PostgreSQL: the sum, over the query tokens, of BM25's idf(token) times ts_rank_cd(passage, token, 1),
  a length-normalized term frequency. So rare tokens weigh more on both, and longer passages weigh less on
  both; PostgreSQL's term-frequency curve is log-shaped where BM25's saturates with k1, so scores differ
  in scale and close calls may swap places, while clear winners rank first on both. Document frequencies
  on PostgreSQL are counted per query (a scan); fine for an archive of a few hundred thousand passages.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

# A query of more tokens than this keeps the first ones: the caller puts its most important terms first.
MAX_QUERY_TOKENS = 48
DEFAULT_LIMIT = 50
COMMON_SHARE = 0.05
PRUNE_FROM = 2000
KEEP_WHEN_ALL_COMMON = 2
FREQUENCIES_DRIFT = 0.05
FREQUENCIES_SECONDS = 600.0

_NOT_ALNUM = re.compile(r"[^\w]|_")


class SearchError(ValueError):
    """A search was asked with arguments it cannot run."""


def index_tokens(terms: list[str]) -> list[str]:
    """Terms as tokens made of letters and digits only: "3.28" -> "3x28", "20,000" -> "20000"."""
    out: list[str] = []
    for term in terms:
        folded = term.casefold().replace(",", "").replace(".", "x")
        out.extend(part for part in _NOT_ALNUM.split(folded) if part)
    return out


def index_text(terms: list[str]) -> str:
    """What goes into passages.terms for these terms."""
    return " ".join(index_tokens(terms))


def query_tokens(terms: list[str]) -> list[str]:
    """Distinct tokens of `terms`, in order, at most MAX_QUERY_TOKENS."""
    seen: dict[str, None] = {}
    for token in index_tokens(terms):
        seen.setdefault(token, None)
    return list(seen)[:MAX_QUERY_TOKENS]


def lexical_search(
    session: Session,
    terms: list[str],
    *,
    limit: int = DEFAULT_LIMIT,
    lang: str | None = None,
    thread: str | None = None,
) -> list[tuple[int, float]]:
    """Passage ids matching any of `terms`, best first, with a score where higher is better."""
    if limit < 1:
        raise SearchError(f"limit must be at least 1, not {limit}")
    tokens = query_tokens(terms)
    if not tokens:
        return []
    total, frequencies = document_frequencies(session, tokens)
    tokens = prune(tokens, frequencies, total)
    if not tokens:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return _sqlite(session, tokens, limit=limit, lang=lang, thread=thread)
    weights = [_idf(total, frequencies.get(token, 0)) for token in tokens]
    return _postgres(session, tokens, weights, limit=limit, lang=lang, thread=thread)


class _Frequencies:
    """Document frequencies already counted, valid while the archive keeps about the same size."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.since = time.monotonic()
        self.counts: dict[str, int] = {}

    def fresh(self, total: int) -> bool:
        grown = abs(total - self.total) <= FREQUENCIES_DRIFT * max(self.total, 1)
        return grown and time.monotonic() - self.since < FREQUENCIES_SECONDS


# Per engine, not per URL: two PostgreSQL schemas behind one URL are two archives.
_frequencies: weakref.WeakKeyDictionary[Engine, _Frequencies] = weakref.WeakKeyDictionary()
_frequencies_lock = threading.Lock()


def document_frequencies(session: Session, tokens: list[str]) -> tuple[int, dict[str, int]]:
    """How many passages there are, and how many carry each token (tokens no passage carries are absent).

    Counting costs as much as the search on SQLite (fts5vocab walks the token's postings), so counts are
    remembered per process until the archive's size drifts by FREQUENCIES_DRIFT or FREQUENCIES_SECONDS
    pass. Only tokens some passage carries are remembered: a new name must be found as soon as it is indexed.
    """
    bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise SearchError(f"lexical search does not support the {dialect!r} database")
    engine = bind if isinstance(bind, Engine) else bind.engine
    total = _size(session, dialect)
    with _frequencies_lock:
        known = _frequencies.get(engine)
        if known is None or not known.fresh(total):
            known = _frequencies[engine] = _Frequencies(total)
        missing = [token for token in tokens if token not in known.counts]
    if missing:
        counted = (_sqlite_df if dialect == "sqlite" else _postgres_df)(session, missing)
        with _frequencies_lock:
            known.counts.update(counted)
    counts = {token: known.counts.get(token, 0) for token in tokens}
    return known.total, {token: count for token, count in counts.items() if count}


def _size(session: Session, dialect: str) -> int:
    # SQLite: the highest id stands for the count (O(1)); it only sets the pruning threshold.
    sql = "SELECT max(id) FROM passages" if dialect == "sqlite" else "SELECT count(*) FROM passages"
    return int(session.scalar(text(sql)) or 0)


def prune(tokens: list[str], frequencies: dict[str, int], total: int) -> list[str]:
    """The tokens worth searching: those some passage carries, without the ones most passages carry.

    A token in more than COMMON_SHARE of the passages adds little to BM25 (its idf is small) but makes the
    search score nearly every passage, which is what makes a search slow; left out, the rarer tokens
    decide, as Lucene's cutoff-frequency queries do. When every token is that common, the rarest stay.
    Small archives (under PRUNE_FROM passages) keep every token.
    """
    present = [token for token in tokens if frequencies.get(token, 0) > 0]
    if total < PRUNE_FROM:
        return present
    rare = [token for token in present if frequencies[token] <= COMMON_SHARE * total]
    return rare or sorted(present, key=lambda token: frequencies[token])[:KEEP_WHEN_ALL_COMMON]


def fts5_query(tokens: list[str]) -> str:
    """An FTS5 MATCH expression: any of the tokens, each quoted."""
    return " OR ".join(f'"{token}"' for token in tokens)


def _filters(lang: str | None, thread: str | None) -> tuple[str, str, dict[str, object]]:
    join = (
        " JOIN article_threads t ON t.article_id = p.article_id AND t.thread_id = :thread" if thread else ""
    )
    where = " AND p.lang = :lang" if lang else ""
    params: dict[str, object] = {}
    if thread:
        params["thread"] = thread
    if lang:
        params["lang"] = lang
    return join, where, params


def _sqlite(
    session: Session, tokens: list[str], *, limit: int, lang: str | None, thread: str | None
) -> list[tuple[int, float]]:
    params: dict[str, object] = {"q": fts5_query(tokens), "limit": limit}
    if not lang and not thread:
        # Without filters the FTS table alone answers, which is as fast as FTS5 gets.
        sql = "SELECT rowid, rank FROM passages_fts WHERE passages_fts MATCH :q ORDER BY rank, rowid LIMIT :limit"
    else:
        join, where, extra = _filters(lang, thread)
        params.update(extra)
        sql = (
            "SELECT p.id, f.rank FROM passages_fts f JOIN passages p ON p.id = f.rowid"
            f"{join} WHERE passages_fts MATCH :q{where} ORDER BY f.rank, p.id LIMIT :limit"
        )
    # bm25() is lower-is-better; flip it so every backend returns higher-is-better.
    return [(int(pid), -float(rank)) for pid, rank in session.execute(text(sql), params)]


def _sqlite_df(session: Session, tokens: list[str]) -> dict[str, int]:
    """Per token, how many passages carry it (from the fts5vocab table)."""
    # One equality lookup per token: fts5vocab answers `term = ?` from the index but scans for `IN`.
    sql = " UNION ALL ".join(
        f"SELECT term, doc FROM passages_fts_vocab WHERE term = :t{i}" for i in range(len(tokens))
    )
    params = {f"t{i}": token for i, token in enumerate(tokens)}
    rows = session.execute(text(sql), params)
    return {str(term): int(doc) for term, doc in rows}


def _postgres(
    session: Session,
    tokens: list[str],
    weights: list[float],
    *,
    limit: int,
    lang: str | None,
    thread: str | None,
) -> list[tuple[int, float]]:
    params: dict[str, object] = {"q": " | ".join(tokens), "limit": limit}
    parts = []
    for i, token in enumerate(tokens):
        params[f"t{i}"] = token
        params[f"w{i}"] = weights[i]
        parts.append(f"ts_rank_cd(p.terms_tsv, to_tsquery('simple', :t{i}), 1) * :w{i}")
    join, where, extra = _filters(lang, thread)
    params.update(extra)
    sql = (
        f"SELECT p.id, ({' + '.join(parts)}) AS score FROM passages p{join} "
        f"WHERE p.terms_tsv @@ to_tsquery('simple', :q){where} ORDER BY score DESC, p.id LIMIT :limit"
    )
    return [(int(pid), float(score)) for pid, score in session.execute(text(sql), params)]


def _postgres_df(session: Session, tokens: list[str]) -> dict[str, int]:
    """Per token, how many passages carry it, counted now."""
    counts = ", ".join(
        f"count(*) FILTER (WHERE terms_tsv @@ to_tsquery('simple', :t{i}))" for i in range(len(tokens))
    )
    params = {f"t{i}": token for i, token in enumerate(tokens)}
    row = session.execute(text(f"SELECT {counts} FROM passages"), params).one()
    return {token: int(df) for token, df in zip(tokens, row, strict=True) if df}


def _idf(total: int, df: int) -> float:
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))
