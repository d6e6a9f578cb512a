"""Citations: one structure for briefs and answers, built in one place, rendered by every renderer.

A citation is a numbered source a reader can follow: the outlet, the title, the date and the link
(when there is one). An article is listed once, whatever number of its passages or sentences are
used. Renderers (plain text, Markdown, Telegram HTML, Slack blocks) take the fields from here, so a
new field (an outlet's country or ownership, say) is added to this class and to `fields`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol

UNKNOWN_DATE = {"en": "date unknown", "ar": "تاريخ غير معروف"}


@dataclass(frozen=True, slots=True)
class Citation:
    """One source; `n` is the marker used in the text ([n]); `passage_id` is set for answers."""

    n: int
    passage_id: int | None
    article_id: int
    outlet: str
    title: str
    date: str  # ISO date, or "" when the date cannot be known
    url: str | None
    lang: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (stored in brief payloads and the QA log)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Citation:
        """Rebuild a citation stored by `to_dict` (older payloads lack some keys)."""
        return cls(
            n=int(data["n"]),
            passage_id=data.get("passage_id"),
            article_id=int(data.get("article_id") or 0),
            outlet=str(data.get("outlet") or ""),
            title=str(data.get("title") or ""),
            date=str(data.get("date") or ""),
            url=data.get("url") or None,
            lang=str(data.get("lang") or ""),
        )

    @property
    def link(self) -> str | None:
        """The URL when it is a web address a reader can open."""
        return self.url if is_link(self.url) else None


class Cited(Protocol):
    """What a citation is made from: an article (or a passage of one) with its metadata."""

    @property
    def article_id(self) -> int: ...
    @property
    def outlet(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def lang(self) -> str: ...


def is_link(url: Any) -> bool:
    """Whether `url` is an http(s) address."""
    return isinstance(url, str) and url.startswith(("http://", "https://"))


def iso_date(when: datetime | date | None) -> str:
    """An ISO date, or "" when unknown."""
    if when is None:
        return ""
    return when.date().isoformat() if isinstance(when, datetime) else when.isoformat()


def number(
    items: Iterable[Cited],
    *,
    dates: Mapping[int, datetime | date | None] | None = None,
    passages: Mapping[int, int] | None = None,
) -> list[Citation]:
    """Numbered citations, one per article, in order of first use.

    `dates` gives each article's date (by article id), `passages` the first passage used, for answers.
    """
    seen: dict[int, Citation] = {}
    for item in items:
        if item.article_id in seen:
            continue
        when = (dates or {}).get(item.article_id)
        seen[item.article_id] = Citation(
            n=len(seen) + 1,
            passage_id=(passages or {}).get(item.article_id),
            article_id=item.article_id,
            outlet=item.outlet.strip() or "unknown outlet",
            title=" ".join(item.title.split()),
            date=iso_date(when),
            url=item.url,
            lang=item.lang,
        )
    return list(seen.values())


def fields(citation: Citation, lang: str) -> list[str]:
    """The parts a reader sees after the marker, in order: outlet, title, date (the link is apart)."""
    shown_date = citation.date or UNKNOWN_DATE.get(lang, UNKNOWN_DATE["en"])
    return [p for p in (citation.outlet, citation.title, shown_date) if p]


def text_line(citation: Citation, lang: str) -> str:
    """`[n] Outlet — Title — 2025-07-12 https://…` on one line, as plain text."""
    line = " — ".join(" ".join(p.split()) for p in fields(citation, lang))
    return f"[{citation.n}] {line}" + (f" {citation.link}" if citation.link else "")
