"""Ingestion end to end: the seeds, feeds from a local server, duplicates, failures and backoff."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import build_context
from bot.config import Settings
from bot.context import Context
from bot.ingest.catalog import add_source
from bot.runtime.ingest_cycle import ingest_due
from storage.models import Article, ArticleThread, Source
from tests.servers.web import WebServer

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def rss(items: list[tuple[str, str, str]], *, title: str = "Test Outlet") -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        for t, link, body in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>http://example.com</link>{entries}</channel></rss>"
    ).encode()


LAVROV_EN = (
    "<p>Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Wonsan on Saturday, "
    "passing on greetings from President Vladimir Putin.</p><p>Lavrov said Russia understands the reasons "
    "behind Pyongyang's nuclear programme, and Kim pledged to support Moscow. Lavrov held talks with "
    "Choe Son Hui, North Korea's foreign minister, in the resort city.</p>"
)


@pytest.fixture
def ctx(settings: Settings, tmp_path: Path) -> Context:
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    return build_context(settings.model_copy(update={"sources_file": empty}))


def _add(ctx: Context, location: str, kind: str) -> int:
    with ctx.db.session() as session:
        return add_source(session, location=location, kind=kind, actor="test").id


def _articles(ctx: Context) -> list[Article]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Article).order_by(Article.id)))


def _threads_of(ctx: Context) -> dict[str, set[str]]:
    with ctx.db.session() as session:
        rows = session.execute(select(Article.guid, ArticleThread.thread_id).join(ArticleThread)).all()
    placed: dict[str, set[str]] = {}
    for guid, thread in rows:
        placed.setdefault(Path(guid).name, set()).add(thread)
    return placed


async def test_seeds_are_stored_cleaned_and_placed_in_their_threads(ctx: Context) -> None:
    _add(ctx, str(SEEDS), "file")
    [report] = await ingest_due(ctx)
    assert report.error is None and len(report.new) == 5
    stored = _articles(ctx)
    assert {a.lang for a in stored} == {"ar"}
    placed = _threads_of(ctx)
    assert all("russia-dprk" in placed[name] for name in placed) and len(placed) == 5
    assert [name for name, threads in placed.items() if "saudi-russia" in threads] == [
        "000_774df062bfbac8d6.txt"
    ]
    shoigu = next(a for a in stored if a.guid and a.guid.endswith("002_0f116fdc03d2e20c.txt"))
    assert "شويغو" in shoigu.text
    assert "الصين تؤكد رغبتها" not in shoigu.text  # the appended China–DPRK story is not absorbed
    assert "مقالات ذات صلة" not in shoigu.text


async def test_a_date_written_in_the_text_becomes_the_published_time(ctx: Context) -> None:
    _add(ctx, str(SEEDS), "file")
    await ingest_due(ctx)
    dated = next(a for a in _articles(ctx) if a.guid and a.guid.endswith("003_8f9c598dab314c26.txt"))
    assert dated.published_at is not None and dated.published_at.date().isoformat() == "2025-07-12"


async def test_ingesting_the_same_input_twice_stores_nothing_new(ctx: Context) -> None:
    _add(ctx, str(SEEDS), "file")
    await ingest_due(ctx)
    before = [(a.id, a.content_hash) for a in _articles(ctx)]
    reports = await ingest_due(ctx, force=True)
    assert [r.new for r in reports] == [[]]
    assert [(a.id, a.content_hash) for a in _articles(ctx)] == before


async def test_feed_items_are_ingested_and_a_304_costs_nothing(ctx: Context, web_server: WebServer) -> None:
    url = web_server.add(
        "/feed.xml",
        rss([("Lavrov meets Kim in Wonsan", "http://example.com/a1?utm_source=x", LAVROV_EN)]),
        content_type="application/rss+xml",
        etag='"v1"',
    )
    _add(ctx, url, "feed")
    [first] = await ingest_due(ctx)
    assert len(first.new) == 1
    [again] = await ingest_due(ctx, force=True)
    assert again.not_modified and again.new == []
    assert web_server.requests_for("/feed.xml")[-1].headers.get("If-None-Match") == '"v1"'
    [article] = _articles(ctx)
    assert article.url == "http://example.com/a1"  # tracking parameters stripped
    assert article.lang == "en" and list(_threads_of(ctx).values()) == [{"russia-dprk"}]


async def test_the_same_story_from_another_outlet_is_linked_as_a_duplicate(
    ctx: Context, web_server: WebServer
) -> None:
    first = web_server.add("/one.xml", rss([("Lavrov in Wonsan", "http://one.example/a", LAVROV_EN)]))
    edited = LAVROV_EN.replace("on Saturday", "on Saturday morning")
    second = web_server.add(
        "/two.xml", rss([("Lavrov visits Wonsan (updated)", "http://two.example/b", edited)])
    )
    _add(ctx, first, "feed")
    await ingest_due(ctx)
    _add(ctx, second, "feed")
    reports = await ingest_due(ctx)
    assert [r.duplicates for r in reports] == [1]
    original, duplicate = _articles(ctx)
    assert duplicate.duplicate_of == original.id
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ArticleThread)) == 1


async def test_a_failing_source_backs_off_then_pauses_and_never_stops_the_others(
    ctx: Context, web_server: WebServer
) -> None:
    good = web_server.add("/good.xml", rss([("Lavrov in Wonsan", "http://x.example/a", LAVROV_EN)]))
    bad = web_server.add("/bad.xml", b"oops", status=500)
    good_id, bad_id = _add(ctx, good, "feed"), _add(ctx, bad, "feed")
    reports = {r.source_id: r for r in await ingest_due(ctx)}
    assert reports[good_id].error is None and len(reports[good_id].new) == 1
    assert "500" in (reports[bad_id].error or "")
    for _ in range(ctx.settings.source_max_errors - 1):
        await ingest_due(ctx, source_ids=[bad_id], force=True)
    with ctx.db.session() as session:
        source = session.get(Source, bad_id)
        assert source.paused and "consecutive failures" in (source.paused_reason or "")
        assert source.next_check_at - source.last_checked_at > timedelta(seconds=ctx.settings.ingest_interval)


async def test_a_source_on_a_private_address_is_refused_with_the_reason(
    settings: Settings, tmp_path: Path, web_server: WebServer
) -> None:
    empty = tmp_path / "none.toml"
    empty.write_text("", encoding="utf-8")
    strict = build_context(
        settings.model_copy(update={"sources_file": empty, "fetch_allowed_private_hosts": []})
    )
    source_id = _add(strict, web_server.add("/f.xml", rss([])), "feed")
    [report] = await ingest_due(strict)
    assert report.source_id == source_id and "FETCH_ALLOWED_PRIVATE_HOSTS" in (report.error or "")


def _dated_rss(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        + (f"<pubDate>{when}</pubDate>" if when else "")
        + f"<content:encoded><![CDATA[{LAVROV_EN.replace('Wonsan', t)}]]></content:encoded></item>"
        for t, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Dated</title><link>http://example.com</link>{entries}</channel></rss>"
    ).encode()


async def test_feed_dates_in_the_future_or_before_1990_are_unknown_and_the_source_says_so(
    ctx: Context, web_server: WebServer
) -> None:
    url = web_server.add(
        "/dated.xml",
        _dated_rss(
            [
                ("Wonsan", "http://example.com/ok", "Sat, 12 Jul 2025 08:00:00 GMT"),
                ("Pyongyang", "http://example.com/future", "Fri, 31 Dec 2099 00:00:00 GMT"),
                ("Moscow", "http://example.com/epoch", "Thu, 01 Jan 1970 00:00:00 GMT"),
                ("Vladivostok", "http://example.com/none", ""),
            ]
        ),
    )
    source_id = _add(ctx, url, "feed")

    await ingest_due(ctx)

    dates = {a.url: a.published_at for a in _articles(ctx)}
    assert dates["http://example.com/ok"] is not None
    assert dates["http://example.com/ok"].date().isoformat() == "2025-07-12"
    # Unknown, never the time of ingest: a bogus date would sit on top of every brief.
    assert [dates[f"http://example.com/{k}"] for k in ("future", "epoch", "none")] == [None, None, None]
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None and source.date_issues == 2
        assert source.last_date_issue is not None and "unknown" in source.last_date_issue


async def test_a_feed_item_without_a_date_takes_the_date_written_in_its_text(
    ctx: Context, web_server: WebServer
) -> None:
    body = "<p>PYONGYANG, 12/07/2025 — " + LAVROV_EN[3:]
    feed = _dated_rss([("Wonsan", "http://example.com/t", "")]).replace(LAVROV_EN.encode(), body.encode())
    _add(ctx, web_server.add("/text-dated.xml", feed), "feed")

    await ingest_due(ctx)

    [article] = _articles(ctx)
    assert article.published_at is not None and article.published_at.date().isoformat() == "2025-07-12"
