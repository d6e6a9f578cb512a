"""Stories: incremental, cross-language clustering within a thread, and the seeds' expected stories."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.embed import LocalEmbedder
from bot.stories.cluster import (
    DEFAULT_RULE,
    Cluster,
    Features,
    assign,
    cluster_score,
    cluster_thread,
    pair_score,
    story_members,
)
from bot.threads.classify import ThreadClassifier, ThreadDef, load_threads
from storage.db import Database
from storage.models import Article, ArticleThread, Story, StoryArticle, Thread

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
THREADS = {t.id: t for t in load_threads(SEEDS / "threads.toml")}
CLASSIFIER = ThreadClassifier(THREADS.values())
NOW = datetime(2025, 7, 14, 9, 0, tzinfo=UTC)

LAVROV_AR = (
    "لافروف يلتقي كيم جونغ أون في وونسان",
    "التقى وزير الخارجية الروسي سيرغي لافروف الزعيم الكوري الشمالي كيم جونغ أون في وونسان يوم 12 يوليو 2025، "
    "وبحث الجانبان تعزيز الشراكة الاستراتيجية بين موسكو وبيونغ يانغ.",
)
LAVROV_EN = (
    "Lavrov meets Kim Jong Un in Wonsan",
    "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Wonsan on July 12, 2025, "
    "and the two sides discussed deepening the strategic partnership between Moscow and Pyongyang.",
)
SHOIGU_AR = (
    "كوريا الشمالية تتعهد تعميق الروابط مع روسيا خلال زيارة شويغو",
    "تعهد الزعيم الكوري الشمالي كيم جونغ أون تعميق العلاقات مع روسيا خلال محادثات أجراها مع أمين مجلس الأمن "
    "الروسي سيرغي شويغو في بيونغ يانغ، في إطار الحرب المستمرة منذ أكثر من 30 شهرا في أوكرانيا.",
)


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def database(sqlite_db: Database) -> Iterator[Database]:
    with sqlite_db.session() as session:
        for thread in THREADS.values():
            session.add(
                Thread(
                    id=thread.id, name_en=thread.name_en, name_ar=thread.name_ar, definition=thread.to_dict()
                )
            )
    yield sqlite_db


def add_article(
    db: Database,
    title: str,
    text: str,
    *,
    lang: str = "ar",
    when: datetime = NOW,
    threads: tuple[str, ...] = ("russia-dprk",),
    duplicate_of: int | None = None,
    outlet: str = "",
) -> int:
    with db.session() as session:
        article = Article(
            title=title,
            text=text,
            lang=lang,
            outlet=outlet,
            published_at=when,
            fetched_at=when,
            content_hash=hashlib.sha256(f"{title}{text}{outlet}".encode()).hexdigest(),
            duplicate_of=duplicate_of,
        )
        session.add(article)
        session.flush()
        if duplicate_of is None:
            session.add_all(ArticleThread(article_id=article.id, thread_id=t, score=1.0) for t in threads)
        return article.id


def run(db: Database, embedder: LocalEmbedder, thread: str = "russia-dprk", now: datetime = NOW) -> list[int]:
    with db.session() as session:
        return cluster_thread(
            session, THREADS[thread], entities=CLASSIFIER.entities_in, embedder=embedder, now=now
        )


def groups(db: Database, thread: str = "russia-dprk") -> list[set[int]]:
    with db.session() as session:
        rows = session.execute(
            select(StoryArticle.story_id, StoryArticle.article_id).where(StoryArticle.thread_id == thread)
        ).all()
    found: dict[int, set[int]] = {}
    for story_id, article_id in rows:
        found.setdefault(story_id, set()).add(article_id)
    return sorted(found.values(), key=min)


def test_an_arabic_and_an_english_report_of_one_meeting_join_one_story(database: Database, embedder) -> None:
    ar = add_article(database, *LAVROV_AR)
    en = add_article(database, *LAVROV_EN, lang="en", when=NOW + timedelta(hours=5))
    shoigu = add_article(database, *SHOIGU_AR)
    run(database, embedder)
    assert groups(database) == [{ar, en}, {shoigu}]


def test_equal_times_do_not_glue_different_events(database: Database, embedder) -> None:
    lavrov = add_article(database, *LAVROV_AR, when=NOW)
    shoigu = add_article(database, *SHOIGU_AR, when=NOW)
    run(database, embedder)
    assert groups(database) == [{lavrov}, {shoigu}]


def test_clustering_is_incremental_and_new_reports_join_open_stories(database: Database, embedder) -> None:
    first = add_article(database, *LAVROV_AR)
    assert len(run(database, embedder)) == 1
    with database.session() as session:
        stamp = session.scalars(select(StoryArticle.joined_at)).one()
    later = add_article(database, *LAVROV_EN, lang="en", when=NOW + timedelta(days=1))
    touched = run(database, embedder, now=NOW + timedelta(days=1))
    assert groups(database) == [{first, later}]
    assert len(touched) == 1
    with database.session() as session:
        # the first member was not re-clustered: its row is the one written by the first run
        joined = session.scalars(select(StoryArticle.joined_at).where(StoryArticle.article_id == first)).one()
        story = session.get(Story, touched[0])
        assert story is not None and story.member_count == 2
    assert joined == stamp
    assert run(database, embedder, now=NOW + timedelta(days=1)) == []


def test_a_story_closed_for_longer_than_the_window_is_not_reopened(database: Database, embedder) -> None:
    first = add_article(database, *LAVROV_AR)
    run(database, embedder)
    later = add_article(database, *LAVROV_AR[:1], LAVROV_AR[1] + " ", when=NOW + timedelta(days=30))
    run(database, embedder, now=NOW + timedelta(days=30))
    assert groups(database) == [{first}, {later}]


def test_a_duplicate_joins_its_originals_story_as_another_outlet(database: Database, embedder) -> None:
    original = add_article(database, *LAVROV_AR, outlet="Outlet A")
    copy = add_article(database, *LAVROV_AR, outlet="Outlet B", duplicate_of=original)
    run(database, embedder)
    assert groups(database) == [{original, copy}]
    with database.session() as session:
        story_id = session.scalars(select(StoryArticle.story_id)).first()
        assert story_id is not None
        assert {a.outlet for a in story_members(session, story_id)} == {"Outlet A", "Outlet B"}


def test_stories_are_per_thread(database: Database, embedder) -> None:
    both = add_article(database, *LAVROV_AR, threads=("russia-dprk", "saudi-russia"))
    run(database, embedder, "russia-dprk")
    run(database, embedder, "saudi-russia")
    assert groups(database, "russia-dprk") == [{both}]
    assert groups(database, "saudi-russia") == [{both}]


def test_a_story_knows_its_span_entities_and_figures(database: Database, embedder) -> None:
    add_article(database, *LAVROV_AR, when=NOW)
    add_article(database, *LAVROV_EN, lang="en", when=NOW + timedelta(hours=6))
    (story_id,) = run(database, embedder)
    with database.session() as session:
        story = session.get(Story, story_id)
        assert story is not None
        assert story.first_report_at == NOW and story.last_report_at == NOW + timedelta(hours=6)
        assert {"lavrov", "kim-jong-un", "wonsan"} <= set(story.entities)
        assert "2025-07-12" in story.figures
        assert story.centroid is not None


def _features(article_id: int, vector: list[float], entities: dict[str, int], when: datetime) -> Features:
    v = np.asarray(vector, dtype=np.float32)
    return Features(article_id, when, v / np.linalg.norm(v), entities, frozenset())


def test_assign_opens_a_cluster_below_the_threshold_and_joins_above_it() -> None:
    a = _features(1, [1, 0, 0], {"lavrov": 3, "russia": 2}, NOW)
    b = _features(2, [0.9, 0.1, 0], {"lavrov": 2, "russia": 1}, NOW)
    c = _features(3, [0, 0, 1], {"shoigu": 3, "russia": 2}, NOW)
    clusters: list[Cluster] = []
    assign([a, b, c], clusters)
    assert [[m.article_id for m in c.members] for c in clusters] == [[1, 2], [3]]


def test_seed_expectations_hold_for_a_thread_def_built_from_data() -> None:
    # Threads are data: the clustering reads entity ids from the definition, not from code.
    thread = ThreadDef.from_dict(THREADS["russia-dprk"].to_dict())
    assert {e.id for g in thread.groups for e in g.entities} >= {"lavrov", "shoigu"}


# ---------------------------------------------------------------- the seeds, end to end


@pytest.fixture
async def seeded(settings: Settings):
    from bot.app import build_context
    from bot.runtime.ingest_cycle import ingest_due

    ctx = build_context(settings)
    await ingest_due(ctx, force=True)
    yield ctx
    ctx.db.dispose()


def _seed_number(article: Article) -> str:
    for path in sorted(SEEDS.glob("*.txt")):
        if article.title.strip() and article.title.strip()[:40] in path.read_text(encoding="utf-8"):
            return path.name[:3]
    raise AssertionError(f"article {article.id} matches no seed file")


async def test_the_seeds_cluster_into_the_expected_stories(seeded) -> None:
    from bot.stories.cluster import cluster_pending

    cluster_pending(seeded)
    with seeded.db.session() as session:
        found = {}
        for thread_id in ("russia-dprk", "saudi-russia"):
            stories = session.scalars(select(Story).where(Story.thread_id == thread_id)).all()
            found[thread_id] = sorted(
                sorted(_seed_number(a) for a in story_members(session, s.id)) for s in stories
            )
    assert found["russia-dprk"] == [["000", "001", "003", "004"], ["002"]]
    assert found["saudi-russia"] == [["000"]]


# ---------------------------------------------------------------- anti-chaining

BACKGROUND_AR = "ويأتي ذلك في ظل تعميق العلاقات بين روسيا وكوريا الشمالية منذ قمة الرئيس بوتين وكيم جونغ أون."
BACKGROUND_EN = (
    "It comes as ties between Russia and North Korea deepen since the summit of Putin and Kim Jong Un."
)
# Three events of one week, each reported twice in Arabic, and a later English report of the second.
EVENTS_AR = [
    (
        ("شويغو يبحث في بيونغ يانغ إرسال قذائف المدفعية", "شويغو في بيونغ يانغ لبحث صفقة قذائف المدفعية"),
        "بحث أمين مجلس الأمن الروسي سيرغي شويغو في بيونغ يانغ يوم 3 يونيو شحن 12 ألف قذيفة مدفعية.",
    ),
    (
        ("لافروف يفتتح في وونسان خطا سياحيا جديدا", "افتتاح خط سياحي بين موسكو ووونسان بحضور لافروف"),
        "افتتح وزير الخارجية الروسي سيرغي لافروف في وونسان يوم 4 يونيو خطا سياحيا ينقل 850 سائحا أسبوعيا.",
    ),
    (
        ("بيلوسوف يناقش في كورسك إزالة الألغام", "خبراء كوريون شماليون لإزالة الألغام في كورسك"),
        "ناقش وزير الدفاع الروسي أندريه بيلوسوف في كورسك يوم 5 يونيو إرسال 400 خبير لإزالة الألغام.",
    ),
]
WONSAN_EN = (
    "Lavrov opens a new tourist route to Wonsan",
    "Russian Foreign Minister Sergei Lavrov opened a tourist route in Wonsan on June 4 that will carry 850 "
    "tourists a week. " + BACKGROUND_EN,
)


@pytest.mark.xfail(
    reason="known gap (issue 11): with the thresholds tuned on the real dev set, two synthetic events a day "
    "apart that share a whole background sentence and a figure-rich lead are joined; the real set has few such pairs",
    strict=True,
)
def test_distinct_events_naming_the_same_leaders_stay_apart_and_a_translation_joins_its_event(
    database: Database, embedder
) -> None:
    start = datetime(2025, 6, 3, 8, tzinfo=UTC)
    expected: list[set[int]] = []
    for day, (titles, lead) in enumerate(EVENTS_AR):
        ids = set()
        for hour, title in enumerate(titles):
            when = start + timedelta(days=day, hours=3 * hour)
            ids.add(add_article(database, title, f"{lead} {BACKGROUND_AR}", when=when))
        expected.append(ids)
    expected[1].add(add_article(database, *WONSAN_EN, lang="en", when=start + timedelta(days=2)))
    run(database, embedder, now=start + timedelta(days=3))
    assert groups(database) == expected


def test_one_odd_member_cannot_draw_a_different_event_into_a_story() -> None:
    # A story of event A that took in one report close to event B: a report of B matches that one member
    # only, and the mean of its best two pair scores stays below the join threshold.
    a1 = _features(1, [1, 0, 0, 0], {"lavrov": 2}, NOW)
    a2 = _features(2, [1, 0.05, 0, 0], {"lavrov": 2}, NOW)
    odd = _features(3, [0.5, 0.5, 0, 0], {"shoigu": 2}, NOW)
    story = Cluster.start(a1)
    story.add(a2, 1.0)
    story.add(odd, 0.8)
    b = _features(4, [0, 1, 0, 0], {"shoigu": 2}, NOW)
    idf = {"e:lavrov": 1.0, "e:shoigu": 1.0}
    assert pair_score(b, odd, idf) is not None and pair_score(b, odd, idf) > DEFAULT_RULE.join  # type: ignore[operator]
    score = cluster_score(b, story, idf)
    assert score is not None and score < DEFAULT_RULE.join


def test_reports_more_than_the_gap_apart_are_never_one_event() -> None:
    a = _features(1, [1, 0, 0], {"lavrov": 2}, NOW)
    b = _features(2, [1, 0, 0], {"lavrov": 2}, NOW + timedelta(days=DEFAULT_RULE.gap_days + 1))
    assert pair_score(a, b, {}) is None
    undated = Features(3, NOW, a.vector, {"lavrov": 2}, frozenset(), dated=False)
    assert pair_score(undated, b, {}) is not None  # an unknown day rules nothing out


def test_stories_found_to_be_one_are_merged() -> None:
    first = Cluster.start(_features(1, [1, 0, 0], {"lavrov": 2}, NOW))
    second = Cluster.start(_features(2, [0.98, 0.2, 0], {"lavrov": 2}, NOW))
    clusters = [first, second]
    assign([_features(3, [0.99, 0.1, 0], {"lavrov": 2}, NOW)], clusters)
    assert len(clusters) == 1
    assert sorted(m.article_id for m in clusters[0].members) == [1, 2, 3]
