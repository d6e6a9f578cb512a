"""Hostile sources served by the local web server: each fails clearly on its own, in bounded time and
memory, and a good source ingested in the same run is unaffected."""

from __future__ import annotations

import asyncio
import resource
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build_context
from bot.config import Settings
from bot.context import Context
from bot.ingest.catalog import add_source
from bot.ingest.pipeline import SourceReport
from bot.runtime.ingest_cycle import ingest_due
from storage.models import Article, Source
from tests.servers.telegram_stub import until
from tests.servers.web import Recorded, WebServer
from tests.test_ingest import LAVROV_EN, rss

FETCH_TIMEOUT = 2.0
MAX_RSS_GROWTH_KB = 200 * 1024
ARABIC_TITLE = "لافروف يلتقي كيم جونغ أون في وونسان"
ARABIC_BODY = (
    "<p>التقى وزير الخارجية الروسي سيرغي لافروف الزعيم الكوري الشمالي كيم جونغ أون في مدينة وونسان يوم السبت، "
    "ونقل إليه تحيات الرئيس فلاديمير بوتين.</p><p>وقال لافروف إن روسيا تتفهم أسباب البرنامج النووي لبيونغ يانغ، "
    "وتعهد كيم بدعم موسكو في حربها.</p>"
)

GOOD_BODY = (
    "<p>Saudi Crown Prince Mohammed bin Salman received Russian Deputy Prime Minister Alexander Novak in "
    "Riyadh on Tuesday to discuss oil output within the OPEC+ alliance.</p><p>Novak said Moscow and Riyadh "
    "would keep coordinating production cuts, and the two sides signed an energy cooperation memorandum.</p>"
)
GOOD_FEED = rss([("Novak in Riyadh", "http://good.example/a", GOOD_BODY)], title="Good Outlet")


def _context(settings: Settings, tmp_path: Path, **update: object) -> Context:
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    return build_context(
        settings.model_copy(update={"sources_file": empty, "fetch_timeout": FETCH_TIMEOUT, **update})
    )


@pytest.fixture
def ctx(settings: Settings, tmp_path: Path) -> Context:
    return _context(settings, tmp_path)


def _add(ctx: Context, location: str, kind: str) -> int:
    with ctx.db.session() as session:
        return add_source(session, location=location, kind=kind, actor="test").id


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _run_beside_good(ctx: Context, server: WebServer, hostile: str, kind: str = "feed") -> SourceReport:
    """Ingest `hostile` with a good feed in the same run; return the hostile report after the checks."""
    good = server.add("/good.xml", GOOD_FEED)
    good_id, bad_id = _add(ctx, good, "feed"), _add(ctx, hostile, kind)
    before = _peak_rss_kb()
    reports = {r.source_id: r for r in await ingest_due(ctx)}
    assert _peak_rss_kb() - before < MAX_RSS_GROWTH_KB
    assert reports[good_id].error is None and len(reports[good_id].new) == 1
    return reports[bad_id]


def _health(ctx: Context, source_id: int) -> str:
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source.last_error or ""


def _stored_urls(ctx: Context) -> list[str | None]:
    with ctx.db.session() as session:
        return [a.url for a in session.scalars(select(Article).order_by(Article.id))]


# ---------------------------------------------------------------- XML


async def test_billion_laughs_is_refused_without_expanding(ctx: Context, web_server: WebServer) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>'
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>&lol9;</title><link>http://x.example/1</link></item></channel></rss>"
    )
    report = await _run_beside_good(ctx, web_server, web_server.add("/lol.xml", body.encode()))
    assert report.error and "entities" in report.error and report.new == []


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{dtd}">]>',
        '<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{dtd}"> %ext;]>',
        '<!DOCTYPE rss SYSTEM "{dtd}">',
    ],
    ids=["external-entity", "parameter-entity", "external-dtd"],
)
async def test_external_entities_are_never_fetched(ctx: Context, web_server: WebServer, doctype: str) -> None:
    dtd = web_server.add(
        "/evil.dtd", b'<!ENTITY xxe "INJECTED-FROM-DTD">', content_type="application/xml-dtd"
    )
    body = (
        '<?xml version="1.0"?>' + doctype.format(dtd=dtd) + '<rss version="2.0"><channel><title>T</title>'
        "<item><title>A &xxe; B</title><link>http://x.example/xxe</link><description>"
        + LAVROV_EN.replace("<", "&lt;")
        + "</description></item></channel></rss>"
    )
    report = await _run_beside_good(ctx, web_server, web_server.add("/xxe.xml", body.encode()))
    assert web_server.requests_for("/evil.dtd") == []
    with ctx.db.session() as session:
        titles = list(session.scalars(select(Article.title)))
    assert not any("INJECTED" in (t or "") for t in titles)
    assert report.error is None or "entities" in report.error


