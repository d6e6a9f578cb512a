"""Briefs on the web: a page per brief and per story (escaped, cited, right to left in Arabic, no script),
an Atom feed per thread and language (RFC 4287), links from cut messages; and the Arabic page in headless
Chromium at a phone's width."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import lxml.html
import pytest
import uvicorn
from starlette.testclient import TestClient

from bot.briefs.build import build_brief
from bot.chat.slack.render import brief_messages
from bot.chat.telegram.render import render_brief
from bot.config import Settings
from bot.context import Context
from bot.runtime.web import create_web_app
from storage.db import Database
from storage.models import Article, ArticleThread, Story, StoryArticle
from tests import chromium
from tests.harness import seed_threads

T0 = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
AR_TITLE = "شويغو يصل إلى بيونغ يانغ لإجراء محادثات مع كيم جونغ أون حول التعاون العسكري"
AR_TEXT = (
    "وصل أمين مجلس الأمن الروسي سيرغي شويغو إلى بيونغ يانغ اليوم السبت، حيث التقى الزعيم الكوري الشمالي "
    "كيم جونغ أون وبحث معه التعاون العسكري بين البلدين، وفق ما ذكرته وكالة الأنباء المركزية الكورية KCNA. "
)
LONG_URL = "https://example.org/" + "x" * 300  # must not widen the page


@pytest.fixture
def ctx(db: Database, tmp_path: Path) -> Iterator[Context]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none",
                        public_base_url="https://news.example")  # fmt: skip
    with db.session() as session:
        seed_threads(session)
    yield Context(settings=settings, db=db, clock=lambda: T0)


def add_story(ctx: Context, items: list[tuple[str, str, str, str, str]]) -> int:
    """(title, text, outlet, url, lang) members, in one story of russia-dprk."""
    with ctx.db.session() as session:
        story = Story(thread_id="russia-dprk", created_at=T0, updated_at=T0, first_report_at=T0,
                      last_report_at=T0, title=items[0][0], member_count=len(items))  # fmt: skip
        session.add(story)
        session.flush()
        for title, text, outlet, url, lang in items:
            row = Article(title=title, text=text, lang=lang, outlet=outlet, url=url, published_at=T0,
                          fetched_at=T0, content_hash=hashlib.sha256(f"{title}{outlet}".encode()).hexdigest())  # fmt: skip
            session.add(row)
            session.flush()
            session.add(ArticleThread(article_id=row.id, thread_id="russia-dprk", score=1.0))
            session.add(
                StoryArticle(story_id=story.id, article_id=row.id, thread_id="russia-dprk", joined_at=T0)
            )
        return story.id


def arabic_story(ctx: Context) -> int:
    return add_story(
        ctx,
        [
            (AR_TITLE, AR_TEXT * 3, "الجزيرة", "https://aljazeera.example/a1", "ar"),
            (f"{AR_TITLE} {HOSTILE}", AR_TEXT + HOSTILE, f"RT {HOSTILE}", LONG_URL, "ar"),
            ("عنوان", AR_TEXT, "javascript-outlet", "javascript:alert(1)", "ar"),
        ],
    )


def test_a_brief_page_escapes_every_article_string_links_citations_and_reads_right_to_left(
    ctx: Context,
) -> None:
    arabic_story(ctx)
    brief = build_brief(ctx, thread_id="russia-dprk", lang="ar")
    assert brief.payload["page_url"] == f"https://news.example/briefs/{brief.id}"
    client = TestClient(create_web_app(ctx))
    response = client.get(f"/briefs/{brief.id}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    body = response.text
    assert '<html lang="ar" dir="rtl">' in body
    assert "<script" not in body and "<img" not in body  # the hostile markup came through as text
    assert "&lt;script&gt;" in body
    assert "built-in method" not in body  # a payload key never resolves to a dict method
    assert 'href="javascript:' not in body
    page = lxml.html.fromstring(body)
    citations = page.xpath("//sup/a/@href")
    assert citations and all(page.xpath(f"//*[@id='{href[1:]}']") for href in citations)
    assert "https://aljazeera.example/a1" in page.xpath("//ol/li/a/@href")
    assert client.get("/briefs/999999").status_code == 404


def test_a_story_page_shows_its_latest_summary_and_every_source(ctx: Context) -> None:
    story_id = arabic_story(ctx)
    build_brief(ctx, thread_id="russia-dprk", lang="ar")  # summarizes the story
    client = TestClient(create_web_app(ctx))
    body = client.get(f"/stories/{story_id}.ar").text
    page = lxml.html.fromstring(body)
    assert page.get("dir") == "rtl" and page.xpath("//h1")
    assert len(page.xpath("//div[@class='sources']/ol/li")) == 3
    assert client.get(f"/stories/{story_id}.en").status_code == 200
    assert client.get(f"/stories/{story_id}.fr").status_code == 404


def test_the_atom_feed_is_valid_rfc_4287(ctx: Context) -> None:
    arabic_story(ctx)
    add_story(
        ctx, [("Kim meets Shoigu", "Kim met Shoigu in Pyongyang. " * 5, "AP", "https://ap.example/1", "en")]
    )
    build_brief(ctx, thread_id="russia-dprk", lang="ar")
    client = TestClient(create_web_app(ctx))
    response = client.get("/feeds/russia-dprk.ar.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # well-formed XML
    assert root.tag == f"{ATOM}feed"
    for name in (
        "id",
        "title",
        "updated",
        "author",
    ):  # RFC 4287 4.1.1: exactly one of each (author: or per entry)
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    ids = set()
    for entry in entries:  # 4.1.2: one id, title, updated; content or an alternate link
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
        datetime.strptime(entry.findtext(f"{ATOM}updated") or "", "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339
        ids.add(entry.findtext(f"{ATOM}id"))
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert "<script" not in (content.text or "")  # the html inside is escaped too
    assert len(ids) == 2
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert client.get("/feeds/nope.ar.atom").status_code == 404


def test_cut_messages_link_the_full_page_and_short_ones_do_not(ctx: Context) -> None:
    for n in range(25):
        add_story(
            ctx,
            [
                (
                    f"Story {n} about Kim and Shoigu",
                    "Kim met Shoigu. " * 40,
                    f"o{n}",
                    f"https://o{n}.example/",
                    "en",
                )
            ],
        )
    long = build_brief(ctx, thread_id="russia-dprk", lang="en").payload
    parts = render_brief(long, limit=1500)
    assert len(parts) > 1 and long["page_url"] in parts[-1]
    assert long["page_url"] in str(brief_messages(long)[-1])
    short = {**long, "stories": long["stories"][:1]}
    assert not any(long["page_url"] in part for part in render_brief(short, limit=1500))
    assert long["page_url"] not in str(brief_messages(short))


# ---------------------------------------------------------------- in a browser

MEASURE = """(() => {
  const width = window.innerWidth;
  const overflowing = [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > width + 1 || r.left < -1); })
    .map(e => e.tagName + ' ' + e.className);
  const h = document.querySelector('h1');
  const range = document.createRange();
  range.selectNodeContents(h);
  const rects = [...range.getClientRects()];
  const line = rects.filter(r => Math.abs(r.top - rects[0].top) < 2);
  const box = h.getBoundingClientRect();
  const li = document.querySelector('article li');
  return {
    direction: getComputedStyle(document.documentElement).direction,
    lang: document.documentElement.lang,
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    overflowing: overflowing,
    headingGapRight: box.right - Math.max(...line.map(r => r.right)),
    headingGapLeft: Math.min(...line.map(r => r.left)) - box.left,
    bulletMarkerSide: getComputedStyle(li.parentElement).paddingRight,
    scripts: document.scripts.length,
  };
})()"""


@pytest.fixture
def served(ctx: Context) -> Iterator[str]:
    """The web app on a real port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_web_app(ctx), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def screenshots_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")


