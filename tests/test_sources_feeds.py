"""Feeds: real fixtures in four charsets, an Arabic feed built from the seeds, hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.ingest.sources.feeds import FeedError, html_to_text, parse_feed
from tests.servers.web import WebServer

REPO = Path(__file__).resolve().parents[1]
FEEDS = REPO.parent / "shared" / "fixtures" / "feeds"
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
FEED_URL = "https://news.example/ar/rss.xml"


def seed_article(path: Path) -> tuple[str, list[str]]:
    """The headline and paragraphs of a seed article (its first non-empty line is the headline)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[0], lines[1:]


def seed_rss(*, full: set[int], encoding: str = "utf-8", declared: str | None = None) -> bytes:
    """An Arabic RSS 2.0 feed of the seeds: content:encoded for the indexes in `full`, teasers for the rest."""
    items = []
    for index, path in enumerate(SEEDS):
        headline, paragraphs = seed_article(path)
        content = ""
        if index in full:
            html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            content = f"<content:encoded><![CDATA[{html}]]></content:encoded>"
        items.append(
            f"<item><title>{escape(headline)}</title><link>/ar/{index}.html</link>"
            f"<guid isPermaLink='false'>seed-{index}</guid>"
            f"<pubDate>Sat, 12 Jul 2025 0{index}:30:00 +0300</pubDate>"
            f"<description>{escape(paragraphs[0])}</description>{content}</item>"
        )
    prolog = f'<?xml version="1.0" encoding="{declared or encoding}"?>\n'
    document = (
        f'{prolog}<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>أخبار روسيا وكوريا</title><link>https://news.example/ar/</link>"
        f"<language>ar</language>{''.join(items)}</channel></rss>"
    )
    return document.encode(encoding)


def rss(items: str, *, channel_title: str = "Test feed", prolog: str = '<?xml version="1.0"?>\n') -> bytes:
    """A minimal RSS 2.0 document around `items`."""
    return (
        f'{prolog}<rss version="2.0"><channel><title>{channel_title}</title>{items}</channel></rss>'.encode()
    )


def test_guardian_feed_gives_every_item_with_link_date_and_outlet() -> None:
    feed = parse_feed((FEEDS / "guardian.utf-8.rss").read_bytes(), url="https://www.theguardian.com/us/rss")

    assert (feed.title, feed.kind, len(feed.items)) == ("The Guardian", "rss", 55)
    first = feed.items[0]
    assert first.title == "Trump State of the Union address promised unity but emphasized discord"
    assert first.url == first.guid
    assert first.url is not None and first.url.startswith("https://www.theguardian.com/us-news/2018/jan/31/")
    assert first.published == datetime(2018, 1, 31, 7, 26, 5, tzinfo=UTC)
    assert first.outlet == "The Guardian"
    assert all(item.published is not None and item.published.tzinfo is UTC for item in feed.items)
    # Teasers only: the article itself must be fetched, the summary is provisional plain text.
    assert all(item.needs_fetch for item in feed.items)
    assert "<p>" not in first.text and "new American moment" in first.text


def test_atom_entry_id_is_the_guid_and_a_teaser_content_still_needs_fetch() -> None:
    feed = parse_feed((FEEDS / "heise.developer.atom").read_bytes(), url="https://www.heise.de/developer/rss")

    assert (feed.kind, len(feed.items)) == ("atom", 15)
    entry = feed.items[0]
    assert entry.guid == "http://heise.de/-3088438"
    assert entry.title == "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"
    assert entry.published == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)
    assert entry.needs_fetch
    assert entry.text.startswith("Die nun verfügbare Version 10")


def test_koi8r_feed_comes_out_as_cyrillic() -> None:
    feed = parse_feed((FEEDS / "newsru.com.koi8-r.rss.xml").read_bytes(), url="http://www.newsru.com/rss")

    assert (feed.title, len(feed.items)) == ("NEWSru.com", 30)
    assert feed.items[0].title.startswith("В Турции психически нездоровый мужчина")
    assert feed.items[0].text.startswith("Инцидент произошел")


