"""Stories: one event as several outlets covered it, within one thread, clustered on the write path.

After each ingestion, the articles not yet in a story of the thread are placed, oldest first, in the open
stories (a report or a new member within `open_days`) or in new ones; then stories that turn out to be
one are merged. The evidence is language-independent where it can be, so an Arabic and an English
report of one meeting join one story, and each article is compared with a story's *members*, not with a
running summary of them:

- the cosine of multilingual sentence embeddings of headline and lead;
- the rare words both leads use (stemmed; a place such as Vostochny or «تومين», a thing such as a bridge),
  and the rare thread entities and figures both name, each weighted by rarity: every russia-dprk article
  names Russia, few name Shoigu or "300,000 barrels";
- time: the day of the report (its publication date, or else a date its lead writes), with a bonus for
  reports a day or two apart and no link at all between reports more than `gap_days` apart. Events of
  one kind recur (Lavrov went to Pyongyang in 2018, 2023 and 2025): the day tells them apart.

An article's score with a story is the mean of its best few pair scores with the members, which keeps a
story from chaining: one odd member cannot draw in a different event. Stories merge when the reports of
the smaller one would, on average, join the larger. Duplicates (`duplicate_of`) join their original's
story as extra outlets.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.context import Context
from bot.embed import Embedder, from_blob, normalize_rows, to_blob
from bot.text.figures import number_keys
from bot.text.relative import event_date
from bot.text.stem import terms as stem_terms
from bot.threads.classify import ThreadDef
from storage.models import Article, ArticleThread, Story, StoryArticle, Summary

Vector = npt.NDArray[np.float32]
EntityCounter = Callable[[str], Mapping[str, int]]

OPEN_DAYS = 7
LEAD_CHARS = 600
TERM_CHARS = 400
FIGURE_CHARS = 1500
# A story's stored figures: those of its first report or of at least two members (the most reported few).
TOP_FIGURES = 30
# Stories scored per article: this many nearest centroids, plus recent ones holding its rarest evidence.
CANDIDATES = 32
RARE_TOKENS = 3
# Undated articles (no publication date, no date in the lead) may belong to any recent story.
UNDATED_STORIES = 2000


@dataclass(frozen=True, slots=True)
class JoinRule:
    """When an article joins a story, and when two stories are one (scores are pair scores, below)."""

    # Tuned on the labelled dev set (tests/data/devset: 282 real reports, 2 threads, 61 events).
    join: float = 0.7
    merge: float = 0.7
    # The mean of this many best pair scores with a story's members.
    best_pairs: int = 2
    # ... or of this share of its members, whichever is more.
    best_share: float = 0.34
    term_weight: float = 0.15
    entity_weight: float = 0.1
    figure_weight: float = 0.15
    # Reports this many days apart or less are likely one event; more than gap_days apart never are.
    near_days: int = 1
    near_bonus: float = 0.05
    gap_days: int = 5
    span_days: int = 10
    # Without vectors, the other evidence decides and must be stronger.
    join_without_vectors: float = 0.45


DEFAULT_RULE = JoinRule()


@dataclass(slots=True, eq=False)
class Features:
    """What clustering knows about one article."""

    article_id: int
    when: datetime
    vector: Vector | None
    entities: dict[str, int]
    figures: frozenset[str]
    title: str = ""
    # Whether `when` is a publication date (a file's or fetch time says nothing of the event).
    dated: bool = True
    day: date | None = None  # the report's day: its publication date, or a date its lead writes
    terms: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.day is None and self.dated:
            self.day = self.when.date()

    def tokens(self) -> set[str]:
        """Entities and figures as one vocabulary of evidence."""
        return {_entity_token(e) for e, c in self.entities.items() if c > 0} | {
            _figure_token(f) for f in self.figures
        }


def _entity_token(entity: str) -> str:
    return f"e:{entity}"


def _figure_token(figure: str) -> str:
    return f"f:{figure}"


def _term_token(term: str) -> str:
    return f"t:{term}"


@dataclass(slots=True, eq=False)  # compared by identity: a cluster's vectors are arrays
class Cluster:
    """A story's state: its members' features, and the vector sum, entities and figures they give."""

    story_id: int | None
    vector_sum: Vector | None
    entities: Counter[str]  # entity id -> members naming it
    figures: Counter[str]  # figure key -> members giving it
    first: datetime | None
    last: datetime | None
    members: list[Features] = field(default_factory=list)
    title: str = ""
    founding: frozenset[str] = frozenset()  # the first report's figures
    added: list[tuple[int, float]] = field(default_factory=list)
    absorbed: list[int] = field(default_factory=list)  # stored stories merged into this one
    member_count: int = 0  # stored members not loaded as features count too (for the centroid)

    @classmethod
    def start(cls, features: Features) -> Cluster:
        """A new cluster holding one article."""
        cluster = cls(None, None, Counter(), Counter(), None, None, title=features.title)
        cluster.founding = features.figures
        cluster.add(features, 1.0)
        return cluster

    @property
    def centroid(self) -> Vector | None:
        """The unit-length mean of the members' vectors."""
        if self.vector_sum is None:
            return None
        return normalize_rows(self.vector_sum)[0]

    @property
    def days(self) -> list[date]:
        return [m.day for m in self.members if m.day is not None]

    def add(self, features: Features, score: float) -> None:
        """Take `features` in as a new member."""
        self._take(features)
        self.added.append((features.article_id, score))

    def _take(self, features: Features) -> None:
        if features.vector is not None:
            self.vector_sum = (
                features.vector.copy() if self.vector_sum is None else self.vector_sum + features.vector
            )
        self.entities.update(e for e, c in features.entities.items() if c > 0)
        self.figures.update(features.figures)
        if features.dated:
            self.first = min(filter(None, [self.first, features.when]))
            self.last = max(filter(None, [self.last, features.when]))
        self.members.append(features)
        self.member_count += 1

    def absorb(self, other: Cluster) -> None:
        """Take every member of `other` in (the two stories are one)."""
        for features in other.members:
            self._take(features)
        self.member_count += other.member_count - len(other.members)
        if other.vector_sum is not None and other.story_id is not None and self.vector_sum is not None:
            pass  # stored members' vectors are all loaded as features: nothing more to add
        self.added += other.added if other.story_id is None else []
        if other.story_id is not None:
            self.absorbed.append(other.story_id)
        self.absorbed += other.absorbed
        self.founding = self.founding or other.founding

    def characteristic_figures(self) -> list[str]:
        """Figures of the first report or of at least two members, the most reported first."""
        kept = [f for f, n in self.figures.items() if n >= 2 or f in self.founding]
        return sorted(kept, key=lambda f: (-self.figures[f], f))[:TOP_FIGURES]

    def tokens(self) -> set[str]:
        """Every evidence token the story holds (for the candidate index)."""
        return {_entity_token(e) for e in self.entities} | {_figure_token(f) for f in self.figures}


