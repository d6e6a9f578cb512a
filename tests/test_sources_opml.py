"""OPML: nested folders, round trips, local paths, and XML that must be refused."""

from __future__ import annotations

import pytest

from bot.ingest.sources.opml import OpmlEntry, OpmlError, export_opml, parse_opml

FEEDLY_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Feedly subscriptions</title></head>
  <body>
    <outline text="Asia" title="Asia">
      <outline text="Korea" title="Korea">
        <outline type="rss" text="NK News" title="NK News" xmlUrl="https://www.nknews.org/feed/" htmlUrl="https://www.nknews.org"/>
      </outline>
      <outline type="rss" text="Yonhap" xmlUrl="https://en.yna.co.kr/RSS/news.xml"/>
    </outline>
    <outline type="rss" text="\xd8\xa7\xd9\x84\xd8\xb4\xd8\xb1\xd9\x82 \xd8\xa7\xd9\x84\xd8\xa3\xd9\x88\xd8\xb3\xd8\xb7" xmlUrl="https://aawsat.com/feed" category="/Arabic/Gulf,/Other"/>
    <outline type="rss" text="Duplicate" xmlUrl="https://www.nknews.org/feed/"/>
    <outline type="rss" text="Bad scheme" xmlUrl="javascript:alert(1)"/>
    <outline type="rss" text="No title" xmlUrl="https://notitle.example/rss"/>
  </body>
</opml>"""


def test_nested_outlines_become_feeds_with_their_folder() -> None:
    entries = parse_opml(FEEDLY_EXPORT)

    assert entries == [
        OpmlEntry("https://www.nknews.org/feed/", "NK News", "Asia/Korea"),
        OpmlEntry("https://en.yna.co.kr/RSS/news.xml", "Yonhap", "Asia"),
        OpmlEntry("https://aawsat.com/feed", "الشرق الأوسط", "Arabic/Gulf"),
        OpmlEntry("https://notitle.example/rss", "No title", None),
    ]
    assert all(entry.kind == "feed" for entry in entries)


def test_export_round_trips_feeds_paths_and_folders() -> None:
    entries = [
        OpmlEntry("https://a.example/rss", "A & B <news>", "News/Asia"),
        OpmlEntry("https://b.example/atom", "الشرق", None),
        OpmlEntry("/srv/newsbrief/seeds", "Seed articles", "Local"),
        OpmlEntry("https://c.example/feed", "C", "News"),
    ]

    document = export_opml(entries, title="my sources")

    assert document.startswith("<?xml")
    assert "<title>my sources</title>" in document
    assert 'newsbrief:path="/srv/newsbrief/seeds"' in document
    assert parse_opml(document.encode("utf-8")) == [entries[0], entries[3], entries[1], entries[2]]
    assert [e.kind for e in parse_opml(document.encode())] == ["feed", "feed", "feed", "path"]


def test_export_of_nothing_is_a_valid_empty_document() -> None:
    assert parse_opml(export_opml([]).encode()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not well-formed"),
        (b"<html><body>hi</body></html>", "root element is <html>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"<opml><body><outline", "not well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<opml><body><outline text="&b;" xmlUrl="https://a.example/"/></body></opml>',
            "forbidden XML features",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>',
            "forbidden XML features",
        ),
    ],
)
def test_what_is_not_safe_opml_raises_opml_error(content: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(content)


def test_an_oversized_file_is_refused() -> None:
    with pytest.raises(OpmlError, match="more than the 100 allowed"):
        parse_opml(FEEDLY_EXPORT, max_bytes=100)
