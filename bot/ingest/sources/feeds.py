"""RSS and Atom feeds (bytes as fetched) turned into `RawItem`s, with feedparser."""

from __future__ import annotations

import calendar
import email.utils
import html
import io
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml import etree

from bot.ingest.charset import decode_xml
from bot.ingest.sources.model import RawItem
from bot.ingest.sources.urls import is_http_url, redacted

FeedKind = Literal["rss", "atom", "cdf"]

MAX_FEED_BYTES = 20_000_000
MIN_FULL_TEXT_CHARS = 600

# feedparser's own split between the prolog and the document: the first tag that starts with a name.
_ROOT_START = re.compile(rb"<\w")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_SPACES = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


class FeedError(ValueError):
    """Bytes that are not a feed newsbrief can read."""


@dataclass(slots=True)
class ParsedFeed:
    """A feed's title, its format and its entries."""

    title: str
    kind: FeedKind
    items: list[RawItem] = field(default_factory=list)
    charset: str = ""  # which rule decoded the feed's bytes (`Decoded.rule`)
    total: int = 0  # entries the feed held; more than len(items) when `max_items` cut it


def parse_feed(
    content: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    min_full_text_chars: int = MIN_FULL_TEXT_CHARS,
    max_items: int | None = None,
) -> ParsedFeed:
    """Parse RSS/Atom bytes fetched from `url`; raises FeedError for anything that is not a feed.

    With `max_items`, only the newest `max_items` entries are parsed (see `newest_entries`).
    """
    where = redacted(url)
    if not content.strip():
        raise FeedError(f"{where}: the answer is empty, not a feed")
    if len(content) > max_bytes:
        raise FeedError(f"{where}: the feed is {len(content):,} bytes, more than the {max_bytes:,} allowed")
    data, decoded = decode_xml(content, content_type=content_type, url=url)
    _refuse_entity_declarations(data, where)
    data, total = newest_entries(data, max_items) if max_items is not None else (data, None)
    # A BytesIO, never bytes or str: feedparser treats a str as a URL or path to open.
    # No charset in the Content-Type: the bytes are UTF-8 now, whatever the prolog said before.
    headers = {"content-type": "application/xml", "content-location": url}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    kind = _kind(parsed.get("version") or "")
    if kind is None:
        raise FeedError(f"{where}: not an RSS or Atom feed ({_reason(parsed)})")
    outlet = _plain_title(parsed.feed.get("title_detail"), parsed.feed.get("title", ""))
    language = str(parsed.feed.get("language") or "")
    items = [
        _item(entry, feed_url=url, outlet=outlet, language=language, min_chars=min_full_text_chars)
        for entry in parsed.entries[:max_items]
    ]
    for item in items:
        item.extra["charset"] = decoded.rule
    return ParsedFeed(
        title=outlet, kind=kind, items=items, charset=decoded.rule, total=total or len(parsed.entries)
    )


_ENTRY_TAGS = frozenset({"item", "entry"})
_DATE_TAGS = ("pubDate", "published", "updated", "date", "issued", "modified")


def newest_entries(data: bytes, max_items: int) -> tuple[bytes, int | None]:
    """The feed with only its `max_items` newest entries, and how many it held (None: not counted).

    feedparser costs about 10 ms per full-text entry, so a 20,000-entry feed would hold the ingest
    worker for minutes: the entries beyond the cut are dropped from the XML before feedparser sees
    them, which lxml does in milliseconds. Newest by the entry's date; undated entries, and ties, keep
    the feed's order (feeds list the newest first). XML that lxml cannot parse is left whole for
    feedparser's lenient parser, and the caller cuts its entries afterwards.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return data, None
    entries = [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname in _ENTRY_TAGS]
    if len(entries) <= max_items:
        return data, len(entries)
    ranked = sorted(range(len(entries)), key=lambda i: (-_entry_time(entries[i]), i))
    for i in ranked[max_items:]:
        entry = entries[i]
        parent = entry.getparent()
        if parent is not None:
            parent.remove(entry)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8"), len(entries)


def _entry_time(entry: Any) -> float:
    """The entry's date as a POSIX time; 0 for an undated entry (so it sorts after every dated one)."""
    for child in entry:
        if isinstance(child.tag, str) and etree.QName(child).localname in _DATE_TAGS and child.text:
            when = _parse_date(child.text.strip())
            if when is not None:
                return when.timestamp()
    return 0.0