PRIOR_DOCUMENTS = 10


def rarity(
    documents: Iterable[Iterable[str]],
    *,
    common: Iterable[str] = (),
    common_terms: Iterable[str] = (),
    prior: int = PRIOR_DOCUMENTS,
) -> dict[str, float]:
    """Inverse document frequency of each evidence token over `documents`, scaled to [0, 1].

    `prior` background documents that name none of the tokens smooth the estimate, so that two
    reports sharing a specific name still count as evidence when only a handful of articles are
    known; the thread's `common` entities (countries, capitals, heads of state) weigh nothing, since
    nearly every report names them, and neither do the words of their names (`common_terms`: «روسيا»,
    "Pyongyang"), which a handful of pending articles would otherwise count as rare. Scaling by the largest possible idf keeps the thresholds
    meaningful for a handful of pending articles and for a day of hundreds alike.
    """
    docs = [set(d) for d in documents]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc)
    background = {_entity_token(e) for e in common} | {_term_token(t) for t in common_terms}
    total = len(docs) + prior
    top = math.log(total + 1)
    return {
        token: 0.0 if token in background or n >= total else math.log((total + 1) / n) / top
        for token, n in df.items()
    }


def day_gap(a: date | None, b: date | None) -> int | None:
    """Days between two report days; None when either is unknown."""
    if a is None or b is None:
        return None
    return abs((a - b).days)