def test_windows1255_feed_comes_out_as_hebrew_even_when_the_header_says_utf8() -> None:
    content = (FEEDS / "hagada.org.il.windows-1255.rss.xml").read_bytes()

    feed = parse_feed(content, url="http://www.hagada.org.il/rss", content_type="text/xml; charset=utf-8")

    assert feed.title == "הגדה השמאלית"
    assert len(feed.items) == 15
    assert "הפגנות בבילעין" in feed.items[0].title
    # RSS 0.91 items without guid: the link stands in.
    assert (
        feed.items[0].guid
        == feed.items[0].url
        == ("http://www.hagada.org.il/hagada/html/modules.php?name=News&file=article&sid=4195")
    )


def test_external_dtd_is_never_fetched(web_server: WebServer) -> None:
    dtd = web_server.add("/rss-0.91.dtd", b"<!ENTITY title 'fetched'>", content_type="application/xml-dtd")
    content = (FEEDS / "hagada.org.il.windows-1255.rss.xml").read_bytes()
    content = content.replace(b"http://my.netscape.com/publish/formats/rss-0.91.dtd", dtd.encode())
    assert dtd.encode() in content

    feed = parse_feed(content, url="http://www.hagada.org.il/rss")

    assert len(feed.items) == 15
    assert web_server.requests == []


def test_arabic_feed_uses_full_content_and_marks_teasers_for_fetching() -> None:
    feed = parse_feed(seed_rss(full={0, 2}), url=FEED_URL)

    assert (feed.title, len(feed.items)) == ("أخبار روسيا وكوريا", 5)
    headline, paragraphs = seed_article(SEEDS[0])
    full = feed.items[0]
    assert full.title == headline
    assert not full.needs_fetch
    assert full.text == "\n\n".join(paragraphs)
    teaser = feed.items[1]
    assert teaser.needs_fetch
    assert teaser.text == seed_article(SEEDS[1])[1][0]
    assert [item.guid for item in feed.items] == [f"seed-{i}" for i in range(5)]
    assert teaser.url == "https://news.example/ar/1.html"
    assert full.published == datetime(2025, 7, 11, 21, 30, tzinfo=UTC)
    assert full.extra["language"] == "ar"


@pytest.mark.parametrize("encoding", ["windows-1256", "utf-16"])
def test_arabic_feed_in_a_legacy_charset_reads_the_same(encoding: str) -> None:
    expected = parse_feed(seed_rss(full={0}), url=FEED_URL)

    feed = parse_feed(seed_rss(full={0}, encoding=encoding), url=FEED_URL)

    assert [(i.title, i.text) for i in feed.items] == [(i.title, i.text) for i in expected.items]


def test_utf8_feed_mislabelled_as_windows1256_keeps_its_arabic() -> None:
    content = seed_rss(full={0}, encoding="utf-8", declared="windows-1256")

    feed = parse_feed(content, url=FEED_URL, content_type="application/rss+xml; charset=iso-8859-1")

    assert feed.items[0].title == seed_article(SEEDS[0])[0]


def test_feed_without_prolog_is_read_as_utf8() -> None:
    content = rss(
        "<item><title>لافروف في بيونغ يانغ</title><link>https://a.example/1</link></item>", prolog=""
    )

    assert parse_feed(content, url=FEED_URL).items[0].title == "لافروف في بيونغ يانغ"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!doctype html><html><head><title>Home</title></head><body><p>Hi</p></body></html>", "not an RSS"),
        (bytes(range(256)) * 4, "not an RSS"),
        (b'{"items": []}', "not an RSS"),
        # A path must never be opened: feedparser would read a str or bytes naming a file.
        (b"/etc/hostname", "not an RSS"),
    ],
)
def test_what_is_not_a_feed_raises_feed_error(content: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse_feed(content, url=FEED_URL)


def test_empty_valid_feeds_have_no_items() -> None:
    atom = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Empty</title></feed>'

    assert parse_feed(rss(""), url=FEED_URL).items == []
    assert parse_feed(atom, url=FEED_URL).title == "Empty"


def test_a_feed_larger_than_the_limit_is_refused() -> None:
    with pytest.raises(FeedError, match="more than the 100 allowed"):
        parse_feed(rss("<item><title>x</title></item>" * 10), url=FEED_URL, max_bytes=100)


def test_links_are_resolved_against_the_feed_and_only_http_links_kept() -> None:
    items = (
        "<item><title>a</title><link>../story/1.html</link></item>"
        "<item><title>b</title><link>javascript:alert(1)</link></item>"
        "<item><title>c</title><link>ftp://files.example/x</link></item>"
        "<item><title>d</title></item>"
    )

    urls = [item.url for item in parse_feed(rss(items), url=FEED_URL).items]

    assert urls == ["https://news.example/story/1.html", None, None, None]


def test_titles_are_plain_text() -> None:
    items = (
        "<item><title><![CDATA[<b>Lavrov</b> &amp; Kim <i>meet</i>]]></title></item>"
        "<item><title>Saudi &amp;amp; Russian ministers</title></item>"
        "<item><title>a &lt; b</title></item>"
    )

    feed = parse_feed(rss(items, channel_title="<![CDATA[<em>Outlet</em>]]>"), url=FEED_URL)

    assert [item.title for item in feed.items] == ["Lavrov & Kim meet", "Saudi & Russian ministers", "a < b"]
    assert feed.title == "Outlet"


def test_dates_become_aware_utc_and_updated_stands_in_for_published() -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b"<entry><id>urn:1</id><title>x</title><updated>2025-07-12T10:00:00+03:00</updated></entry>"
        b"<entry><id>urn:2</id><title>y</title></entry></feed>"
    )

    items = parse_feed(atom, url=FEED_URL).items

    assert items[0].published == datetime(2025, 7, 12, 7, 0, tzinfo=UTC)
    assert items[1].published is None


