"""Stories: one event as several outlets covered it, within one thread, clustered incrementally.

Only articles not yet in a story of the thread are processed, oldest first, each compared with the
open stories (a report or a new member within `open_days`). The evidence is language-independent, so an
Arabic and an English report of one meeting join one story:

- the cosine of multilingual sentence embeddings of headline and lead with the story's centroid (the
  normalized mean of its members' vectors);
- the story's *characteristic* evidence: the thread entities most of its members name, and the figures
  and dates of its first report or of at least two members, each weighted by rarity (every russia-dprk
  article names Russia; few name Shoigu or "$3.28 billion");
- time: an article joins only within `gap_days` of the story's reports, and a story never spans more
  than `span_days`, so stories close.

An article joins the best story that it is very close to in meaning, or that it shares rare evidence with
while being reasonably close in meaning. Comparing with a story's characteristic evidence rather than a
running union of everything its members ever named is what stops chaining: a story that drew in
unrelated reports by mistake has no majority entities or corroborated figures left to attract more.
Duplicates (`duplicate_of`) join their original's story as extra outlets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.embed import Embedder, from_blob, normalize_rows, to_blob
from bot.figures import number_keys
from bot.threads import ThreadDef
from storage.models import Article, ArticleThread, Story, StoryArticle

Vector = npt.NDArray[np.float32]
EntityCounter = Callable[[str], Mapping[str, int]]

OPEN_DAYS = 7
LEAD_CHARS = 600
FIGURE_CHARS = 1500
# A story's characteristic evidence: entities named by at least this share of its members (the top few),
# and figures of its first report or of at least two members (the most reported few).
ENTITY_SHARE = 0.5
TOP_ENTITIES = 6
TOP_FIGURES = 30
# Clusters scored per article: this many nearest centroids, plus recent ones holding its rarest evidence.
CANDIDATES = 32
RARE_TOKENS = 3
# Ranking among the stories an article may join: cosine plus this much for saturated shared evidence.
EVIDENCE_BONUS = 0.3


@dataclass(frozen=True, slots=True)
class JoinRule:
    """When an article may join a story (cosines are raw, evidence is a sum of scaled idf weights)."""

    # USE puts unrelated reports of one thread at 0.58-0.73 and same-event pairs mostly higher, so cosine
    # alone decides only when it is very high.
    cosine_alone: float = 0.9
    cosine_floor: float = 0.5
    # About one unique figure, or a date and a rare name: two names from a small pool are not enough.
    rare_evidence: float = 0.8
    # Without vectors, evidence alone decides and must be stronger.
    evidence_alone: float = 1.5
    gap_days: float = 3.0
    span_days: float = 10.0


DEFAULT_RULE = JoinRule()


@dataclass(slots=True)
class Features:
    """What clustering knows about one article."""

    article_id: int
    when: datetime
    vector: Vector | None
    entities: dict[str, int]
    figures: frozenset[str]
    title: str = ""
    # Undated articles carry their file's time, which says nothing: no time window applies to them.
    dated: bool = True

    def tokens(self) -> set[str]:
        """Entities and figures as one vocabulary of evidence."""
        return {_entity_token(e) for e, c in self.entities.items() if c > 0} | {
            _figure_token(f) for f in self.figures
        }


def _entity_token(entity: str) -> str:
    return f"e:{entity}"


def _figure_token(figure: str) -> str:
    return f"f:{figure}"


@dataclass(slots=True)
class Cluster:
    """A story's state: vector sum, how many members name each entity and figure, span and members."""

    story_id: int | None
    vector_sum: Vector | None
    entities: Counter[str]  # entity id -> members naming it
    figures: Counter[str]  # figure key -> members giving it
    first: datetime
    last: datetime
    members: list[int] = field(default_factory=list)
    title: str = ""
    founding: frozenset[str] = frozenset()  # the first report's figures
    added: list[tuple[int, float]] = field(default_factory=list)
    _profile: dict[str, float] | None = None

    @classmethod
    def start(cls, features: Features) -> Cluster:
        """A new cluster holding one article."""
        vector = None if features.vector is None else features.vector.copy()
        cluster = cls(None, vector, Counter(), Counter(), features.when, features.when, title=features.title)
        cluster.founding = features.figures
        cluster.add(features, 1.0)
        return cluster

    @property
    def centroid(self) -> Vector | None:
        """The unit-length mean of the members' vectors."""
        if self.vector_sum is None:
            return None
        return normalize_rows(self.vector_sum)[0]

    def add(self, features: Features, score: float) -> None:
        """Take `features` in (its vector was counted by `start` when it opened the cluster)."""
        if self.members and features.vector is not None:
            self.vector_sum = (
                features.vector.copy() if self.vector_sum is None else self.vector_sum + features.vector
            )
        self.entities.update(e for e, c in features.entities.items() if c > 0)
        self.figures.update(features.figures)
        self.first, self.last = min(self.first, features.when), max(self.last, features.when)
        self.members.append(features.article_id)
        self.added.append((features.article_id, score))
        self._profile = None

    def characteristic_figures(self) -> list[str]:
        """Figures of the first report or of at least two members, the most reported first."""
        kept = [f for f, n in self.figures.items() if n >= 2 or f in self.founding]
        return sorted(kept, key=lambda f: (-self.figures[f], f))[:TOP_FIGURES]

    def characteristic_entities(self, idf: Mapping[str, float]) -> list[str]:
        """Entities most members name, the rarest first."""
        size = max(len(self.members), 1)
        kept = [e for e, n in self.entities.items() if n / size >= ENTITY_SHARE]
        return sorted(kept, key=lambda e: (-idf.get(_entity_token(e), 0.0), e))[:TOP_ENTITIES]

    def profile(self, idf: Mapping[str, float]) -> dict[str, float]:
        """Characteristic evidence tokens and their rarity weights."""
        if self._profile is None:
            tokens = [_entity_token(e) for e in self.characteristic_entities(idf)]
            tokens += [_figure_token(f) for f in self.characteristic_figures()]
            self._profile = {t: idf.get(t, 0.0) for t in tokens}
        return self._profile

    def tokens(self) -> set[str]:
        """Every evidence token the story holds (for rarity and the candidate index)."""
        return {_entity_token(e) for e in self.entities} | {_figure_token(f) for f in self.figures}


