"""Brief composition and plain renderers.

A brief is for one thread and one language, as of a moment: the stories new or updated since a given
time, most important first (more outlets, more recent, more figures), each with its headline, its
bullets with citation markers, and a sources line. The payload is a platform-neutral structure of
plain data, stored once and never changed; Telegram and Slack renderers build on it later. Text
that came from articles stays data in the payload; renderers escape it for their markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.attribution import citations
from bot.attribution.labels import corroboration_text, kind_marker
from bot.summarize import Summary

PAYLOAD_FORMAT = 1
DEFAULT_MAX_STORIES = 20
# Importance: outlets count most, then recency (half-life-like decay in days), then figures.
OUTLET_WEIGHT = 1.0
MEMBER_WEIGHT = 0.25
RECENCY_WEIGHT = 1.5
RECENCY_DAYS = 2.0
FIGURE_WEIGHT = 0.1
MAX_FIGURES_COUNTED = 8

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "brief": "{thread}: brief of {date}",
        "sources": "Sources",
        "outlets": "{n} independent outlet(s)",
        "nothing_since": "Nothing new on {thread} since {since}.",
        "nothing": "No stories on {thread} yet.",
        "fallback": "offline summary",
        "full_brief": "Read the whole brief on the web",
        "story_page": "The story on the web",
    },
    "ar": {
        "brief": "{thread}: موجز {date}",
        "sources": "المصادر",
        "outlets": "عدد المنافذ المستقلة: {n}",
        "nothing_since": "لا جديد في ملف {thread} منذ {since}.",
        "nothing": "لا توجد أخبار في ملف {thread} بعد.",
        "fallback": "ملخص دون نموذج",
        "full_brief": "اقرأ الموجز كاملاً على الويب",
        "story_page": "الخبر على الويب",
    },
}


class BriefError(ValueError):
    """A brief was asked for with bad arguments (unknown language, thread...)."""


@dataclass(frozen=True, slots=True)
class Member:
    """A story's member article as the brief cites it."""

    article_id: int
    outlet: str
    url: str | None
    title: str
    lang: str
    when: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """One story ready for a brief: its summary in the brief's language and its members."""

    story_id: int
    summary: Summary
    members: Sequence[Member]
    first_report: datetime | None
    last_report: datetime | None
    figure_count: int = 0


def labels(lang: str) -> dict[str, str]:
    """The fixed words of a brief in `lang`."""
    if lang not in LABELS:
        raise BriefError(f"language must be one of {', '.join(sorted(LABELS))}, not {lang!r}")
    return LABELS[lang]


def page_link_label(payload: Mapping[str, Any]) -> str:
    """The words of the link to a brief's (or an alert's story's) web page."""
    return labels(payload["lang"])["story_page" if payload.get("kind") == "alert" else "full_brief"]


def outlet_of(outlet: str, url: str | None, source_name: str = "") -> str:
    """An article's outlet: its own, else its URL's host, else its source's name."""
    if outlet.strip():
        return outlet.strip()
    host = urlsplit(url).hostname if url and "://" in url else None
    if host:
        return host.removeprefix("www.")
    return source_name.strip() or "unknown outlet"


def importance(entry: StoryEntry, as_of: datetime) -> float:
    """More outlets, more recent, more figures: a higher score."""
    outlets = len({m.outlet for m in entry.members})
    last = entry.last_report or as_of
    age_days = max(0.0, (as_of - last).total_seconds() / 86400)
    return (
        OUTLET_WEIGHT * outlets
        + MEMBER_WEIGHT * len(entry.members)
        + RECENCY_WEIGHT * math.exp(-age_days / RECENCY_DAYS)
        + FIGURE_WEIGHT * min(entry.figure_count, MAX_FIGURES_COUNTED)
    )


def compose(
    *,
    thread_id: str,
    thread_name: str,
    lang: str,
    as_of: datetime,
    since: datetime | None,
    entries: Sequence[StoryEntry],
    max_stories: int = DEFAULT_MAX_STORIES,
) -> dict[str, Any]:
    """The brief's payload: plain JSON-ready data, most important story first."""
    words = labels(lang)
    ranked = sorted(entries, key=lambda e: (-importance(e, as_of), -e.story_id))[:max_stories]
    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "thread": {"id": thread_id, "name": thread_name},
        "lang": lang,
        "as_of": as_of.isoformat(),
        "since": since.isoformat() if since else None,
        "title": words["brief"].format(thread=thread_name, date=as_of.strftime("%Y-%m-%d")),
        "stories": [_story(e, as_of) for e in ranked],
        "empty": not ranked,
        "message": "",
    }
    if not ranked:
        when = since.strftime("%Y-%m-%d %H:%M UTC") if since else ""
        payload["message"] = (words["nothing_since"] if since else words["nothing"]).format(
            thread=thread_name, since=when
        )
    return payload


