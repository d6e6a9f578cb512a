"""Ingestion benchmarks: the article pipeline, a refresh cycle with conditional GET, and page extraction.

Run: python bench/ingest.py [--articles 10000] [--feeds 1000]
The feed server runs in a separate process; this process is pinned to one core.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import SyntheticArticle, articles, rss


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(
    routes: dict[str, tuple[bytes, str | None]], ready: multiprocessing.Queue, stop: multiprocessing.Event
) -> None:
    from tests.servers.web import WebServer

    if hasattr(os, "sched_setaffinity"):  # the server must not share the measured core
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    server = WebServer().start()
    if isinstance(routes, int):
        routes = pipeline_routes(routes)
    for path, (body, etag) in routes.items():
        server.add(path, body, content_type="application/rss+xml; charset=utf-8", etag=etag)
    ready.put(server.base_url)
    stop.wait()
    server.stop()


class FeedServer:
    """A WebServer in a child process serving prepared routes."""

    def __init__(self, routes: dict[str, tuple[bytes, str | None]] | int) -> None:
        self.ready: multiprocessing.Queue = multiprocessing.Queue()
        self.stop = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=serve, args=(routes, self.ready, self.stop), daemon=True
        )

    def __enter__(self) -> str:
        self.process.start()
        return str(self.ready.get(timeout=60))

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.process.join(timeout=10)


def build_context(tmp: Path, **overrides):
    from bot.app import build_context as build
    from bot.config import Settings

    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        fetch_allowed_private_hosts=["127.0.0.1"],
        sources_file=tmp / "no-sources.toml",
        **({"embedder": "none"} | overrides),
    )
    (tmp / "no-sources.toml").write_text("", encoding="utf-8")
    return build(settings)


def add_feeds(ctx, urls: list[str]) -> None:
    from bot.ingest.catalog import add_source

    with ctx.db.session() as session:
        for url in urls:
            add_source(session, location=url, kind="feed", actor="bench")


PER_FEED = 100


def pipeline_routes(count: int) -> dict[str, tuple[bytes, str | None]]:
    """`count` articles in feeds of PER_FEED items (built in the server process)."""
    corpus = list(articles(count))
    feeds = [corpus[i : i + PER_FEED] for i in range(0, len(corpus), PER_FEED)]
    return {
        f"/feed/{n}.xml": (rss(items, base_url="http://127.0.0.1", title=f"Outlet {n}"), None)
        for n, items in enumerate(feeds)
    }


def pipeline_bench(count: int) -> None:
    from bot.qa.index import index_missing
    from bot.runtime.ingest_cycle import ingest_due

    feeds = (count + PER_FEED - 1) // PER_FEED
    with FeedServer(count) as base, tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp))
        add_feeds(ctx, [f"{base}/feed/{n}.xml" for n in range(feeds)])
        start = time.perf_counter()
        reports = asyncio.run(ingest_due(ctx, force=True, index_passages=False))
        elapsed = time.perf_counter() - start
        pipeline_rss = peak_rss_mb()
        start = time.perf_counter()
        with ctx.db.session() as session:
            passages = index_missing(session, ctx.embedder(), classifier=ctx.classifier())
        indexing = time.perf_counter() - start
    new = sum(len(r.new) for r in reports)
    dups = sum(r.duplicates for r in reports)
    errors = [r.error for r in reports if r.error]
    print(
        f"article pipeline (fetch, extract, clean, language, dedupe, threads, store): {count} articles from {feeds} feeds in {elapsed:.1f} s"
    )
    print(
        f"  {count / elapsed:.0f} articles/s (target >= 200); {new} new, {dups} near-duplicates linked, errors {len(errors)}"
    )
    print(f"  peak RSS {pipeline_rss:.0f} MB (target <= 300)")
    print(
        f"passage index for questions (run inline by `newsbrief ingest`, measured apart): {passages} passages of {new} articles in {indexing:.1f} s"
    )
    print(
        f"  {passages / indexing:.0f} passages/s, {new / indexing:.0f} articles/s; with it, ingestion runs at {count / (elapsed + indexing):.0f} articles/s; peak RSS {peak_rss_mb():.0f} MB"
    )


class EmbedClock:
    """Time spent inside the embedder (wraps `LocalEmbedder.embed` for this process)."""

    seconds = 0.0
    texts = 0

    @classmethod
    def install(cls) -> None:
        from bot.embed import LocalEmbedder

        embed = LocalEmbedder.embed

        def timed(self, texts):
            start = time.perf_counter()
            try:
                return embed(self, texts)
            finally:
                cls.seconds += time.perf_counter() - start
                cls.texts += len(texts)

        LocalEmbedder.embed = timed  # type: ignore[method-assign]


def deployed_bench(count: int) -> None:
    """Ingestion as `newsbrief run` and `newsbrief ingest` do it: passages indexed on the way in, their
    vectors (title and lead) by the embedding job after the round; the default embedder and EMBEDDER=none."""
    from bot.qa.vectors import embed_queued
    from bot.runtime.ingest_cycle import ingest_due

    EmbedClock.install()
    feeds = (count + PER_FEED - 1) // PER_FEED
    figures = {}
    with FeedServer(count) as base:
        for embedder in ("none", "local"):  # none first: ru_maxrss is the process's peak so far
            with tempfile.TemporaryDirectory() as tmp:
                ctx = build_context(Path(tmp), embedder=embedder)
                add_feeds(ctx, [f"{base}/feed/{n}.xml" for n in range(feeds)])
                EmbedClock.seconds, EmbedClock.texts = 0.0, 0
                start = time.perf_counter()
                reports = asyncio.run(ingest_due(ctx, force=True, embed_passages=False))
                hot = time.perf_counter() - start
                hot_embed = EmbedClock.seconds
                # As `newsbrief run` does: the model loads when the job first has work.
                load = time.perf_counter()
                if embedder == "local":
                    ctx.embedder().load()
                load = time.perf_counter() - load
                drained = embed_queued(ctx)
                total = time.perf_counter() - start
                rate = EmbedClock.texts / max(EmbedClock.seconds, 1e-9)
                figures[embedder] = (
                    hot,
                    hot_embed,
                    drained,
                    total,
                    EmbedClock.seconds,
                    load,
                    peak_rss_mb(),
                    rate,
                )
                new = sum(len(r.new) for r in reports)
                errors = sum(1 for r in reports if r.error)
        figures["inline"] = _inline_baseline(base, feeds)
    print(
        f"ingestion as deployed: {count} articles from {feeds} feeds, passages indexed inline, vectors by "
        f"the embedding job after the round; {new} new, errors {errors}"
    )
    hot, hot_embed, drained, total, embed_all, load, rss, rate = figures["local"]
    none_hot, *_, none_rss, _ = figures["none"]
    print(
        f"  default settings (local embedder): "
        f"{count / hot:.0f} articles/s searchable (target >= 100); embedder {hot_embed / hot:.0%} of that "
        f"wall time (target <= ~20%); peak RSS {rss:.0f} MB (target <= 300)"
    )
    print(
        f"  dense lag: after the round the job loaded the model ({load:.1f} s) and gave {drained.passages} "
        f"passages their vectors in {drained.seconds:.1f} s ({drained.passages / max(drained.seconds, 1e-9):.0f} "
        f"passages/s; the encoder alone {rate:.0f} texts/s); the longest-waiting passage waited "
        f"{drained.max_wait:.1f} s, the last stored {load + drained.seconds:.1f} s"
    )
    print(
        f"  through to dense search: {count / total:.0f} articles/s; embedder {embed_all / total:.0%} of "
        f"all the wall time"
    )
    print(f"  EMBEDDER=none, same run: {count / none_hot:.0f} articles/s; peak RSS {none_rss:.0f} MB")
    before, before_embed, before_rate = figures["inline"]
    print(
        f"  before (every passage embedded inline as it was stored, as until issue 13), same run: "
        f"{count / before:.0f} articles/s; embedder {before_embed / before:.0%} of the wall time "
        f"(the encoder alone {before_rate:.0f} texts/s)"
    )


def _inline_baseline(base: str, feeds: int) -> tuple[float, float, float]:
    """The old way, same feeds: store, then index with every passage embedded inline;
    (seconds, embedder seconds, texts embedded per embedder second)."""
    from bot.qa import index
    from bot.runtime.ingest_cycle import ingest_due

    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp), embedder="local")
        add_feeds(ctx, [f"{base}/feed/{n}.xml" for n in range(feeds)])
        dense, index.DENSE_PASSAGES = index.DENSE_PASSAGES, 10**9
        EmbedClock.seconds, EmbedClock.texts = 0.0, 0
        try:
            start = time.perf_counter()
            asyncio.run(ingest_due(ctx, force=True, index_passages=False))
            with ctx.db.session() as session:
                index.index_missing(session, ctx.embedder(), classifier=ctx.classifier())
            elapsed = time.perf_counter() - start
            return elapsed, EmbedClock.seconds, EmbedClock.texts / max(EmbedClock.seconds, 1e-9)
        finally:
            index.DENSE_PASSAGES = dense


def refresh_bench(feed_count: int) -> None:
    from bot.runtime.ingest_cycle import ingest_due

    corpus = list(articles(feed_count * 2, seed=2, duplicate_ratio=0.0))
    routes = {
        f"/r/{n}.xml": (rss(corpus[n * 2 : n * 2 + 2], base_url="http://127.0.0.1", title=f"R{n}"), f'"v{n}"')
        for n in range(feed_count)
    }
    fresh = list(articles(feed_count // 10 * 2, seed=3, duplicate_ratio=0.0, prefix="fresh"))
    changed = {
        f"/r/{n}.xml": (rss(fresh[k * 2 : k * 2 + 2], base_url="http://127.0.0.1", title=f"R{n}"), f'"w{n}"')
        for k, n in enumerate(range(0, feed_count, 10))
    }
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp))
        with FeedServer(routes) as base:
            add_feeds(ctx, [f"{base}/r/{n}.xml" for n in range(feed_count)])
            asyncio.run(ingest_due(ctx, force=True))
            port = base.rsplit(":", 1)[1]
        # The second server answers 304 for 90% of the feeds (same ETag) and new items for 10%.
        with FeedServer(routes | changed) as base2:
            _repoint(ctx, port, base2.rsplit(":", 1)[1])
            start = time.perf_counter()
            reports = asyncio.run(ingest_due(ctx, force=True))
            elapsed = time.perf_counter() - start
    not_modified = sum(1 for r in reports if r.not_modified)
    new = sum(len(r.new) for r in reports)
    print(
        f"refresh cycle: {feed_count} feeds in {elapsed:.1f} s (target <= 30 s); {not_modified} answered 304, {new} new articles"
    )


HEAVY_ITEMS = 20_000
NORMAL_FEEDS = 100


def heavy_routes(normal: int, heavy: int) -> dict[str, tuple[bytes, str | None]]:
    """`normal` feeds of 2 fresh articles each, and one feed of `heavy` short full-text entries, newest first."""
    corpus = list(articles(normal * 2 + 200, seed=6, duplicate_ratio=0.0, prefix="heavy"))
    routes = {
        f"/n/{n}.xml": (rss(corpus[n * 2 : n * 2 + 2], base_url="http://127.0.0.1", title=f"N{n}"), None)
        for n in range(normal)
    }
    bank = corpus[normal * 2 :]
    entries = []
    for i in range(heavy):
        a = bank[i % len(bank)]
        text = f"{a.paragraphs[0][:650]} ({i})"
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_752_300_000 - i * 60))
        entries.append(
            f"<item><title>{escape(a.title)} [{i}]</title><link>http://127.0.0.1/h/{i}</link>"
            f"<guid>h-{i}</guid><pubDate>{when}</pubDate><description>{escape(text)}</description></item>"
        )
    routes["/heavy.xml"] = (
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Heavy</title>'
            f"<link>http://127.0.0.1</link>{''.join(entries)}</channel></rss>"
        ).encode(),
        None,
    )
    return routes


def heavy_bench(normal: int, heavy: int) -> None:
    """The refresh time of `normal` feeds alone and beside one `heavy`-entry feed (FEED_MAX_ITEMS applies)."""
    from bot.runtime.ingest_cycle import ingest_due

    routes = heavy_routes(normal, heavy)
    size = len(routes["/heavy.xml"][0])
    results = {}
    with FeedServer(routes) as base:
        for with_heavy in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                # Measured as deployed: the default embedder, and a body limit the heavy feed fits in.
                ctx = build_context(Path(tmp), embedder="local", fetch_max_bytes=size + 1)
                ctx.embedder().load()
                urls = [f"{base}/n/{n}.xml" for n in range(normal)] + ([f"{base}/heavy.xml"] * with_heavy)
                add_feeds(ctx, urls)
                done: dict[int, float] = {}
                start = time.perf_counter()

                def finished(report, start=start, done=done) -> None:
                    done[report.source_id] = time.perf_counter() - start

                reports = asyncio.run(ingest_due(ctx, force=True, on_report=finished))
                total = time.perf_counter() - start
                heavy_id = normal + 1 if with_heavy else None
                normal_done = max(t for sid, t in done.items() if sid != heavy_id)
                new = {r.source_id: len(r.new) for r in reports}
                results[with_heavy] = (normal_done, total, done.get(heavy_id or -1), new.get(heavy_id or -1))
    alone, beside = results[False], results[True]
    print(
        f"bounded fetch (FEED_MAX_ITEMS=200, default embedder): {normal} normal feeds of 2 new articles each, "
        f"alone and beside one feed of {heavy:,} entries ({size / 1e6:.1f} MB)"
    )
    print(f"  {normal} normal feeds alone: refreshed in {alone[0]:.1f} s")
    print(
        f"  beside the {heavy:,}-entry feed: the {normal} normal feeds refreshed in {beside[0]:.1f} s "
        f"({beside[0] / alone[0]:.2f}x); the heavy feed done at {beside[2]:.1f} s with {beside[3]} new "
        f"articles; whole cycle {beside[1]:.1f} s"
    )


def _repoint(ctx, old_port: str, new_port: str) -> None:
    from storage.models import Source

    with ctx.db.session() as session:
        for source in session.query(Source):
            source.location = source.location.replace(f":{old_port}/", f":{new_port}/")


def pages_bench() -> None:
    import trafilatura

    from bot.ingest.sources.pages import extract_page

    fixtures = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pages"
    # Bytes, as fetched: decoding is part of the work. One synthetic page in four comes in a legacy
    # code page with no charset anywhere (windows-1256 for Arabic, windows-1252 otherwise), so
    # detection is measured too; both sides get the same bytes.
    pages = [p.read_bytes() for p in sorted(fixtures.glob("*.html"))]
    for i, article in enumerate(articles(60, seed=4, duplicate_ratio=0.0)):
        html = _page(article)
        legacy = "cp1256" if any("\u0600" <= c <= "\u06ff" for c in html) else "cp1252"
        pages.append(html.encode(legacy, "xmlcharrefreplace") if i % 4 == 0 else html.encode("utf-8"))
    rounds = 3
    ours = _time(lambda html: extract_page(html, url="https://example.com/a"), pages, rounds)
    bare = _time(lambda html: trafilatura.extract(html, url="https://example.com/a"), pages, rounds)
    print(
        f"html pages: {len(pages)} pages; ours {ours * 1000:.2f} ms/page, trafilatura.extract {bare * 1000:.2f} ms/page"
    )
    print(f"  ratio {ours / bare:.2f} (target <= 1.3)")


def _time(function, pages: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for html in pages:
            function(html)
        best = min(best, (time.perf_counter() - start) / len(pages))
    return best


def _page(article: SyntheticArticle) -> str:
    nav = "".join(f'<li><a href="/s/{i}">Section {i}</a></li>' for i in range(30))
    return (
        f"<html><head><title>{article.title}</title><meta property='og:title' content='{article.title}'>"
        "<meta name='date' content='2025-07-12'></head><body>"
        f"<nav><ul>{nav}</ul></nav><article><h1>{article.title}</h1>{article.html()}</article>"
        "<footer>Copyright. All rights reserved. Contact us. Privacy policy.</footer></body></html>"
    )


def main() -> None:
    if os.environ.get("MALLOC_ARENA_MAX") != "2":
        # Measure as deployed: the Dockerfile sets MALLOC_ARENA_MAX=2 for newsbrief.
        os.environ["MALLOC_ARENA_MAX"] = "2"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=1_000)
    parser.add_argument("--heavy", type=int, default=HEAVY_ITEMS, help="entries of the one heavy feed")
    parser.add_argument("--deployed-articles", type=int, default=1_000)
    parser.add_argument("--only", choices=["pipeline", "deployed", "refresh", "heavy", "pages"], nargs="*")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    only = set(args.only or ["pipeline", "deployed", "refresh", "heavy", "pages"])
    if "pipeline" in only:
        pipeline_bench(args.articles)
    if "deployed" in only:
        deployed_bench(args.deployed_articles)
    if "refresh" in only:
        refresh_bench(args.feeds)
    if "heavy" in only:
        heavy_bench(NORMAL_FEEDS, args.heavy)
    if "pages" in only:
        pages_bench()


if __name__ == "__main__":
    main()