PRIOR_DOCUMENTS = 10


def rarity(
    documents: Iterable[Iterable[str]], *, common: Iterable[str] = (), prior: int = PRIOR_DOCUMENTS
) -> dict[str, float]:
    """Inverse document frequency of each evidence token over `documents`, scaled to [0, 1].

    `prior` background documents that name none of the tokens smooth the estimate, so that two
    reports sharing a specific name still count as evidence when only a handful of articles are
    known; the thread's `common` entities (countries, capitals, heads of state) weigh nothing, since
    nearly every report names them. Scaling by the largest possible idf keeps the join thresholds
    meaningful for a handful of pending articles and for a day of hundreds alike.
    """
    docs = [set(d) for d in documents]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc)
    background = {_entity_token(e) for e in common}
    total = len(docs) + prior
    top = math.log(total + 1)
    return {
        token: 0.0 if token in background or n >= total else math.log((total + 1) / n) / top
        for token, n in df.items()
    }


def in_window(when: datetime, cluster: Cluster, rule: JoinRule = DEFAULT_RULE) -> bool:
    """Whether `when` is close enough to the story's reports, and keeps its span within bounds."""
    gap = max(timedelta(0), cluster.first - when, when - cluster.last)
    span = max(cluster.last, when) - min(cluster.first, when)
    return gap <= timedelta(days=rule.gap_days) and span <= timedelta(days=rule.span_days)


@dataclass(frozen=True, slots=True)
class Match:
    """How an article compares with one story."""

    cosine: float | None
    evidence: float

    def joins(self, rule: JoinRule) -> bool:
        """Whether this is enough to join."""
        if self.cosine is None:
            return self.evidence >= rule.evidence_alone
        if self.cosine >= rule.cosine_alone:
            return True
        return self.evidence >= rule.rare_evidence and self.cosine >= rule.cosine_floor

    def score(self, rule: JoinRule) -> float:
        """For ranking the stories an article may join."""
        bonus = EVIDENCE_BONUS * min(1.0, self.evidence / (2 * rule.rare_evidence))
        return (self.cosine if self.cosine is not None else 0.0) + bonus


def compare(features: Features, tokens: set[str], cluster: Cluster, idf: Mapping[str, float]) -> Match:
    """The cosine with the story's centroid and the rarity of the characteristic evidence both hold."""
    centroid = cluster.centroid
    cosine = None
    if features.vector is not None and centroid is not None and features.vector.shape == centroid.shape:
        cosine = float(features.vector @ centroid)
    profile = cluster.profile(idf)
    return Match(cosine, sum(w for t, w in profile.items() if t in tokens))