def _story(entry: StoryEntry, as_of: datetime) -> dict[str, Any]:
    sources = citations.number(entry.members, dates={m.article_id: m.when for m in entry.members})
    markers = {c.article_id: c.n for c in sources}
    summary = entry.summary
    return {
        "story_id": entry.story_id,
        "headline": summary.headline,
        "method": summary.method,
        "note": summary.note,
        "bullets": [
            {"text": b.text, "cites": sorted({markers[c] for c in b.cites if c in markers}), "kind": b.kind}
            for b in summary.bullets
        ],
        "sources": [c.to_dict() for c in sources],
        "outlet_count": len({c.outlet for c in sources}),
        "first_report": entry.first_report.isoformat() if entry.first_report else None,
        "last_report": entry.last_report.isoformat() if entry.last_report else None,
        "importance": round(importance(entry, as_of), 3),
    }


# ---------------------------------------------------------------- rendering


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def story_citations(story: Mapping[str, Any]) -> list[citations.Citation]:
    """A stored story's numbered sources."""
    return [citations.Citation.from_dict(source) for source in story["sources"]]


def sources_heading(story: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """ "Sources (2 independent outlet(s)):" in the brief's language."""
    return f"{words['sources']} ({words['outlets'].format(n=story['outlet_count'])}):"


def render_text(payload: Mapping[str, Any]) -> str:
    """The brief as plain text."""
    words = labels(payload["lang"])
    lines = [_one_line(payload["title"]), ""]
    if payload["empty"]:
        return "\n".join([*lines, _one_line(payload["message"])])
    for story in payload["stories"]:
        tag = f" ({words['fallback']})" if story["method"] == "fallback" else ""
        lines.append(f"■ {_one_line(story['headline'])}{tag}")
        lines += [f"  {line}" for line in [corroboration_text(story, payload["lang"])] if line]
        for bullet in story["bullets"]:
            marks = "".join(f"[{n}]" for n in bullet["cites"])
            kind = kind_marker(bullet, payload["lang"])
            lines.append(f"  • {kind}{_one_line(bullet['text'])} {marks}".rstrip())
        if story["note"]:
            lines.append(f"  ({_one_line(story['note'])})")
        lines.append(f"  {_text_sources(story, words, payload['lang'])}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _text_sources(story: Mapping[str, Any], words: Mapping[str, str], lang: str) -> str:
    lines = [sources_heading(story, words)]
    lines += [f"    {citations.text_line(c, lang)}" for c in story_citations(story)]
    return "\n  ".join(lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def escape_markdown(text: str) -> str:
    """Article-derived text made inert in Markdown: one line, every metacharacter escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _markdown_url(url: str) -> str:
    return quote(url, safe=":/?#&=%@+,;~!$'*")


def render_markdown(payload: Mapping[str, Any]) -> str:
    """The brief as Markdown; every string from an article is escaped."""
    words = labels(payload["lang"])
    lines = [f"## {escape_markdown(payload['title'])}", ""]
    if payload["empty"]:
        return "\n".join([*lines, escape_markdown(payload["message"])]) + "\n"
    for story in payload["stories"]:
        tag = f" _({escape_markdown(words['fallback'])})_" if story["method"] == "fallback" else ""
        lines += [f"### {escape_markdown(story['headline'])}{tag}", ""]
        lines += [
            f"_{escape_markdown(line)}_\n" for line in [corroboration_text(story, payload["lang"])] if line
        ]
        for bullet in story["bullets"]:
            marks = "".join(f"\\[{n}\\]" for n in bullet["cites"])
            kind = escape_markdown(kind_marker(bullet, payload["lang"]).strip())
            lines.append(
                f"- {f'**{kind}** ' if kind else ''}{escape_markdown(bullet['text'])} {marks}".rstrip()
            )
        if story["note"]:
            lines += ["", f"_{escape_markdown(story['note'])}_"]
        lines += ["", _markdown_sources(story, words, payload["lang"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_sources(story: Mapping[str, Any], words: Mapping[str, str], lang: str) -> str:
    lines = [f"**{escape_markdown(sources_heading(story, words))}**", ""]
    for c in story_citations(story):
        # Angle brackets as entities: a title's "<a href=…>" must not even look like markup.
        shown = " — ".join(
            escape_markdown(p).replace("\\<", "&lt;").replace("\\>", "&gt;")
            for p in citations.fields(c, lang)
        )
        link = f" [link]({_markdown_url(c.link)})" if c.link else ""
        lines.append(f"- \\[{c.n}\\] {shown}{link}")
    return "\n".join(lines).rstrip()