# ---------------------------------------------------------------- size and time


def _stream_forever(handler: BaseHTTPRequestHandler, request: Recorded, *, total: int = 50 * 2**20) -> None:
    """50 MB of feed-looking bytes with no Content-Length, written without holding them in memory."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"<!-- padding -->" * 65536
    try:
        handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        for _ in range(total // len(chunk)):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


async def test_a_50_mb_streamed_body_is_cut_at_the_limit(ctx: Context, web_server: WebServer) -> None:
    report = await _run_beside_good(ctx, web_server, web_server.handler("/huge.xml", _stream_forever))
    assert report.error and "limit" in report.error
    assert "limit" in _health(ctx, report.source_id)


async def test_a_50_mb_declared_body_is_refused_before_reading(ctx: Context, web_server: WebServer) -> None:
    url = web_server.add("/declared.xml", b"x" * 1024, headers={"Content-Length": str(50 * 2**20)})
    report = await _run_beside_good(ctx, web_server, url)
    assert report.error and "Content-Length" in report.error


def _gzip_bomb(expanded: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    zeros = b"\0" * 2**20
    return b"".join(packer.compress(zeros) for _ in range(expanded // len(zeros))) + packer.flush()


async def test_a_gzip_bomb_is_stopped_by_what_it_expands_to(ctx: Context, web_server: WebServer) -> None:
    bomb = _gzip_bomb(256 * 2**20)  # 256 MiB of zeros in about 250 KB
    url = web_server.add(
        "/bomb.xml", bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    report = await _run_beside_good(ctx, web_server, url)
    assert report.error and "limit" in report.error


async def test_a_server_trickling_one_byte_a_second_times_out(ctx: Context, web_server: WebServer) -> None:
    url = web_server.add("/slow.xml", rss([("t", "http://x.example/s", LAVROV_EN)]), trickle=1.0)
    report = await _run_beside_good(ctx, web_server, url)
    assert report.error and f"{FETCH_TIMEOUT:g} s" in report.error


# ---------------------------------------------------------------- redirects


async def test_a_redirect_loop_is_reported_as_a_loop(ctx: Context, web_server: WebServer) -> None:
    web_server.redirect("/loop-a", web_server.url("/loop-b"))
    web_server.redirect("/loop-b", web_server.url("/loop-a"))
    report = await _run_beside_good(ctx, web_server, web_server.url("/loop-a"))
    assert report.error and "loop" in report.error
    assert len(web_server.requests_for("/loop-a")) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("file:///etc/passwd", "only http and https"),
    ],
    ids=["cloud-metadata", "file-scheme"],
)
async def test_redirects_to_forbidden_places_are_refused(
    ctx: Context, web_server: WebServer, target: str, reason: str
) -> None:
    report = await _run_beside_good(ctx, web_server, web_server.redirect("/away", target))
    assert report.error and reason in report.error


async def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(
    settings: Settings, tmp_path: Path, web_server: WebServer
) -> None:
    # Only the name "localhost" is allowed; the same server reached as 127.0.0.1 must not be.
    ctx = _context(settings, tmp_path, fetch_allowed_private_hosts=["localhost"])
    secret = web_server.add("/internal-secret", b"top secret")
    on_localhost = web_server.redirect("/hop", secret).replace("127.0.0.1", "localhost")
    good = web_server.add("/good.xml", GOOD_FEED)
    good_id = _add(ctx, good.replace("127.0.0.1", "localhost"), "feed")
    bad_id = _add(ctx, on_localhost, "url")
    reports = {r.source_id: r for r in await ingest_due(ctx)}
    assert reports[good_id].error is None and len(reports[good_id].new) == 1
    assert "127.0.0.1" in (reports[bad_id].error or "") and "loopback" in (reports[bad_id].error or "")
    assert len(web_server.requests_for("/hop")) == 1 and web_server.requests_for("/internal-secret") == []


# ---------------------------------------------------------------- content


async def test_javascript_links_in_a_feed_never_become_article_urls(
    ctx: Context, web_server: WebServer
) -> None:
    items = [
        ("Kim hosts Lavrov", "javascript:alert(document.cookie)", LAVROV_EN),
        ("Kim hosts Lavrov again", "JaVaScRiPt:alert(1)", LAVROV_EN.replace("Saturday", "Sunday")),
        ("Data link", "data:text/html,<script>alert(1)</script>", LAVROV_EN.replace("Wonsan", "Pyongyang")),
    ]
    report = await _run_beside_good(ctx, web_server, web_server.add("/js.xml", rss(items)))
    assert report.error is None
    urls = _stored_urls(ctx)
    assert len(urls) >= 2
    assert all(u is None or u.startswith(("http://", "https://")) for u in urls)


def _feed_in(charset_label: str, body: bytes) -> bytes:
    return f'<?xml version="1.0" encoding="{charset_label}"?>'.encode() + body


ARABIC_RSS = rss([(ARABIC_TITLE, "http://ar.example/1", ARABIC_BODY)])
ARABIC_RSS_BODY = ARABIC_RSS.split(b"?>", 1)[1]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ARABIC_RSS.replace("وونسان".encode(), b"\xff\xfe\xc3(\x80"), "application/rss+xml; charset=utf-8"),
        (_feed_in("iso-8859-1", ARABIC_RSS_BODY.decode().encode("cp1256")), "application/rss+xml"),
        (_feed_in("utf-8", ARABIC_RSS_BODY.decode().encode("cp1256")), "text/xml; charset=utf-8"),
        (ARABIC_RSS, "application/rss+xml; charset=windows-1252"),
    ],
    ids=["invalid-utf8", "cp1256-labelled-latin1", "cp1256-labelled-utf8", "utf8-labelled-cp1252"],
)
async def test_bad_and_mislabelled_charsets_store_readable_text_or_fail_clearly(
    ctx: Context, web_server: WebServer, body: bytes, content_type: str
) -> None:
    report = await _run_beside_good(
        ctx, web_server, web_server.add("/cs.xml", body, content_type=content_type)
    )
    with ctx.db.session() as session:
        stored = [a for a in session.scalars(select(Article)) if a.url == "http://ar.example/1"]
    if report.error is not None:
        assert stored == [] and report.error.strip()
        return
    [article] = stored
    article.text.encode("utf-8")  # no lone surrogates reach the archive
    assert "لافروف" in article.title and "لافروف" in article.text


def _nested_page(depth: int) -> bytes:
    paragraph = "<p>" + LAVROV_EN + "</p>"
    return (
        "<html><head><title>Deep</title></head><body>"
        + paragraph
        + "<div>" * depth
        + "deep"
        + "</div>" * depth
        + "</body></html>"
    ).encode()


async def test_a_page_with_100000_nested_tags_is_read_or_refused_clearly(
    ctx: Context, web_server: WebServer
) -> None:
    url = web_server.add("/deep.html", _nested_page(100_000), content_type="text/html; charset=utf-8")
    report = await _run_beside_good(ctx, web_server, url, kind="url")
    assert report.error is None or report.error.strip()


async def test_an_empty_feed_stores_nothing_and_an_empty_body_is_reported(
    ctx: Context, web_server: WebServer
) -> None:
    empty_feed = web_server.add("/empty.xml", rss([]))
    blank = web_server.add("/blank.xml", b"   \n")
    report = await _run_beside_good(ctx, web_server, empty_feed)
    assert report.error is None and report.new == []
    blank_id = _add(ctx, blank, "feed")
    [blank_report] = await ingest_due(ctx, source_ids=[blank_id])
    assert blank_report.error and "empty" in blank_report.error


async def test_a_feed_whose_guids_all_repeat_stores_each_story_once(
    ctx: Context, web_server: WebServer
) -> None:
    bodies = [LAVROV_EN.replace("Saturday", day) for day in ("Monday", "Tuesday", "Wednesday", "Thursday")]
    items = "".join(
        f"<item><title>Story {i}</title><link>http://same.example/{i}</link><guid>same-guid</guid>"
        f"<description><![CDATA[{body}]]></description></item>"
        for i, body in enumerate(bodies)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Rep</title>{items}</channel></rss>'
    report = await _run_beside_good(ctx, web_server, web_server.add("/repeat.xml", feed.encode()))
    assert report.error is None
    [again] = await ingest_due(ctx, source_ids=[report.source_id], force=True)
    assert again.error is None and again.new == []
    repeated = [u for u in _stored_urls(ctx) if u and u.startswith("http://same.example/")]
    assert 1 <= len(repeated) <= len(bodies)


async def test_an_ingest_round_stopped_midway_gives_its_sources_back_at_once(
    ctx: Context, web_server: WebServer
) -> None:
    url = web_server.add("/slow.xml", rss([("t", "http://x.example/s", LAVROV_EN)]), trickle=1.0)
    with ctx.db.session() as session:
        source_id = add_source(session, location=url, kind="feed", actor="test").id
    round_ = asyncio.create_task(ingest_due(ctx))
    await until(lambda: web_server.requests_for("/slow.xml"))  # the read is under way
    round_.cancel()
    with pytest.raises(asyncio.CancelledError):
        await round_
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None and source.lease_until is None