def in_window(day: date | None, cluster: Cluster, rule: JoinRule = DEFAULT_RULE) -> bool:
    """Whether a report of `day` is close enough to the story's dated reports and keeps its span in bounds."""
    days = cluster.days
    if day is None or not days:
        return True
    first, last = min(days), max(days)
    gap = max(0, (first - day).days, (day - last).days)
    span = (max(last, day) - min(first, day)).days
    return gap <= rule.gap_days and span <= rule.span_days


def pair_score(
    a: Features, b: Features, idf: Mapping[str, float], rule: JoinRule = DEFAULT_RULE
) -> float | None:
    """How likely two reports are of one event; None when their days are too far apart to be."""
    gap = day_gap(a.day, b.day)
    if gap is not None and gap > rule.gap_days:
        return None
    score = 0.0
    if a.vector is not None and b.vector is not None and a.vector.shape == b.vector.shape:
        score += float(a.vector @ b.vector)
    score += rule.term_weight * _weighted_jaccard(a.terms, b.terms, idf, _term_token)
    shared_entities = {e for e, c in a.entities.items() if c > 0} & {
        e for e, c in b.entities.items() if c > 0
    }
    score += rule.entity_weight * min(1.0, sum(idf.get(_entity_token(e), 0.0) for e in shared_entities))
    score += rule.figure_weight * min(1.0, sum(idf.get(_figure_token(f), 0.0) for f in a.figures & b.figures))
    if gap is not None and gap <= rule.near_days:
        score += rule.near_bonus
    return score


def _weighted_jaccard(
    a: frozenset[str], b: frozenset[str], idf: Mapping[str, float], token: Callable[[str], str]
) -> float:
    if not a or not b:
        return 0.0
    shared = sum(idf.get(token(t), 0.0) for t in a & b)
    union = sum(idf.get(token(t), 0.0) for t in a | b)
    return shared / union if union > 0 else 0.0


def cluster_score(
    features: Features, cluster: Cluster, idf: Mapping[str, float], rule: JoinRule = DEFAULT_RULE
) -> float | None:
    """The mean of the article's best `rule.best_pairs` pair scores with the story's members."""
    scores = [s for m in cluster.members if (s := pair_score(features, m, idf, rule)) is not None]
    if not scores:
        return None
    # A big story needs more than two close members: a share of them (otherwise it chains).
    best = sorted(scores, reverse=True)[: max(rule.best_pairs, math.ceil(rule.best_share * len(scores)))]
    return sum(best) / len(best)


def link_score(
    a: Cluster, b: Cluster, idf: Mapping[str, float], rule: JoinRule = DEFAULT_RULE
) -> float | None:
    """How surely two stories are one: the mean, over the smaller story's reports, of each one's
    `cluster_score` with the larger story (would its reports, on average, join it?).

    None when any of them may not join the other at all (too far apart in time). Taking every
    report's score, not the best few cross pairs, keeps two big stories from merging on one close pair.
    """
    small, large = (a, b) if len(a.members) <= len(b.members) else (b, a)
    scores = []
    for member in small.members:
        score = cluster_score(member, large, idf, rule)
        if score is None:
            return None
        scores.append(score)
    return sum(scores) / len(scores) if scores else None


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


def _documents(features: Features) -> set[str]:
    return features.tokens() | {_term_token(t) for t in features.terms}


def _order(features: Features) -> tuple[int, date, datetime, int]:
    # Dated reports first, by day; undated ones last, once the stories they may join exist.
    return (features.day is None, features.day or date.max, features.when, features.article_id)


def assign(
    pending: Sequence[Features],
    clusters: list[Cluster],
    *,
    rule: JoinRule = DEFAULT_RULE,
    common: Iterable[str] = (),
    common_terms: Iterable[str] = (),
) -> list[Cluster]:
    """Place each pending article in the best story it may join, or a new one; then merge stories that are one.

    `clusters` is changed in place: extended with the new clusters, and merged clusters removed. The
    touched clusters are returned (a merged stored story is listed in its survivor's `absorbed`).
    """
    members = [m for c in clusters for m in c.members]
    idf = rarity([_documents(f) for f in [*pending, *members]], common=common, common_terms=common_terms)
    dim = next((f.vector.shape[0] for f in pending if f.vector is not None), 0)
    threshold = rule.join if dim else rule.join_without_vectors
    index = _Index(clusters, idf, dim)
    touched: dict[int, Cluster] = {}
    for features in sorted(pending, key=_order):
        tokens = features.tokens()
        best, best_score = -1, -math.inf
        for i in index.candidates(features, tokens):
            if not in_window(features.day, clusters[i], rule):
                continue
            score = cluster_score(features, clusters[i], idf, rule)
            if score is not None and score >= threshold and score > best_score:
                best, best_score = i, score
        if best >= 0:
            clusters[best].add(features, best_score)
        else:
            clusters.append(Cluster.start(features))
            best = len(clusters) - 1
        index.update(best, clusters[best], tokens)
        touched[id(clusters[best])] = clusters[best]
    merged = _merge(
        clusters, list(touched.values()), idf, rule, rule.merge if dim else rule.join_without_vectors
    )
    kept = {id(c) for c in merged} | set(touched)
    return [c for c in clusters if id(c) in kept]


