"""Briefs and answers as Telegram HTML: every article-derived string escaped, markers linked.

Arabic messages get directional isolates around their Latin runs, and every message is split to
Telegram's 4096 UTF-16 units at paragraph, then sentence boundaries.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from bot.briefs import labels, page_link_label
from bot.chat.bidi import isolate_latin, one_line
from bot.chat.split import TELEGRAM_LIMIT, split_telegram
from bot.qa.model import Answer, fallback_label


def esc(text: Any) -> str:
    """Text made inert in Telegram HTML, on one line."""
    return html.escape(one_line(text), quote=False)


def _href(url: Any) -> str | None:
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return html.escape(url, quote=True)
    return None


def marker(n: int, url: Any) -> str:
    """A citation marker [n], linking to its source when it has a web address."""
    href = _href(url)
    return f'<a href="{href}">[{n}]</a>' if href else f"[{n}]"


def finish(text: str, lang: str, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Isolates for Arabic, then the split into messages."""
    # A lone surrogate cannot be counted in UTF-16 units nor sent as UTF-8: it becomes "?".
    text = text.encode("utf-8", "replace").decode("utf-8")
    if lang == "ar":
        text = isolate_latin(text, html=True)
    return split_telegram(text, limit=limit)


def brief_html(payload: Mapping[str, Any]) -> str:
    """The whole brief as one Telegram HTML text (before splitting)."""
    words = labels(payload["lang"])
    lines = [f"<b>{esc(payload['title'])}</b>", ""]
    if payload.get("empty"):
        return "\n".join([*lines, esc(payload.get("message", ""))])
    for story in payload["stories"]:
        lines += _story(story, words)
    return "\n".join(lines).rstrip()


def _story(story: Mapping[str, Any], words: Mapping[str, str]) -> list[str]:
    urls = {s["n"]: s.get("url") for s in story["sources"]}
    tag = f" <i>({esc(words['fallback'])})</i>" if story.get("method") == "fallback" else ""
    lines = [f"<b>■ {esc(story['headline'])}</b>{tag}"]
    for bullet in story["bullets"]:
        marks = "".join(marker(n, urls.get(n)) for n in bullet["cites"])
        lines.append(f"• {esc(bullet['text'])} {marks}".rstrip())
    if story.get("note"):
        lines.append(f"<i>{esc(story['note'])}</i>")
    lines += [_sources(story, words), ""]
    return lines


def _sources(story: Mapping[str, Any], words: Mapping[str, str]) -> str:
    groups: dict[str, list[str]] = {}
    for source in story["sources"]:
        groups.setdefault(source["outlet"], []).append(marker(source["n"], source.get("url")))
    parts = [f"{esc(outlet)} {''.join(marks)}" for outlet, marks in groups.items()]
    count = esc(words["outlets"].format(n=story["outlet_count"]))
    return f"<i>{esc(words['sources'])} ({count}):</i> " + "; ".join(parts)


def render_brief(payload: Mapping[str, Any], *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The brief as Telegram messages; a link to its web page when it had to be split (or is an alert)."""
    text = brief_html(payload)
    parts = finish(text, payload["lang"], limit=limit)
    href = _href(payload.get("page_url"))
    if href and (len(parts) > 1 or payload.get("kind") == "alert"):
        label = page_link_label(payload)
        parts = finish(
            f'{text}\n\n<a href="{href}">{html.escape(label, quote=False)}</a>', payload["lang"], limit=limit
        )
    return parts


def answer_html(answer: Answer) -> str:
    """An answer with its numbered, linked sources and its "as of" date."""
    ar = answer.lang == "ar"
    urls = {c.n: c.url for c in answer.citations}
    text = esc_multiline(answer.text)
    for n, url in urls.items():
        href = _href(url)
        if href:
            text = text.replace(f"[{n}]", f'<a href="{href}">[{n}]</a>')
    lines = [text]
    if answer.method == "fallback":
        lines.append(f"<i>({esc(fallback_label(answer.lang))})</i>")
    if answer.nearest:
        lines += ["", "<i>" + ("أقرب ما لدينا:" if ar else "Closest coverage:") + "</i>"]
        lines += [f"• {esc(title)}" for title in answer.nearest]
    if answer.citations:
        lines += ["", "<b>" + ("المصادر" if ar else "Sources") + "</b>"]
        lines += [_citation(c) for c in answer.citations]
    if answer.as_of:
        lines += ["", f"<i>{'حتى تاريخ' if ar else 'As of'} {answer.as_of.date().isoformat()}</i>"]
    return "\n".join(lines)


def _citation(citation: Any) -> str:
    head = marker(citation.n, citation.url)
    rest = " — ".join(esc(p) for p in (citation.outlet, citation.title, citation.date) if p)
    return f"{head} {rest}"


def esc_multiline(text: str) -> str:
    """Escaped text keeping its paragraphs."""
    return "\n".join(html.escape(line, quote=False) for line in str(text).split("\n"))


def render_answer(answer: Answer, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """An answer as Telegram messages."""
    return finish(answer_html(answer), answer.lang, limit=limit)


def render_lines(lines: Sequence[str], lang: str) -> list[str]:
    """Already-escaped lines of interface text as Telegram messages."""
    return finish("\n".join(lines), lang)
