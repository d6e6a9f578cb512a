"""What every source reader produces, before cleaning, classification and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class RawItem:
    """One article as a source gave it.

    `text` is plain text (paragraphs separated by blank lines). A feed entry that carries
    only a teaser has `needs_fetch` set: its `url` must be fetched and extracted.
    """

    title: str
    text: str
    url: str | None = None
    guid: str | None = None
    published: datetime | None = None
    outlet: str | None = None
    needs_fetch: bool = False
    extra: dict[str, str] = field(default_factory=dict)
