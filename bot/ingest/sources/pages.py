"""Article pages (HTML as fetched) turned into a `RawItem`: main text and metadata, with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title, extract_url
from trafilatura.settings import Document
from trafilatura.utils import load_html

from bot.ingest.charset import decode_body
from bot.ingest.sources.model import RawItem
from bot.ingest.sources.urls import is_http_url, redacted

MAX_PAGE_BYTES = 5_000_000
# Shorter than this is a menu, a caption or a cookie notice, not an article.
MIN_TEXT_CHARS = 80
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


class ExtractionError(ValueError):
    """A page from which no article text could be extracted."""


@dataclass(frozen=True, slots=True)
class _Meta:
    title: str
    url: str | None
    outlet: str | None
    published: datetime | None


def extract_page(
    html: str | bytes,
    *,
    url: str | None,
    max_bytes: int = MAX_PAGE_BYTES,
    min_chars: int = MIN_TEXT_CHARS,
) -> RawItem:
    """The main text and metadata of one article page; raises ExtractionError when there is none.

    `max_bytes` bounds the input (characters, for a str) so hostile pages cannot cost minutes.
    """
    where = redacted(url) if url else "the page"
    if len(html) > max_bytes:
        raise ExtractionError(f"{where} is {len(html):,} bytes, more than the {max_bytes:,} allowed")
    decoded = decode_body(html, url=url) if isinstance(html, bytes) else None
    text = decoded.text if decoded else str(html)
    tree = load_html(text) if text.strip() else None
    if tree is None:
        raise ExtractionError(f"{where} is not an HTML page")
    # Metadata first: extraction cleans (a copy of) the tree, and the page is parsed only once.
    meta = _metadata(tree, url)
    body = _main_text(tree, meta.url or url, precise=True) or _main_text(tree, meta.url or url, precise=False)
    if len(body) < min_chars:
        raise ExtractionError(f"no article text found in {where} ({len(body)} characters of text)")
    return RawItem(
        title=meta.title,
        text=body,
        url=meta.url,
        guid=meta.url,
        published=meta.published,
        outlet=meta.outlet,
        extra={"charset": decoded.rule} if decoded else {},
    )


def _main_text(tree: HtmlElement, url: str | None, *, precise: bool) -> str:
    # bare_extraction works on a copy of the tree, so a second, less strict pass can reuse it; that
    # pass runs only for pages whose text is not wrapped in paragraphs, which precision rejects.
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        # fast: no readability/jusText comparison pass, which would double the cost per page.
        fast=True,
        favor_precision=precise,
        include_comments=False,
    )
    return _paragraphs(document.text or "") if isinstance(document, Document) else ""


def _metadata(tree: HtmlElement, url: str | None) -> _Meta:
    """Title, canonical URL, outlet and date from meta tags, JSON-LD and the page's own elements.

    The cheap parts of trafilatura's metadata pass; its author and category searches and the
    extensive date search would cost more than the text extraction itself.
    """
    found = extract_meta_json(tree, examine_meta(tree))
    canonical = found.url or extract_url(tree, url)
    page_url = canonical if canonical and is_http_url(canonical) else _http_or_none(url)
    sitename = (found.sitename or extract_sitename(tree) or "").lstrip("@").strip()
    return _Meta(
        title=" ".join((found.title or extract_title(tree) or "").split()),
        url=page_url,
        outlet=sitename or None,
        published=_date(tree, page_url),
    )


def _date(tree: HtmlElement, url: str | None) -> datetime | None:
    found = find_date(tree, url=url, extensive_search=False, original_date=True, outputformat=_DATE_FORMAT)
    if not found:
        return None
    try:
        moment = datetime.fromisoformat(found)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _http_or_none(url: str | None) -> str | None:
    return url if url and is_http_url(url) else None


def _paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)
