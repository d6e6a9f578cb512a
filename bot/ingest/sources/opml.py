"""OPML subscription lists: read (safely, with defusedxml) and written back so they round-trip.

Feeds are `<outline type="rss" xmlUrl=...>`. Local folders and files, which other readers cannot
follow, are kept in a `newsbrief:path` attribute of our own namespace instead of `xmlUrl`.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.ingest.sources.urls import is_http_url

log = logging.getLogger(__name__)

NAMESPACE = "urn:newsbrief:opml"
MAX_OPML_BYTES = 5_000_000
_PATH_ATTRIBUTE = f"{{{NAMESPACE}}}path"


class OpmlError(ValueError):
    """Bytes that are not a readable OPML document."""


@dataclass(frozen=True, slots=True)
class OpmlEntry:
    """One subscription: a feed URL (or a local path), its title and its folder ("News/Asia")."""

    url: str
    title: str
    category: str | None = None

    @property
    def kind(self) -> Literal["feed", "path"]:
        """'feed' for an http(s) feed URL, 'path' for a local file or folder."""
        return "feed" if is_http_url(self.url) else "path"


def parse_opml(content: bytes, *, max_bytes: int = MAX_OPML_BYTES) -> list[OpmlEntry]:
    """The subscriptions of an OPML document, folders flattened into `category`, duplicates dropped."""
    if len(content) > max_bytes:
        raise OpmlError(f"the OPML file is {len(content):,} bytes, more than the {max_bytes:,} allowed")
    try:
        root = fromstring(content)
    except DefusedXmlException as error:
        raise OpmlError(f"the OPML file uses forbidden XML features ({error})") from None
    except ET.ParseError as error:
        raise OpmlError(f"not well-formed XML: {error}") from None
    if root.tag != "opml":
        raise OpmlError(f"not an OPML document: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("the OPML document has no <body>")
    entries: dict[str, OpmlEntry] = {}
    for entry in _entries(body, folders=()):
        entries.setdefault(entry.url, entry)
    return list(entries.values())


def export_opml(entries: list[OpmlEntry], *, title: str = "newsbrief sources") -> str:
    """An OPML 2.0 document of `entries`, folders nested by category; `parse_opml` reads it back."""
    ET.register_namespace("newsbrief", NAMESPACE)
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for entry in entries:
        parent = _folder(folders, _category_parts(entry.category))
        ET.SubElement(parent, "outline", _attributes(entry))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _entries(element: ET.Element, *, folders: tuple[str, ...]) -> Iterator[OpmlEntry]:
    for outline in element.findall("outline"):
        name = (outline.get("title") or outline.get("text") or "").strip()
        feed = (outline.get("xmlUrl") or "").strip()
        path = (outline.get(_PATH_ATTRIBUTE) or "").strip()
        location = feed or path
        if feed and not is_http_url(feed):
            # feed:, javascript: and the like: nothing newsbrief can fetch.
            log.info("skipped OPML outline %r: not an http(s) URL", feed[:200])
        elif location:
            category = "/".join(folders) or _first(outline.get("category"))
            yield OpmlEntry(url=location, title=name or location, category=category)
        yield from _entries(outline, folders=(*folders, name) if not location and name else folders)


def _first(category: str | None) -> str | None:
    # OPML 2.0: a comma-separated list of slash-delimited paths; the first one is the folder.
    first = (category or "").split(",")[0].strip().strip("/")
    return first or None


def _category_parts(category: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (category or "").split("/") if part.strip())


def _folder(folders: dict[tuple[str, ...], ET.Element], parts: tuple[str, ...]) -> ET.Element:
    if parts not in folders:
        parent = _folder(folders, parts[:-1])
        folders[parts] = ET.SubElement(parent, "outline", text=parts[-1], title=parts[-1])
    return folders[parts]


def _attributes(entry: OpmlEntry) -> dict[str, str]:
    if entry.kind == "feed":
        return {"type": "rss", "text": entry.title, "title": entry.title, "xmlUrl": entry.url}
    return {"text": entry.title, "title": entry.title, _PATH_ATTRIBUTE: entry.url}
