"""Block Kit messages for answers and briefs.

Every string that came from an article is untrusted: it is made one line, its Latin runs isolated when
the line is Arabic, and `&`, `<`, `>` escaped before it goes into mrkdwn, so it can neither mention
anyone (`<!channel>`) nor forge a link. Sections hold at most 3000 characters, cut at sentence
boundaries (Arabic punctuation included); a message holds at most 50 blocks.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot.attribution.citations import Citation, fields
from bot.attribution.labels import corroboration_text, kind_marker
from bot.briefs.compose import page_link_label, story_citations
from bot.chat.bidi import isolate_latin, one_line
from bot.chat.split import SLACK_SECTION_LIMIT, split_message
from bot.conversation import Button, Reply, t
from bot.qa.model import Answer, fallback_label

MAX_BLOCKS = 50
MAX_CONTEXT_ELEMENTS = 10
MAX_TITLE = 150
MAX_FALLBACK = 300
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
# The core's buttons, by kind, as Slack action ids (the preview's keep the names they always had).
SOURCE_CONFIRM = "source_confirm"
SOURCE_CANCEL = "source_cancel"
ACTION_IDS = {"add": SOURCE_CONFIRM, "noadd": SOURCE_CANCEL}
CORE_ACTION = "core"  # prefix of every other core button's action id

Message = dict[str, Any]
Block = dict[str, Any]


def escape(text: str) -> str:
    """Text made inert in mrkdwn: &, < and > escaped as Slack requires."""
    return html.escape(text, quote=False)


def plain(text: Any, *, limit: int | None = None) -> str:
    """An article-derived string as one escaped mrkdwn line, Latin runs isolated in Arabic lines."""
    line = one_line(text)
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return escape(isolate_latin(line))


def link(url: Any, label: str) -> str:
    """`<url|label>` for an http(s) URL (label already escaped), else the label alone."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return label
    safe = quote(url, safe=":/?#&=%@+,;~!$'*()[]")
    return f"<{escape(safe)}|{label}>"


def section(text: str) -> Block:
    """A mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def sections(text: str) -> list[Block]:
    """Sections of at most 3000 characters, cut at paragraph then sentence boundaries."""
    return [section(part) for part in split_message(text, SLACK_SECTION_LIMIT)]


def context_blocks(elements: Sequence[str]) -> list[Block]:
    """Context blocks of at most ten mrkdwn elements each."""
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": e} for e in chunk]}
        for chunk in _chunks([e[:SLACK_SECTION_LIMIT] for e in elements if e], MAX_CONTEXT_ELEMENTS)
    ]


def messages(blocks: Sequence[Block], fallback: str) -> list[Message]:
    """Blocks packed into messages of at most 50 blocks, each with a notification text."""
    text = fallback[:MAX_FALLBACK] or "newsbrief"
    return [{"text": text, "blocks": list(chunk)} for chunk in _chunks(list(blocks), MAX_BLOCKS)]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))


# ---------------------------------------------------------------- answers


def answer_messages(answer: Answer, *, ui_lang: str | None = None) -> list[Message]:
    """An answer: its text, the nearest stories of a refusal, numbered sources, "as of" and 👍/👎."""
    lang = ui_lang or answer.lang
    body = escape(isolate_latin(answer.text.strip()))
    if answer.nearest:
        body += "\n" + "\n".join(f"• {plain(title)}" for title in answer.nearest)
    blocks = sections(body)
    if answer.method == "fallback":
        blocks += context_blocks([f"_{escape(fallback_label(lang))}_"])
    blocks += context_blocks([_citation(c, answer.lang) for c in answer.citations])
    if answer.as_of:
        blocks += context_blocks([t(lang, "as_of", date=answer.as_of.date().isoformat())])
    if answer.log_id is not None:
        blocks.append(feedback_actions(answer.log_id, lang))
    return messages(blocks, escape(" ".join(answer.text.split())))


def _citation(citation: Citation, lang: str) -> str:
    """`[n] Outlet — Title (linked) — date`, for answers and briefs alike."""
    # The title carries the link; the outlet and the date (or "date unknown") stand beside it as text.
    shown = link(citation.link, plain(citation.title, limit=MAX_TITLE) or "link")
    rest = [plain(p) for p in fields(citation, lang) if p not in (citation.outlet, citation.title)]
    return f"[{citation.n}] " + " — ".join([p for p in (plain(citation.outlet), shown) if p] + rest)


def feedback_actions(log_id: int, lang: str) -> Block:
    """👍/👎 buttons carrying the QA log row they rate."""
    return {
        "type": "actions",
        "block_id": f"feedback-{log_id}",
        "elements": [
            _button(FEEDBACK_UP, f"👍 {t(lang, 'helpful')}", str(log_id)),
            _button(FEEDBACK_DOWN, f"👎 {t(lang, 'not_helpful')}", str(log_id)),
        ],
    }


def _button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def buttons(*specs: tuple[str, str, str, str | None]) -> Block:
    """An actions block of (action_id, label, value, style) buttons."""
    return {"type": "actions", "elements": [_button(*spec) for spec in specs]}


def text_messages(text: str) -> list[Message]:
    """Interface text (our own mrkdwn, already safe) as messages."""
    return messages(sections(text), text)


# ---------------------------------------------------------------- briefs


def brief_messages(brief: Mapping[str, Any]) -> list[Message]:
    """A stored brief payload as Block Kit messages: a header, then each story with its sources."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _header(brief["title"])}}
    ]
    if brief.get("empty"):
        blocks += sections(plain(brief.get("message", "")))
    for story in brief.get("stories", []):
        blocks += _story_blocks(story, brief["lang"])
    out = messages(blocks, plain(brief["title"]))
    url = brief.get("page_url")
    if url and (len(out) > 1 or brief.get("kind") == "alert"):  # cut, or an alert: link the full page
        out = messages(
            [*blocks, *context_blocks([link(url, escape(page_link_label(brief)))])], plain(brief["title"])
        )
    return out