def test_full_content_loses_scripts_and_keeps_paragraphs() -> None:
    body = "<p>" + "فقرة أولى طويلة " * 50 + "</p><script>alert('x')</script><div>فقرة<br/>ثانية</div>"
    items = f"<item><title>t</title><description>teaser</description><content:encoded><![CDATA[{body}]]></content:encoded></item>"
    content = rss(items).replace(b"<rss ", b'<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" ')

    item = parse_feed(content, url=FEED_URL).items[0]

    assert not item.needs_fetch
    assert "alert" not in item.text
    assert item.text.endswith("\n\nفقرة\nثانية")


def test_html_to_text_splits_blocks_into_paragraphs() -> None:
    fragment = "Intro <b>bold</b>\n   text<p>One\n two</p><ul><li>A</li><li>B</li></ul>tail &amp; end"

    assert html_to_text(fragment) == "Intro bold text\n\nOne two\n\nA\n\nB\n\ntail & end"
    assert html_to_text("  ") == ""


def _billion_laughs(*, before_doctype: str = "") -> bytes:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?>\n{before_doctype}<!DOCTYPE rss [\n<!ENTITY lol0 "lol">\n{entities}]>\n'
        '<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>'
    ).encode()


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(FeedError, match="entities"):
        parse_feed(_billion_laughs(), url=FEED_URL)


def test_quadratic_blowup_is_refused() -> None:
    # feedparser alone expands this in its loose parser: gigabytes and minutes.
    content = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{"a" * 50_000}">\n]>\n'
        f'<rss version="2.0"><channel><title>t</title><item><description>{"&a;" * 50_000}'
        "</description></item></channel></rss>"
    ).encode()

    with pytest.raises(FeedError, match="entities"):
        parse_feed(content, url=FEED_URL)


def test_entities_hidden_behind_a_comment_are_not_expanded() -> None:
    # The comment moves the DTD past the prolog feedparser scans; expat then refuses to expand it.
    content = _billion_laughs(before_doctype="<!-- <b> -->\n")

    try:
        feed = parse_feed(content, url=FEED_URL)
    except FeedError:
        return
    assert all(len(item.title) < 1_000 for item in feed.items)
    assert len(feed.title) < 1_000


def test_external_entities_are_refused_and_never_read(web_server: WebServer) -> None:
    secret = web_server.add("/secret", b"TOP-SECRET")
    content = rss("<item><title>&xxe;</title></item>", prolog="").replace(
        b"<rss", f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{secret}">\n]>\n<rss'.encode(), 1
    )

    with pytest.raises(FeedError, match="entities"):
        parse_feed(content, url=FEED_URL)
    assert web_server.requests == []


def test_errors_name_the_feed_without_its_credentials() -> None:
    with pytest.raises(FeedError) as raised:
        parse_feed(b"<html></html>", url="https://reader:hunter2@feeds.example/rss?key=s3cret")

    assert "feeds.example/rss" in str(raised.value)
    assert "hunter2" not in str(raised.value) and "s3cret" not in str(raised.value)
