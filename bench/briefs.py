"""Stories and briefs, measured: clustering throughput, offline brief build time, LLM economy.

Run: /work/.venv/bin/python bench/briefs.py [--articles 10000] [--stories 50]
Runs on one core (BLAS and OpenMP at one thread, set before numpy loads). Prints:
1. clustering throughput, embedding included, on synthetic thread articles (target >= 150/s);
2. offline brief build time for a thread with N new stories (target <= 1 s);
3. LLM economy on the seeds against the OpenAI-compatible stand-in: calls per brief (<= 1 per new or
   changed story, covering both languages) and calls on a rebuild with nothing new (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.briefs.build import build_brief  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.embed import LocalEmbedder  # noqa: E402
from bot.stories.cluster import cluster_pending, cluster_thread  # noqa: E402
from bot.summarize.offline import OfflineSummarizer  # noqa: E402
from bot.threads.classify import ThreadClassifier, load_threads  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Article, ArticleThread, Story, StoryArticle, Thread  # noqa: E402

THREADS = load_threads(REPO / "seeds" / "threads.toml")
START = datetime(2025, 7, 1, tzinfo=UTC)

# The synthetic stream. Each event has its own actors (from the thread's small pool, as in real news), its own
# subject, place, date and figures; its reports, Arabic and English, spread over one to three days and word
# the event differently, and every report also mentions the thread's common names in passing.
RUSSIANS = [
    ("لافروف", "Lavrov"),
    ("شويغو", "Shoigu"),
    ("بيلوسوف", "Belousov"),
    ("بيسكوف", "Peskov"),
    ("دميترييف", "Dmitriev"),
    ("روساتوم", "Rosatom"),
]
KOREANS = [
    ("كيم جونغ أون", "Kim Jong Un"),
    ("تشوي سون هوي", "Choe Son Hui"),
    ("كيم يو جونغ", "Kim Yo Jong"),
    ("الجيش الشعبي الكوري", "the Korean People's Army"),
]
PLACES = [
    ("وونسان", "Wonsan"),
    ("بيونغ يانغ", "Pyongyang"),
    ("موسكو", "Moscow"),
    ("كورسك", "Kursk"),
    ("فلاديفوستوك", "Vladivostok"),
    ("خاباروفسك", "Khabarovsk"),
    ("راسون", "Rason"),
    ("سانت بطرسبرغ", "Saint Petersburg"),
]
# Subject, and the unit its figure is counted in (Arabic, English).
TOPICS = [
    (
        "جسر بري جديد فوق نهر تومين",
        "a new road bridge over the Tumen river",
        "مليون دولار",
        "million dollars",
    ),
    ("رحلات جوية مباشرة بين العاصمتين", "direct flights between the capitals", "مسافر", "passengers"),
    ("شحنات القمح والدقيق", "wheat and flour shipments", "طن", "tonnes"),
    ("قذائف المدفعية", "artillery shells", "قذيفة", "shells"),
    ("تكنولوجيا الأقمار الصناعية", "satellite technology", "مليون دولار", "million dollars"),
    ("تبادل الطلاب والمنح الجامعية", "student exchanges and university grants", "طالب", "students"),
    ("السياحة في منتجع كالما", "tourism at the Kalma resort", "سائح", "tourists"),
    ("إرسال عمال البناء", "sending construction workers", "عامل", "workers"),
    ("خط السكك الحديدية وتحديث القاطرات", "the railway line and new locomotives", "كيلومتر", "kilometres"),
    ("إمدادات النفط والوقود", "oil and fuel supplies", "برميل", "barrels"),
    ("تدريبات بحرية مشتركة", "joint naval drills", "سفينة", "ships"),
    ("مستشفى ميداني ومعدات طبية", "a field hospital and medical equipment", "طبيب", "doctors"),
    ("إزالة الألغام في منطقة الحدود", "mine clearance in the border area", "لغم", "mines"),
    ("مهرجان ثقافي وعروض فنية", "a cultural festival and performances", "فنان", "artists"),
    ("اتفاق لصيد الأسماك", "a fishing agreement", "طن", "tonnes"),
    ("محطة كهرباء تعمل بالفحم", "a coal power plant", "ميغاواط", "megawatts"),
    ("الجنود الجرحى وإعادة الجثامين", "wounded soldiers and repatriated remains", "جندي", "soldiers"),
    ("عقوبات الأمم المتحدة", "United Nations sanctions", "شركة", "companies"),
    ("التبادل التجاري بالروبل", "trade settled in rubles", "مليون روبل", "million rubles"),
    ("مباراة ودية لكرة القدم", "a friendly football match", "متفرج", "spectators"),
]
FILLER_AR = [
    "وتأتي الخطوة في إطار تعميق العلاقات بين روسيا وكوريا الشمالية منذ قمة بوتين وكيم جونغ أون.",
    "وكان الرئيس فلاديمير بوتين قد وقع مع بيونغ يانغ معاهدة شراكة استراتيجية شاملة.",
    "وتتهم دول غربية كوريا الشمالية بدعم روسيا في حربها على أوكرانيا.",
    "وقالت وسائل إعلام رسمية في روسيا إن المحادثات جرت في أجواء ودية.",
    "ولم تصدر تفاصيل إضافية، فيما رحب الكرملين بتطور العلاقات مع كوريا الشمالية.",
]
FILLER_EN = [
    "The step is part of deepening ties between Russia and North Korea since the Putin-Kim summit.",
    "President Vladimir Putin signed a comprehensive strategic partnership treaty with North Korea.",
    "Western governments accuse North Korea of supporting Russia's war in Ukraine.",
    "Russian state media said the talks were held in a friendly atmosphere.",
    "No further details were released; the Kremlin welcomed the growth of ties with North Korea.",
]
AR_MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
EVENT_DAYS = 90


def _event(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "russian": rng.choice(RUSSIANS),
        "korean": rng.choice(KOREANS),
        "place": rng.choice(PLACES),
        "topic": rng.choice(TOPICS),
        "amount": rng.randint(11, 989) * rng.choice((10, 100)),
        "count": rng.randint(3, 97),
        "when": START + timedelta(days=rng.uniform(0, EVENT_DAYS)),
        "spread_days": rng.uniform(1, 3),
        "index": index,
    }


def _arabic(rng: random.Random, event: dict[str, Any]) -> tuple[str, str]:
    r, k, p, t = event["russian"][0], event["korean"][0], event["place"][0], event["topic"]
    day = event["when"]
    date = f"{day.day} {AR_MONTHS[day.month - 1]}"
    amount, count = f"{event['amount']} {t[2]}", f"{event['count']} اتفاقية"
    title = rng.choice(
        [f"{r} و{k} يبحثان {t[0]} في {p}", f"محادثات في {p} حول {t[0]}", f"{t[0]}: {r} يلتقي {k}"]
    )
    facts = [
        f"بحث {r} مع {k} في {p} يوم {date} ملف {t[0]}.",
        f"وتشمل الخطة {amount} بحسب مصادر رسمية.",
        f"وأعلن الجانبان توقيع {count} في ختام اللقاء.",
    ]
    lead = " ".join(facts[:1] + [f for f in facts[1:] if rng.random() < 0.75])
    return title, f"{lead}\n\n{' '.join(rng.sample(FILLER_AR, 2))}"


def _english(rng: random.Random, event: dict[str, Any]) -> tuple[str, str]:
    r, k, p, t = event["russian"][1], event["korean"][1], event["place"][1], event["topic"]
    day = event["when"]
    date = f"{EN_MONTHS[day.month - 1]} {day.day}"
    amount, count = f"{event['amount']} {t[3]}", f"{event['count']} agreements"
    title = rng.choice(
        [f"{r} and {k} discuss {t[1]} in {p}", f"Talks in {p} on {t[1]}", f"{r} meets {k} over {t[1]}"]
    )
    facts = [
        f"{r} and {k} discussed {t[1]} in {p} on {date}.",
        f"The plan covers {amount}, according to official sources.",
        f"The two sides signed {count} at the end of the meeting.",
    ]
    lead = " ".join(facts[:1] + [f for f in facts[1:] if rng.random() < 0.75])
    return title, f"{lead}\n\n{' '.join(rng.sample(FILLER_EN, 2))}"


def _article(rng: random.Random, event: dict[str, Any]) -> tuple[str, str, str, datetime]:
    when = event["when"] + timedelta(days=rng.uniform(0, event["spread_days"]))
    if rng.random() < 0.6:
        return (*_arabic(rng, event), "ar", when)
    return (*_english(rng, event), "en", when)


def _database(folder: Path) -> Database:
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    db.upgrade()
    with db.session() as session:
        for t in THREADS:
            session.add(Thread(id=t.id, name_en=t.name_en, name_ar=t.name_ar, definition=t.to_dict()))
    return db


def _insert(db: Database, rows: list[tuple[str, str, str, datetime]]) -> None:
    with db.session() as session:
        for title, text, lang, when in rows:
            article = Article(
                title=title,
                text=text,
                lang=lang,
                published_at=when,
                fetched_at=when,
                content_hash=hashlib.sha256(f"{title}{text}{when}".encode()).hexdigest(),
            )
            session.add(article)
            session.flush()
            session.add(ArticleThread(article_id=article.id, thread_id="russia-dprk", score=1.0))


def _scores(stories: list[list[int]], count: int) -> tuple[float, float, float]:
    """Purity, and B-cubed precision and recall (Bagga and Baldwin), of stories holding true event ids."""
    class_size: dict[int, int] = {}
    for story in stories:
        for event in story:
            class_size[event] = class_size.get(event, 0) + 1
    purity = precision = recall = 0.0
    for story in stories:
        for event, n in ((e, story.count(e)) for e in set(story)):
            precision += n * n / len(story)
            recall += n * n / class_size[event]
        purity += max(map(story.count, set(story)))
    return purity / count, precision / count, recall / count


def bench_clustering(count: int, folder: Path) -> None:
    rng = random.Random(7)
    events = [_event(rng, i) for i in range(max(1, count // 20))]
    labelled = [
        (_article(rng, event), event["index"]) for event in (rng.choice(events) for _ in range(count))
    ]
    # As deployed: articles arrive day by day and each day's are clustered incrementally.
    labelled.sort(key=lambda item: item[0][3])
    truth = [event for _, event in labelled]  # article ids are 1.. in insertion order
    days: dict[int, list[tuple[str, str, str, datetime]]] = {}
    for row, _ in labelled:
        days.setdefault((row[3] - START).days, []).append(row)
    db = _database(folder)
    embedder = LocalEmbedder()
    embedder.load()
    classifier = ThreadClassifier(THREADS)
    thread = next(t for t in THREADS if t.id == "russia-dprk")
    elapsed = 0.0
    for day in sorted(days):
        _insert(db, days[day])
        started = time.perf_counter()
        with db.session() as session:
            cluster_thread(
                session,
                thread,
                entities=classifier.entities_in,
                embedder=embedder,
                now=START + timedelta(days=day + 1),
            )
        elapsed += time.perf_counter() - started
    with db.session() as session:
        pairs = session.execute(select_members()).all()
    stories: dict[int, list[int]] = {}
    for story_id, article_id in pairs:
        stories.setdefault(story_id, []).append(truth[article_id - 1])
    purity, precision, recall = _scores(list(stories.values()), count)
    print(
        f"1. clustering: {count} articles in {elapsed:.1f} s = {count / elapsed:.0f} articles/s (target >= 150)"
    )
    print(
        f"   {len(stories)} stories for {len(events)} synthetic events ({len(stories) / len(events):.2f} per "
        f"event); purity {purity:.3f}, B-cubed precision {precision:.3f}, recall {recall:.3f} "
        "(clustered day by day)"
    )
    db.dispose()


def select_members() -> Any:
    from sqlalchemy import select

    return select(StoryArticle.story_id, StoryArticle.article_id)


def _seed_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        texts.append((lines[0], "\n\n".join(lines[1:40])))
    return texts


def bench_offline_brief(stories: int, folder: Path) -> None:
    seeds = _seed_texts()
    db = _database(folder)
    now = START + timedelta(days=1)
    rows = []
    for i in range(stories):
        for j in range(3):
            title, text = seeds[(i + j) % len(seeds)]
            rows.append((f"{title} ({i})", f"{text}\n\nتقرير رقم {i}-{j}.", "ar", now))
    _insert(db, rows)
    # One story per three articles, as clustering would make them; the brief is what is timed.
    with db.session() as session:
        for i in range(stories):
            story = Story(
                thread_id="russia-dprk", title=f"story {i}", first_report_at=now, last_report_at=now
            )
            session.add(story)
            session.flush()
            session.add_all(
                StoryArticle(
                    story_id=story.id, article_id=i * 3 + j + 1, thread_id="russia-dprk", joined_at=now
                )
                for j in range(3)
            )
            story.member_count = 3
    settings = Settings(_env_file=None, data_dir=folder, embedder="none")
    ctx = Context(settings=settings, db=db, clock=lambda: now)
    offline = OfflineSummarizer(entities=ctx.classifier().entities_in)
    started = time.perf_counter()
    built = build_brief(ctx, thread_id="russia-dprk", lang="ar", summarizer=offline, max_stories=stories)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    build_brief(ctx, thread_id="russia-dprk", lang="en", summarizer=offline, max_stories=stories)
    cached = time.perf_counter() - started
    print(
        f"2. offline brief: {len(built.payload['stories'])} new stories (3 seed-sized articles each) in "
        f"{elapsed:.2f} s (target <= 1 s); the other language from the cache in {cached:.2f} s"
    )
    db.dispose()


def _grounded(request: dict[str, Any]) -> str:
    user = request["messages"][-1]["content"]
    ids = re.findall(r'<article id="(\d+)">', user)
    cite = [int(ids[0])]
    return json.dumps(
        {
            "ar": {
                "headline": "محادثات بين البلدين",
                "bullets": [{"text": "بحث الجانبان العلاقات.", "cites": cite}],
            },
            "en": {
                "headline": "Talks between the two",
                "bullets": [{"text": "The sides discussed ties.", "cites": cite}],
            },
        },
        ensure_ascii=False,
    )


def bench_llm_economy(folder: Path) -> None:
    from bot.app import build_context
    from bot.runtime.ingest_cycle import ingest_due
    from tests.servers.openai_stub import start_stub

    stub, stop = start_stub()
    stub.responder = _grounded
    try:
        settings = Settings(
            _env_file=None,
            data_dir=folder / "llm",
            llm_base_url=stub.base_url + "/v1",
            llm_model="stub-model",
        )
        ctx = build_context(settings)
        asyncio.run(ingest_due(ctx, force=True))
        cluster_pending(ctx)
        lines = []
        for thread in ("russia-dprk", "saudi-russia"):
            for lang in ("ar", "en"):
                before = len(stub.chat_requests())
                built = build_brief(ctx, thread_id=thread, lang=lang)
                calls = len(stub.chat_requests()) - before
                lines.append(f"{thread}/{lang}: {len(built.payload['stories'])} stories, {calls} call(s)")
        first_round = len(stub.chat_requests())
        for thread in ("russia-dprk", "saudi-russia"):
            for lang in ("ar", "en"):
                build_brief(ctx, thread_id=thread, lang=lang)
        rebuild = len(stub.chat_requests()) - first_round
        print("3. LLM economy on the seeds (stand-in):")
        for line in lines:
            print(f"   {line}")
        print(
            f"   total {first_round} call(s) for 3 stories in 4 briefs; tokens {stub.prompt_tokens} prompt + "
            f"{stub.completion_tokens} completion (words); rebuild with nothing new: {rebuild} call(s)"
        )
        llm = ctx.llm()
        if llm is not None:
            llm.close()
        ctx.db.dispose()
    finally:
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--stories", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "c").mkdir()
        (folder / "b").mkdir()
        bench_clustering(args.articles, folder / "c")
        bench_offline_brief(args.stories, folder / "b")
        bench_llm_economy(folder)


if __name__ == "__main__":
    main()