def _header(title: str) -> str:
    line = " ".join(str(title).split()) or "newsbrief"
    return line if len(line) <= MAX_TITLE else line[: MAX_TITLE - 1] + "…"


def _story_blocks(story: Mapping[str, Any], lang: str) -> list[Block]:
    urls = {s["n"]: s.get("url") for s in story.get("sources", [])}
    lines = [f"*{plain(story['headline'])}*"]
    lines += [f"_{plain(line)}_" for line in [corroboration_text(story, lang)] if line]
    for bullet in story.get("bullets", []):
        marks = "".join(link(urls.get(n), f"[{n}]") for n in bullet.get("cites", []))
        kind = kind_marker(bullet, lang)
        lines.append(f"• {f'*{plain(kind)}* ' if kind else ''}{plain(bullet['text'])} {marks}".rstrip())
    blocks = sections("\n".join(lines))
    notes = [plain(story["note"])] if story.get("note") else []
    sources = [_citation(c, lang) for c in story_citations(story)]
    blocks += context_blocks([*notes, *sources])
    blocks.append({"type": "divider"})
    return blocks


# ---------------------------------------------------------------- the conversation core's replies


def reply_text(reply: Reply) -> str:
    """The reply's text blocks as mrkdwn: titles bold, everything escaped."""
    return "\n".join(f"*{escape(b.text)}*" if b.style == "title" else escape(b.text) for b in reply.blocks)


def core_buttons(rows: Sequence[Sequence[Button]]) -> list[Block]:
    """One actions block per row; each button's value is the data the core gets back."""
    blocks = []
    for row in rows:
        specs = [
            (
                ACTION_IDS.get(b.data.split("|")[0]) or f"{CORE_ACTION}_{n}",
                b.label[:75],
                b.data,
                "primary" if b.primary else None,
            )
            for n, b in enumerate(row)
        ]
        blocks.append(buttons(*specs))
    return blocks


def reply_messages(reply: Reply) -> list[Message]:
    """A Reply as Block Kit messages: its text and buttons, then its briefs, then its answer."""
    text = reply_text(reply)
    parts = messages([*sections(text), *core_buttons(reply.buttons)], text) if text else []
    for payload in reply.briefs:
        parts += brief_messages(payload)
    if reply.answer is not None:
        parts += answer_messages(reply.answer, ui_lang=reply.lang)
    return parts
