"""FEED_MAX_ITEMS: a fetch takes at most that many entries, the newest, and the source's health says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import Result

from bot.app import build_context
from bot.config import Settings
from bot.context import Context
from bot.ingest.catalog import add_source, source_health
from bot.ingest.sources.feeds import parse_feed
from bot.runtime.ingest_cycle import ingest_due
from storage.models import Article
from tests.servers.web import WebServer

WORDS = [
    "ministers",
    "met",
    "talks",
    "trade",
    "grain",
    "oil",
    "port",
    "visit",
    "treaty",
    "troops",
    "summit",
    "envoy",
    "bank",
    "rail",
    "drills",
]


def body(n: int) -> str:
    """A text of its own for entry n, so no entry is a near-duplicate of another."""
    words = [f"{WORDS[(n * 7 + k * (n + 3)) % len(WORDS)]}{n}{k}" for k in range(80)]
    return f"<p>Report {n}: {' '.join(words)}.</p>"


def rss(days: list[int | None]) -> bytes:
    """One entry per day of July 2025 (None: undated), in the order given; entry n is published on day n."""
    entries = "".join(
        f"<item><title>Report {n}</title><link>http://example.com/a{n}</link><guid>g{n}</guid>"
        + (f"<pubDate>{day:02d} Jul 2025 10:00:00 GMT</pubDate>" if day else "")
        + f"<content:encoded><![CDATA[{body(n)}]]></content:encoded></item>"
        for n, day in enumerate(days)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Heavy</title><link>http://example.com</link>{entries}</channel></rss>"
    ).encode()


def atom(days: list[int]) -> bytes:
    entries = "".join(
        f"<entry><title>Report {n}</title><id>urn:g{n}</id><link href='http://example.com/a{n}'/>"
        f"<updated>2025-07-{day:02d}T10:00:00Z</updated><content type='html'>body {n}</content></entry>"
        for n, day in enumerate(days)
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>{entries}</feed>'.encode()


def test_a_feed_longer_than_max_items_gives_its_newest_entries_whatever_their_order() -> None:
    feed = parse_feed(rss([3, 9, 1, 7, 5]), url="http://example.com/feed.xml", max_items=3)
    assert [item.title for item in feed.items] == ["Report 1", "Report 3", "Report 4"]  # days 9, 7, 5
    assert feed.total == 5


def test_atom_entries_are_cut_by_their_updated_date_too() -> None:
    feed = parse_feed(atom([2, 20, 11, 4]), url="http://example.com/feed.xml", max_items=2)
    assert {item.guid for item in feed.items} == {"urn:g1", "urn:g2"} and feed.total == 4


def test_undated_entries_come_after_dated_ones_and_keep_the_feed_order() -> None:
    feed = parse_feed(rss([None, None, 4, None]), url="http://example.com/feed.xml", max_items=2)
    assert [item.title for item in feed.items] == ["Report 0", "Report 2"]  # kept entries stay in feed order


def test_a_feed_within_the_limit_is_taken_whole() -> None:
    feed = parse_feed(rss([1, 2, 3]), url="http://example.com/feed.xml", max_items=3)
    assert len(feed.items) == feed.total == 3


@pytest.fixture
def ctx(settings: Settings, tmp_path: Path) -> Context:
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    return build_context(settings.model_copy(update={"sources_file": empty, "feed_max_items": 2}))


async def test_a_cut_fetch_stores_the_newest_items_and_says_so_in_the_health(
    ctx: Context, web_server: WebServer
) -> None:
    url = web_server.add("/feed.xml", rss([1, 5, 3, 2]), content_type="application/rss+xml")
    with ctx.db.session() as session:
        add_source(session, location=url, kind="feed", actor="test")
    [report] = await ingest_due(ctx)
    assert report.error is None and len(report.new) == 2
    with ctx.db.session() as session:
        assert sorted(session.scalars(select(Article.title))) == ["Report 1", "Report 2"]
        [health] = source_health(session)
    assert (health.last_items, health.last_cut) == (4, 2)
    assert health.cut_note == "last fetch cut: took the newest 2 of 4 items (FEED_MAX_ITEMS)"

    web_server.add("/feed.xml", rss([6, 7]), content_type="application/rss+xml")
    await ingest_due(ctx, force=True)
    with ctx.db.session() as session:
        [health] = source_health(session)
    assert health.last_cut == 0 and health.cut_note is None


def test_sources_list_shows_the_cut(
    cli: Callable[..., Result], web_server: WebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_MAX_ITEMS", "3")
    monkeypatch.setenv("FETCH_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    url = web_server.add("/feed.xml", rss([1, 2, 3, 4, 5]), content_type="application/rss+xml")
    assert cli("sources", "add", url, "--kind", "feed").exit_code == 0
    assert cli("ingest").exit_code == 0
    listed = {row["location"]: row for row in json.loads(cli("sources", "list", "--json").stdout)}
    assert listed[url]["last_cut"] == 2 and listed[url]["cut"].startswith(
        "last fetch cut: took the newest 3 of 5"
    )
    assert "took the newest 3 of 5 items" in cli("sources", "list").stdout