def _merge(
    clusters: list[Cluster],
    touched: list[Cluster],
    idf: Mapping[str, float],
    rule: JoinRule,
    threshold: float,
) -> list[Cluster]:
    """Merge each touched story into the story it is one with (average link at or above `threshold`)."""
    survivors: list[Cluster] = []
    queue = list(touched)
    while queue:
        cluster = queue.pop()
        if not any(c is cluster for c in clusters):
            continue
        best, best_score = None, -math.inf
        for other in clusters:
            if other is cluster or not _may_merge(cluster, other, rule):
                continue
            score = link_score(cluster, other, idf, rule)
            if score is not None and score >= threshold and score > best_score:
                best, best_score = other, score
        if best is None:
            continue
        keep, gone = (best, cluster) if _older(best, cluster) else (cluster, best)
        keep.absorb(gone)
        clusters[:] = [c for c in clusters if c is not gone]
        survivors = [c for c in survivors if c is not gone] + [keep]
        queue.append(keep)
    return survivors


def _may_merge(a: Cluster, b: Cluster, rule: JoinRule) -> bool:
    days = a.days + b.days
    return not days or (max(days) - min(days)).days <= rule.span_days


def _older(a: Cluster, b: Cluster) -> bool:
    """Whether `a` should survive a merge with `b`: a stored story before a new one, the older first."""
    if (a.story_id is None) != (b.story_id is None):
        return a.story_id is not None
    return (a.story_id or 0) < (b.story_id or 0) if a.story_id else len(a.members) >= len(b.members)


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
    lead = article.text[:TERM_CHARS]
    published = article.published_at
    # No publication date: a full date written in the lead («12 يوليو 2025») still places the report.
    day = published.date() if published else event_date(article.title, lead, None)
    return Features(
        article.id,
        article.when,
        vector,
        counts,
        figures,
        article.title,
        dated=published is not None,
        day=day,
        terms=frozenset(stem_terms(f"{article.title}\n{lead}", article.lang)),
    )


_FEATURES_CACHE: OrderedDict[tuple[int, str, int, int], Features] = OrderedDict()
FEATURES_CACHE_SIZE = 20_000


def _member_features(article: Article, thread: ThreadDef, entities: EntityCounter, dim: int) -> Features:
    """A stored member's features, kept between passes: open stories are re-read after every ingestion."""
    # The thread's entities are part of the key: `threads add` may redefine a thread under the same id.
    key = (article.id, thread.id, hash(frozenset(e.id for g in thread.groups for e in g.entities)), dim)
    found = _FEATURES_CACHE.get(key)
    if found is None or (dim and found.vector is None and article.embedding):
        found = article_features(article, thread, entities, dim)
        _FEATURES_CACHE[key] = found
        if len(_FEATURES_CACHE) > FEATURES_CACHE_SIZE:
            _FEATURES_CACHE.popitem(last=False)
    return found


