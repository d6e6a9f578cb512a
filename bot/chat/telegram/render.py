"""Briefs and answers as Telegram HTML: every article-derived string escaped, markers linked.

Arabic messages get directional isolates around their Latin runs, and every message is split to
Telegram's 4096 UTF-16 units at paragraph, then sentence boundaries.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from bot.attribution.citations import Citation, fields
from bot.attribution.labels import corroboration_text, kind_marker
from bot.briefs.compose import labels, page_link_label, sources_heading, story_citations
from bot.chat.bidi import isolate_latin, one_line
from bot.chat.split import TELEGRAM_LIMIT, split_telegram
from bot.conversation.model import Reply
from bot.conversation.texts import t
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
        lines += _story(story, words, payload["lang"])
    return "\n".join(lines).rstrip()


def _story(story: Mapping[str, Any], words: Mapping[str, str], lang: str) -> list[str]:
    urls = {s["n"]: s.get("url") for s in story["sources"]}
    tag = f" <i>({esc(words['fallback'])})</i>" if story.get("method") == "fallback" else ""
    lines = [f"<b>■ {esc(story['headline'])}</b>{tag}"]
    lines += [f"<i>{esc(line)}</i>" for line in [corroboration_text(story, lang)] if line]
    for bullet in story["bullets"]:
        marks = "".join(marker(n, urls.get(n)) for n in bullet["cites"])
        kind = kind_marker(bullet, lang)
        lines.append(f"• {f'<b>{esc(kind)}</b> ' if kind else ''}{esc(bullet['text'])} {marks}".rstrip())
    if story.get("note"):
        lines.append(f"<i>{esc(story['note'])}</i>")
    lines += [_sources(story, words, lang), ""]
    return lines


def _sources(story: Mapping[str, Any], words: Mapping[str, str], lang: str) -> str:
    lines = [f"<i>{esc(sources_heading(story, words))}</i>"]
    lines += [_citation(c, lang) for c in story_citations(story)]
    return "\n".join(lines)


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
    lang = answer.lang
    urls = {c.n: c.url for c in answer.citations}
    text = esc_multiline(answer.text)
    for n, url in urls.items():
        href = _href(url)
        if href:
            text = text.replace(f"[{n}]", f'<a href="{href}">[{n}]</a>')
    lines = [text]
    if answer.method == "fallback":
        lines.append(f"<i>({esc(fallback_label(lang))})</i>")
    if answer.nearest:
        lines += ["", f"<i>{esc(t(lang, 'closest'))}</i>"]
        lines += [f"• {esc(title)}" for title in answer.nearest]
    if answer.citations:
        lines += ["", f"<b>{esc(t(lang, 'sources_heading'))}</b>"]
        lines += [_citation(c, lang) for c in answer.citations]
    if answer.as_of:
        lines += ["", f"<i>{esc(t(lang, 'as_of', date=answer.as_of.date().isoformat()))}</i>"]
    return "\n".join(lines)


def _citation(citation: Citation, lang: str) -> str:
    """`[n] Outlet — Title — date`, the marker linking to the article when it has an address."""
    rest = " — ".join(esc(p) for p in fields(citation, lang))
    return f"{marker(citation.n, citation.link)} {rest}"


def esc_multiline(text: str) -> str:
    """Escaped text keeping its paragraphs."""
    return "\n".join(html.escape(line, quote=False) for line in str(text).split("\n"))


def render_answer(answer: Answer, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """An answer as Telegram messages."""
    return finish(answer_html(answer), answer.lang, limit=limit)


def render_reply(reply: Reply, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """A conversation core's Reply as Telegram messages: its text, then its briefs, then its answer."""
    text = "\n".join(
        f"<b>{esc(block.text)}</b>" if block.style == "title" else esc_multiline(block.text)
        for block in reply.blocks
    )
    parts = finish(text, reply.lang, limit=limit) if text else []
    for payload in reply.briefs:
        parts += render_brief(payload, limit=limit)
    if reply.answer is not None:
        parts += render_answer(reply.answer, limit=limit)
    return parts