@pytest.mark.skipif(chromium.executable() is None, reason="chromium is not installed (CI installs it)")
def test_the_arabic_pages_read_right_to_left_and_fit_a_phone_in_chromium(
    ctx: Context, served: str, tmp_path: Path
) -> None:
    story_id = arabic_story(ctx)
    add_story(
        ctx, [("Kim meets Shoigu", "Kim met Shoigu in Pyongyang. " * 5, "AP", "https://ap.example/1", "en")]
    )
    brief = build_brief(ctx, thread_id="russia-dprk", lang="ar")
    english = build_brief(ctx, thread_id="russia-dprk", lang="en")
    shots = screenshots_dir(tmp_path)
    backend = "postgres" if ctx.db.engine.dialect.name == "postgresql" else "sqlite"
    with chromium.Chromium(width=390, height=844) as browser:
        for name, path in (("brief-ar", f"/briefs/{brief.id}"), ("story-ar", f"/stories/{story_id}.ar")):
            browser.open(served + path)
            layout = browser.evaluate(MEASURE)
            assert layout["direction"] == "rtl" and layout["lang"] == "ar"
            assert layout["scripts"] == 0
            assert layout["scrollWidth"] <= layout["width"], layout
            assert layout["overflowing"] == [], layout
            # Right to left: the heading's first line starts at the right edge of its box.
            assert abs(layout["headingGapRight"]) <= 2, layout
            assert layout["bulletMarkerSide"] != "0px"  # list indented on the right
            assert browser.screenshot(shots / f"{name}-{backend}.png").stat().st_size > 5000
        browser.open(f"{served}/briefs/{english.id}")
        layout = browser.evaluate(MEASURE)
        assert (
            layout["direction"] == "ltr"
            and layout["overflowing"] == []
            and abs(layout["headingGapLeft"]) <= 2
        )
        browser.screenshot(shots / f"brief-en-{backend}.png")