def _story_clusters(
    session: Session, stories: Sequence[Story], thread: ThreadDef, entities: EntityCounter, embedder: Embedder
) -> list[Cluster]:
    """The stored stories as clusters: their original members' features, and all members counted."""
    if not stories:
        return []
    rows = session.execute(
        select(StoryArticle.story_id, Article)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id.in_([s.id for s in stories]), StoryArticle.thread_id == thread.id)
    ).all()
    by_story: dict[int, list[Article]] = {}
    for story_id, article in rows:
        by_story.setdefault(story_id, []).append(article)
    originals = [a for members in by_story.values() for a in members if a.duplicate_of is None]
    ensure_embeddings(session, originals, embedder)
    clusters = []
    for story in stories:
        members = by_story.get(story.id, [])
        cluster = Cluster(story.id, None, Counter(), Counter(), None, None, title=story.title)
        for article in sorted(members, key=lambda a: (a.when, a.id)):
            if article.duplicate_of is None:
                cluster._take(_member_features(article, thread, entities, embedder.dim))
        cluster.member_count = len(members)
        cluster.founding = cluster.members[0].figures if cluster.members else frozenset()
        clusters.append(cluster)
    return clusters


def open_stories(
    session: Session, thread_id: str, *, now: datetime, open_days: int = OPEN_DAYS, undated: bool = False
) -> list[Story]:
    """Stories of the thread with a report or a new member in the last `open_days` days.

    With `undated` articles to place (no date known, so any story may be theirs), the most recently
    updated `UNDATED_STORIES` stories are open too.
    """
    cutoff = now - timedelta(days=open_days)
    query = select(Story).where(
        Story.thread_id == thread_id, or_(Story.last_report_at >= cutoff, Story.updated_at >= cutoff)
    )
    found = {s.id: s for s in session.scalars(query)}
    if undated:
        recent = (
            select(Story)
            .where(Story.thread_id == thread_id)
            .order_by(Story.updated_at.desc(), Story.id.desc())
            .limit(UNDATED_STORIES)
        )
        found |= {s.id: s for s in session.scalars(recent)}
    return [found[i] for i in sorted(found)]


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


def cluster_pending(ctx: Context) -> list[int]:
    """Place every article not yet in a story of each of its threads; the ids of the stories touched.

    Called on the write path, after each ingestion (and after threads are added): reading a brief or
    listing stories never clusters.
    """
    classifier = ctx.classifier()
    embedder = ctx.embedder()
    touched: list[int] = []
    for thread in classifier.threads:
        with ctx.db.session() as session:
            touched += cluster_thread(
                session, thread, entities=classifier.entities_in, embedder=embedder, now=ctx.now()
            )
    ctx.metrics.stories_built.inc(len(set(touched)))
    return touched


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
        features = [article_features(a, thread, entities, dim) for a in pending]
        undated = any(f.day is None for f in features)
        stories = open_stories(session, thread.id, now=now, open_days=open_days, undated=undated)
        clusters = _story_clusters(session, stories, thread, entities, embedder)
        background = [e for group in thread.groups for e in group.entities if e.common]
        words = {
            t for e in background for name in (e.name_en, e.name_ar, *e.aliases) for t in stem_terms(name)
        }
        for cluster in assign(
            features, clusters, rule=rule, common={e.id for e in background}, common_terms=words
        ):
            touched_ids.add(_save_cluster(session, thread.id, cluster, now))
    touched_ids |= _attach_duplicates(session, thread.id, now)
    return sorted(touched_ids)


def _save_cluster(session: Session, thread_id: str, cluster: Cluster, now: datetime) -> int:
    story = session.get(Story, cluster.story_id) if cluster.story_id else None
    if story is None:
        story = Story(thread_id=thread_id, created_at=now, title=cluster.title)
        session.add(story)
        session.flush()
    for gone in cluster.absorbed:  # stories found to be this one: their members move here
        session.execute(
            update(StoryArticle)
            .where(StoryArticle.story_id == gone, StoryArticle.thread_id == thread_id)
            .values(story_id=story.id, joined_at=now)
        )
        session.execute(delete(Summary).where(Summary.story_id == gone))
        session.execute(delete(Story).where(Story.id == gone))
    centroid = cluster.centroid
    story.centroid = to_blob(centroid) if centroid is not None else None
    story.entities = dict(cluster.entities)  # entity id -> members naming it
    # A figure given once, by a report other than the first, is noise until another report repeats it.
    story.figures = sorted(cluster.characteristic_figures())
    # Only publication dates make a story's span: an undated report says nothing of when it was made.
    story.first_report_at, story.last_report_at = cluster.first, cluster.last
    story.member_count = cluster.member_count
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
            if article.published_at is not None:
                story.last_report_at = max(filter(None, [story.last_report_at, article.published_at]))
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
