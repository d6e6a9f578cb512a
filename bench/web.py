"""The web pages under load: brief pages, story pages and Atom feeds on a 100,000-passage archive.

Run: python bench/web.py [--passages 100000] [--readers 20] [--requests 2000]

The archive is synthetic (speed only): 20,000 articles of five passages each, in stories of ten across
both threads, each story summarized in Arabic and English, and 200 stored briefs; it is written with
bulk inserts, so generating it takes seconds. `newsbrief run`'s web app then serves it from a process of
its own (uvicorn, one worker), and `--readers` concurrent clients ask for a mix of pages: a brief, an
Arabic or English story, an Atom feed, and /healthz as a baseline measured in the same run (the
server's floor: one SELECT 1). Prints p50/p95 per kind of page (target p95 <= 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bot.app import build_context  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from storage.models import Article, ArticleThread, Brief, Passage, Story, StoryArticle, Summary  # noqa: E402

PASSAGES_PER_ARTICLE = 5
STORY_SIZE = 10
BRIEFS = 200
WORDS_AR = [
    "روسيا",
    "كوريا",
    "الشمالية",
    "شويغو",
    "بيونغ",
    "يانغ",
    "موسكو",
    "تعاون",
    "عسكري",
    "اتفاق",
    "زيارة",
    "محادثات",
    "وزير",
    "الخارجية",
]
WORDS_EN = [
    "Russia",
    "North",
    "Korea",
    "Shoigu",
    "Pyongyang",
    "Moscow",
    "military",
    "cooperation",
    "deal",
    "visit",
    "talks",
    "minister",
]


def sentence(rng: random.Random, words: list[str], n: int = 14) -> str:
    return " ".join(rng.choice(words) for _ in range(n)) + "."


def generate(ctx: Context, passages: int) -> dict[str, list[int]]:
    """The synthetic archive; the ids the readers ask for."""
    rng = random.Random(7)
    articles = passages // PASSAGES_PER_ARTICLE
    now = datetime.now(UTC)
    threads = ["russia-dprk", "saudi-russia"]
    with ctx.db.session() as session:
        story_rows = [
            {"thread_id": threads[s % 2], "created_at": now, "updated_at": now - timedelta(minutes=s),
             "first_report_at": now - timedelta(hours=s % 48), "last_report_at": now - timedelta(minutes=s),
             "entities": {}, "figures": [], "title": sentence(rng, WORDS_EN, 8), "member_count": STORY_SIZE}
            for s in range(articles // STORY_SIZE)
        ]  # fmt: skip
        session.execute(insert(Story), story_rows)
        story_ids = list(session.scalars(select(Story.id).order_by(Story.id)))
        article_rows = []
        for n in range(articles):
            lang = "ar" if n % 2 else "en"
            words = WORDS_AR if lang == "ar" else WORDS_EN
            article_rows.append(
                {"title": sentence(rng, words, 9), "text": " ".join(sentence(rng, words) for _ in range(10)),
                 "lang": lang, "outlet": f"outlet{n % 40}", "url": f"https://outlet{n % 40}.example/{n}",
                 "published_at": now, "fetched_at": now, "content_hash": f"{n:064d}", "cleaning": {}}
            )  # fmt: skip
        session.execute(insert(Article), article_rows)
        article_ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        links, members = [], []
        for n, article_id in enumerate(article_ids):
            story_id = story_ids[n // STORY_SIZE]
            thread = threads[(n // STORY_SIZE) % 2]
            links.append({"article_id": article_id, "thread_id": thread, "score": 1.0, "evidence": []})
            members.append({"story_id": story_id, "article_id": article_id, "thread_id": thread,
                            "similarity": 1.0, "joined_at": now})  # fmt: skip
        session.execute(insert(ArticleThread), links)
        session.execute(insert(StoryArticle), members)
        passage_rows = [
            {
                "article_id": a,
                "ord": k,
                "text": sentence(rng, WORDS_EN),
                "lang": "en",
                "terms": "russia korea",
            }
            for a in article_ids
            for k in range(PASSAGES_PER_ARTICLE)
        ]
        for start in range(0, len(passage_rows), 20_000):
            session.execute(insert(Passage), passage_rows[start : start + 20_000])
        summaries = []
        for i, story_id in enumerate(story_ids):
            first = article_ids[i * STORY_SIZE]
            for lang, words in (("ar", WORDS_AR), ("en", WORDS_EN)):
                payload = {"lang": lang, "headline": sentence(rng, words, 10), "method": "offline", "note": "",
                           "bullets": [{"text": sentence(rng, words, 25), "cites": [first + k]} for k in range(3)]}  # fmt: skip
                summaries.append({"story_id": story_id, "lang": lang, "members_key": "k", "model": "offline",
                                  "prompt_version": "1", "method": "offline", "payload": payload, "created_at": now})  # fmt: skip
        session.execute(insert(Summary), summaries)
    brief_ids = make_briefs(ctx, story_ids, BRIEFS)
    return {"briefs": brief_ids, "stories": story_ids}


def make_briefs(ctx: Context, story_ids: list[int], count: int) -> list[int]:
    """Stored briefs of 20 stories each, in the payload format the pages read."""
    from bot.reader.web import story_payloads

    with ctx.db.session() as session:
        stories = list(session.scalars(select(Story).where(Story.id.in_(story_ids[:400])).order_by(Story.id)))
        by_lang = {lang: story_payloads(session, stories, lang) for lang in ("ar", "en")}
        rows = []
        for n in range(count):
            lang = ("ar", "en")[n % 2]
            chosen = [by_lang[lang][stories[(n * 20 + k) % len(stories)].id] for k in range(20)]
            payload = {"format": 1, "thread": {"id": "russia-dprk", "name": "Russia–DPRK"}, "lang": lang,
                       "as_of": datetime.now(UTC).isoformat(), "since": None, "title": f"Brief {n}",
                       "stories": chosen, "empty": False, "message": ""}  # fmt: skip
            rows.append({"thread_id": "russia-dprk", "lang": lang, "since": None, "as_of": datetime.now(UTC),
                         "created_at": datetime.now(UTC), "story_count": 20, "payload": payload})  # fmt: skip
        session.execute(insert(Brief), rows)
        return list(session.scalars(select(Brief.id).order_by(Brief.id)))


def serve(url: str, port: int) -> None:
    import uvicorn

    from bot.runtime.web import create_web_app

    settings = Settings(_env_file=None, database_url=url, embedder="none")
    ctx = build_context(settings, migrate=False, seed=False)
    uvicorn.run(create_web_app(ctx), host="127.0.0.1", port=port, log_level="warning", backlog=4096,
                timeout_keep_alive=60)  # fmt: skip


async def load(base: str, ids: dict[str, list[int]], readers: int, requests: int) -> dict[str, list[float]]:
    rng = random.Random(11)
    kinds = ["brief", "story-ar", "story-en", "feed", "healthz"]
    plan = [rng.choice(kinds) for _ in range(requests)]
    timings: dict[str, list[float]] = {k: [] for k in kinds}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in plan:
        queue.put_nowait(kind)

    def path(kind: str) -> str:
        if kind == "healthz":  # the baseline: the same server answering one SELECT 1
            return "/healthz"
        if kind == "brief":
            return f"/briefs/{rng.choice(ids['briefs'])}"
        if kind == "feed":
            return f"/feeds/{rng.choice(['russia-dprk', 'saudi-russia'])}.{rng.choice(['ar', 'en'])}.atom"
        return f"/stories/{rng.choice(ids['stories'])}.{kind[-2:]}"

    async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=readers)) as client:

        async def reader() -> None:
            while not queue.empty():
                kind = queue.get_nowait()
                started = time.perf_counter()
                address = path(kind)
                try:
                    response = await client.get(address)
                except httpx.TransportError:  # a kept-alive connection closed under us: once more, timed
                    response = await client.get(address)
                timings[kind].append(time.perf_counter() - started)
                assert response.status_code == 200, (kind, response.status_code)

        for warm in kinds:  # templates compiled, connections open
            await client.get(path(warm))
        await asyncio.gather(*(reader() for _ in range(readers)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder), embedder="none")
        ctx = build_context(settings)
        started = time.perf_counter()
        ids = generate(ctx, args.passages)
        print(f"archive: {args.passages} passages, {len(ids['stories'])} stories, {len(ids['briefs'])} briefs, "
              f"generated in {time.perf_counter() - started:.1f} s")  # fmt: skip
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = multiprocessing.Process(
            target=serve, args=(settings.effective_database_url, port), daemon=True
        )
        server.start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        try:
            timings = asyncio.run(load(base, ids, args.readers, args.requests))
        finally:
            server.terminate()
            ctx.db.dispose()
        everything = sorted(t for kind, values in timings.items() if kind != "healthz" for t in values)
        for kind, values in [*timings.items(), ("all pages", everything)]:
            values = sorted(values)
            p95 = values[max(0, round(0.95 * len(values)) - 1)]
            print(f"{kind:9} {len(values):5} pages: p50 {statistics.median(values) * 1000:6.1f} ms, "
                  f"p95 {p95 * 1000:6.1f} ms (target p95 <= 50 ms), {args.readers} concurrent readers")  # fmt: skip


if __name__ == "__main__":
    main()