class _Index:
    """Candidate clusters for an article: the nearest centroids, and those holding its rarest evidence.

    Scoring every open story for every article is quadratic; only these candidates are scored.
    """

    def __init__(self, clusters: list[Cluster], idf: Mapping[str, float], dim: int) -> None:
        self.clusters = clusters
        self.idf = idf
        self.dim = dim
        self.matrix = np.zeros((max(64, 2 * len(clusters)), dim), dtype=np.float32)
        self.by_token: dict[str, list[int]] = {}
        for i, cluster in enumerate(clusters):
            self.update(i, cluster, cluster.tokens())

    def update(self, i: int, cluster: Cluster, tokens: Iterable[str]) -> None:
        if self.dim:
            if i >= self.matrix.shape[0]:
                self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
            centroid = cluster.centroid
            if centroid is not None and centroid.shape[0] == self.dim:
                self.matrix[i] = centroid
        for token in tokens:
            members = self.by_token.setdefault(token, [])
            if not members or members[-1] != i:
                members.append(i)

    def candidates(self, features: Features, tokens: set[str]) -> list[int]:
        n = len(self.clusters)
        if n <= CANDIDATES:
            return list(range(n))
        found: set[int] = set()
        if self.dim and features.vector is not None and features.vector.shape[0] == self.dim:
            scores = self.matrix[:n] @ features.vector
            found.update(int(i) for i in np.argpartition(-scores, CANDIDATES - 1)[:CANDIDATES])
        for token in sorted(tokens, key=lambda t: -self.idf.get(t, 0.0))[:RARE_TOKENS]:
            found.update(self.by_token.get(token, [])[-CANDIDATES:])
        return sorted(found)


def assign(
    pending: Sequence[Features],
    clusters: list[Cluster],
    *,
    rule: JoinRule = DEFAULT_RULE,
    common: Iterable[str] = (),
) -> list[Cluster]:
    """Place each pending article, oldest first, in the best story it may join, or a new one.

    `clusters` is extended in place with the new clusters; the touched clusters are returned.
    """
    article_tokens = {f.article_id: f.tokens() for f in pending}
    idf = rarity(list(article_tokens.values()) + [c.tokens() for c in clusters], common=common)
    dim = next((f.vector.shape[0] for f in pending if f.vector is not None), 0)
    index = _Index(clusters, idf, dim)
    touched: dict[int, Cluster] = {}
    for features in sorted(pending, key=lambda f: (f.when, f.article_id)):
        tokens = article_tokens[features.article_id]
        best, best_score = -1, -math.inf
        for i in index.candidates(features, tokens):
            if features.dated and not in_window(features.when, clusters[i], rule):
                continue
            match = compare(features, tokens, clusters[i], idf)
            if match.joins(rule) and match.score(rule) > best_score:
                best, best_score = i, match.score(rule)
        if best >= 0:
            clusters[best].add(features, best_score)
        else:
            clusters.append(Cluster.start(features))
            best = len(clusters) - 1
        index.update(best, clusters[best], tokens)
        touched[best] = clusters[best]
    return list(touched.values())


# ---------------------------------------------------------------- storage


def lead_text(article: Article, *, chars: int = LEAD_CHARS) -> str:
    """Headline and lead: what the embedding sees."""
    return f"{article.title}\n{article.text[:chars]}"


def ensure_embeddings(session: Session, articles: Sequence[Article], embedder: Embedder) -> None:
    """Embed the headline and lead of every article without a stored vector of the embedder's width."""
    if embedder.dim == 0:
        return
    size = embedder.dim * 2  # float16 blobs
    missing = [a for a in articles if a.embedding is None or len(a.embedding) != size]
    if not missing:
        return
    vectors = embedder.embed([lead_text(a) for a in missing])
    for article, vector in zip(missing, vectors, strict=True):
        article.embedding = to_blob(vector)
    session.flush()


def article_features(article: Article, thread: ThreadDef, entities: EntityCounter, dim: int) -> Features:
    """An article's clustering features within `thread`."""
    known = {e.id for g in thread.groups for e in g.entities}
    counts = {k: v for k, v in entities(f"{article.title}\n{article.text}").items() if k in known}
    vector = from_blob(article.embedding, dim) if dim and article.embedding else None
    figures = frozenset(number_keys(f"{article.title}\n{article.text[:FIGURE_CHARS]}"))
    return Features(article.id, article.when, vector, counts, figures, article.title, _dated(article))


def _dated(article: Article) -> bool:
    # A local file's time is its modification time (or a date found in its text), not when it was published.
    return article.published_at is not None and article.url is not None


def _story_cluster(story: Story, dim: int) -> Cluster:
    vector = from_blob(story.centroid, dim) * max(story.member_count, 1) if dim and story.centroid else None
    return Cluster(
        story_id=story.id,
        vector_sum=vector,
        entities=Counter({k: int(v) for k, v in (story.entities or {}).items()}),
        # Only characteristic figures are stored (see `_save_cluster`): they count as corroborated.
        figures=Counter({str(f): 2 for f in story.figures or []}),
        first=story.first_report_at or story.created_at,
        last=story.last_report_at or story.created_at,
        members=[0] * story.member_count,  # placeholders: only the count matters for the centroid
        title=story.title,
    )