def _parse_date(text: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)  # RSS: RFC 822
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))  # Atom and Dublin Core: ISO 8601
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: block elements become paragraphs separated by blank lines."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _SPACES.sub(" ", fragment).strip()
    etree.strip_elements(root, "script", "style", etree.Comment, with_tail=False)
    for element in root.iter():
        # Collapse source whitespace first, so only the breaks added below survive.
        element.text = _SPACES.sub(" ", element.text) if element.text else element.text
        element.tail = _SPACES.sub(" ", element.tail) if element.tail else element.tail
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCK_TAGS:
            element.text = "\n\n" + (element.text or "")
            element.tail = "\n\n" + (element.tail or "")
    paragraphs = (_clean_paragraph(p) for p in _PARAGRAPH_BREAK.split(root.text_content()))
    return "\n\n".join(p for p in paragraphs if p)


def _clean_paragraph(paragraph: str) -> str:
    lines = (line.strip() for line in paragraph.split("\n"))
    return "\n".join(line for line in lines if line)


def _refuse_entity_declarations(data: bytes, where: str) -> None:
    """Refuse DTD entity declarations before feedparser sees them.

    feedparser never fetches external DTDs or entities, and expat stops a billion-laughs expansion;
    but when the strict parse fails, feedparser's loose parser re-expands the internal entities it
    deems safe without any bound (a 50 KB entity used 50,000 times took minutes and gigabytes).
    Feeds have no need for entities, so any declaration in the prolog is refused.
    """
    root = _ROOT_START.search(data)
    prolog = data[: root.start()] if root else data
    if b"<!ENTITY" in prolog:
        raise FeedError(f"{where}: the feed declares XML entities, which are refused for safety")


def _kind(version: str) -> FeedKind | None:
    if version.startswith("rss"):
        return "rss"
    if version.startswith("atom"):
        return "atom"
    if version == "cdf":
        return "cdf"
    return None


def _reason(parsed: Any) -> str:
    error = parsed.get("bozo_exception")
    return f"{type(error).__name__}: {error}"[:200] if error else "no feed element found"


def _item(entry: Any, *, feed_url: str, outlet: str, language: str, min_chars: int) -> RawItem:
    url = _entry_url(entry, feed_url)
    summary = _plain(entry.get("summary", ""), entry.get("summary_detail"))
    full = _full_text(entry)
    # feedparser copies content:encoded into the summary when there is no description.
    substantial = len(full) >= min_chars and len(full) >= len(summary)
    return RawItem(
        title=_plain_title(entry.get("title_detail"), entry.get("title", "")),
        text=full if substantial else max(summary, full, key=len),
        url=url,
        guid=(entry.get("id") or "").strip() or url,
        published=_published(entry),
        outlet=outlet or None,
        needs_fetch=not substantial,
        extra=_extra(entry, feed_url, language),
    )


def _entry_url(entry: Any, feed_url: str) -> str | None:
    link = (entry.get("link") or "").strip()
    if not link:
        return None
    absolute = urljoin(feed_url, link)
    return absolute if is_http_url(absolute) else None


def _full_text(entry: Any) -> str:
    texts = [_plain(part.get("value", ""), part) for part in entry.get("content") or []]
    return max(texts, key=len, default="")


def _plain(value: str, detail: Any) -> str:
    # Feeds label HTML summaries as text/plain often enough that the markup itself must decide.
    if _is_html(detail) or _LOOKS_LIKE_HTML.search(value):
        return html_to_text(value)
    paragraphs = (_SPACES.sub(" ", p).strip() for p in _PARAGRAPH_BREAK.split(value.replace("\r", "")))
    return "\n\n".join(p for p in paragraphs if p)


_LOOKS_LIKE_HTML = re.compile(r"</?(?:p|br|div|span|a|b|i|em|strong|ul|li|img)\b[^>]*>", re.IGNORECASE)


def _plain_title(detail: Any, value: str) -> str:
    text = html_to_text(value) if _is_html(detail) else value
    # Feeds often escape twice ("&amp;amp;"); a title never needs a literal entity.
    return _SPACES.sub(" ", html.unescape(text)).strip()


def _is_html(detail: Any) -> bool:
    return bool(detail) and detail.get("type") in _HTML_TYPES


def _published(entry: Any) -> datetime | None:
    stamp: time.struct_time | None = entry.get("published_parsed") or entry.get("updated_parsed")
    if not stamp:
        return None
    return datetime.fromtimestamp(calendar.timegm(stamp), UTC)


def _extra(entry: Any, feed_url: str, feed_language: str) -> dict[str, str]:
    extra = {"feed_url": feed_url}
    author = entry.get("author")
    if author:
        extra["author"] = str(author)
    language = (entry.get("title_detail") or {}).get("language") or feed_language
    if language:
        extra["language"] = str(language)
    return extra