def open_stories(
    session: Session, thread_id: str, *, now: datetime, open_days: int = OPEN_DAYS
) -> list[Story]:
    """Stories of the thread with a report or a new member in the last `open_days` days."""
    cutoff = now - timedelta(days=open_days)
    query = select(Story).where(
        Story.thread_id == thread_id, or_(Story.last_report_at >= cutoff, Story.updated_at >= cutoff)
    )
    return list(session.scalars(query.order_by(Story.id)))


def pending_articles(session: Session, thread_id: str) -> list[Article]:
    """Original articles placed in the thread but not yet in one of its stories."""
    placed = select(StoryArticle.article_id).where(StoryArticle.thread_id == thread_id)
    query = (
        select(Article)
        .join(ArticleThread, ArticleThread.article_id == Article.id)
        .where(
            ArticleThread.thread_id == thread_id, Article.duplicate_of.is_(None), Article.id.not_in(placed)
        )
        .order_by(Article.id)
    )
    return list(session.scalars(query))


def cluster_thread(
    session: Session,
    thread: ThreadDef,
    *,
    entities: EntityCounter,
    embedder: Embedder,
    now: datetime,
    open_days: int = OPEN_DAYS,
    rule: JoinRule = DEFAULT_RULE,
) -> list[int]:
    """Cluster the thread's pending articles into its open stories or new ones; the touched story ids."""
    pending = pending_articles(session, thread.id)
    touched_ids: set[int] = set()
    if pending:
        ensure_embeddings(session, pending, embedder)
        dim = embedder.dim
        stories = open_stories(session, thread.id, now=now, open_days=open_days)
        clusters = [_story_cluster(s, dim) for s in stories]
        features = [article_features(a, thread, entities, dim) for a in pending]
        common = {e.id for group in thread.groups for e in group.entities if e.common}
        for cluster in assign(features, clusters, rule=rule, common=common):
            touched_ids.add(_save_cluster(session, thread.id, cluster, now))
    touched_ids |= _attach_duplicates(session, thread.id, now)
    return sorted(touched_ids)


def _save_cluster(session: Session, thread_id: str, cluster: Cluster, now: datetime) -> int:
    story = session.get(Story, cluster.story_id) if cluster.story_id else None
    if story is None:
        story = Story(thread_id=thread_id, created_at=now, title=cluster.title)
        session.add(story)
        session.flush()
    centroid = cluster.centroid
    story.centroid = to_blob(centroid) if centroid is not None else None
    story.entities = dict(cluster.entities)  # entity id -> members naming it
    # A figure given once, by a report other than the first, is noise until another report repeats it.
    story.figures = sorted(cluster.characteristic_figures())
    story.first_report_at, story.last_report_at = cluster.first, cluster.last
    story.member_count = len(cluster.members)
    story.updated_at = now
    for article_id, score in cluster.added:
        session.add(
            StoryArticle(
                story_id=story.id, article_id=article_id, thread_id=thread_id, similarity=score, joined_at=now
            )
        )
    session.flush()
    return story.id


def _attach_duplicates(session: Session, thread_id: str, now: datetime) -> set[int]:
    """Duplicates join their original's story in this thread (they are extra outlets of it)."""
    placed = select(StoryArticle.article_id).where(StoryArticle.thread_id == thread_id)
    rows = session.execute(
        select(Article, StoryArticle.story_id)
        .join(StoryArticle, StoryArticle.article_id == Article.duplicate_of)
        .where(StoryArticle.thread_id == thread_id, Article.id.not_in(placed))
    ).all()
    touched: set[int] = set()
    for article, story_id in rows:
        session.add(
            StoryArticle(story_id=story_id, article_id=article.id, thread_id=thread_id, joined_at=now)
        )
        story = session.get(Story, story_id)
        if story is not None:
            story.member_count += 1
            story.updated_at = now
            story.last_report_at = max(filter(None, [story.last_report_at, article.when]))
        touched.add(story_id)
    session.flush()
    return touched


def story_members(session: Session, story_id: int) -> list[Article]:
    """A story's member articles, oldest report first."""
    query = (
        select(Article)
        .join(StoryArticle, StoryArticle.article_id == Article.id)
        .where(StoryArticle.story_id == story_id)
    )
    return sorted(session.scalars(query), key=lambda a: (a.when, a.id))
