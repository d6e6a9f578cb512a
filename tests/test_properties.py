"""Properties over arbitrary input: normalization, splitters, renderers, Slack signatures, feeds."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier

from bot.chat.bidi import FSI, PDI
from bot.chat.slack.render import MAX_BLOCKS, brief_messages
from bot.chat.split import SLACK_SECTION_LIMIT, split_message, split_telegram, utf16_len
from bot.chat.telegram.render import finish, render_brief
from bot.ingest.sources.feeds import FeedError, parse_feed
from bot.text.normalize import normalize
from tests.servers.slack_stub import signed_headers
from tests.servers.telegram_stub import MAX_LENGTH, visible_text

HOSTILE = ["<", ">", "&", "&amp;", "<b>", "</i>", "<a href='javascript:x'>", "\u202e", "\u2066", "\u2069",
           "\u200f", "\0", "\ud800", "\udfff", "😀", "\n", "\n\n", " ", "ة", "أ", "؟", "،", "ـ", "\u064b", "]]>"]  # fmt: skip
# Isolates the article itself carries are its own; the property is about the ones the renderer adds.
ISOLATE_CONTROLS = {"\u2066", "\u2069", "\ud800"}
ANY_CHAR = st.characters(blacklist_categories=())  # surrogates included
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(ANY_CHAR, max_size=12)), max_size=40).map(
    "".join
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- normalization


@FAST
@given(hostile_text)
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


# ---------------------------------------------------------------- splitters

words = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30),
        st.sampled_from(["قال.", "وأضاف،", "😀😀", "x" * 300, "؟", "\u202e"]),
    ),
    min_size=1,
    max_size=80,
)
separators = st.sampled_from([" ", "\n", "\n\n", ". ", "، "])


@FAST
@given(words, separators, st.integers(128, 600))
def test_split_parts_fit_and_lose_nothing_but_the_whitespace_they_cut_at(
    tokens: list[str], sep: str, limit: int
) -> None:
    # The contract: parts are stripped and a cut consumes only whitespace, so the text minus its
    # whitespace is exactly the parts minus theirs.
    text = sep.join(tokens)
    parts = split_message(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())


def _escaped_with_tags(pieces: list[str]) -> str:
    tags = ["<b>", "</b>", "<i>", "</i>"]
    out: list[str] = []
    open_tags: list[str] = []
    for i, piece in enumerate(pieces):
        out.append(html.escape(piece, quote=False))
        if i % 7 == 3 and not open_tags:
            out.append(tags[i % 2 * 2])
            open_tags.append(tags[i % 2 * 2 + 1])
        elif i % 7 == 6 and open_tags:
            out.append(open_tags.pop())
    return "".join(out) + "".join(reversed(open_tags))


@FAST
@given(st.lists(st.one_of(st.sampled_from([h for h in HOSTILE if h not in ISOLATE_CONTROLS]), st.text(st.characters(blacklist_characters="\u2066\u2067\u2068\u2069", blacklist_categories=["Cs"]), max_size=20)), max_size=120),
       st.integers(128, 700), st.sampled_from(["ar", "en"]))  # fmt: skip
def test_telegram_parts_fit_are_valid_html_keep_the_text_and_balance_isolates(
    pieces: list[str], limit: int, lang: str
) -> None:
    text = _escaped_with_tags(["قال لافروف " + p for p in pieces])
    parts = finish(text, lang, limit=limit)
    shown = [visible_text(part, "HTML") for part in parts]  # raises on a cut tag or entity
    assert all(utf16_len(part) <= limit for part in parts)
    whole = visible_text(
        text.encode("utf-8", "replace").decode("utf-8"), "HTML"
    )  # lone surrogates become "?"
    strip = re.compile(rf"[\s{FSI}{PDI}]")
    assert strip.sub("", "".join(shown)) == strip.sub("", whole)
    for part in parts:
        depth = 0
        for char in part:
            depth += (char == FSI) - (char == PDI)
            assert depth >= 0
        assert depth == 0


# ---------------------------------------------------------------- renderers

long_title = st.sampled_from(["<b>" * 5000 + "&" * 20_000 + "\u202e" * 30_000 + "ة" * 45_000, "x" * 100_000])
titles = st.one_of(hostile_text, long_title)
urls = st.one_of(st.none(), st.sampled_from(["https://ok.example/a?b=1&c=<2>", "javascript:alert(1)",
                 'http://x.example/"><script>', "file:///etc/passwd"]), st.text(max_size=30))  # fmt: skip


@st.composite
def briefs(draw: st.DrawFn) -> dict[str, Any]:
    def story() -> dict[str, Any]:
        sources = [
            {"n": n, "url": draw(urls), "outlet": draw(hostile_text), "title": draw(hostile_text)}
            for n in range(1, draw(st.integers(1, 4)) + 1)
        ]
        bullets = [
            {"text": draw(hostile_text), "cites": [s["n"] for s in sources]}
            for _ in range(draw(st.integers(0, 4)))
        ]
        return {"headline": draw(hostile_text), "bullets": bullets, "sources": sources, "outlet_count": len(sources),
                "method": draw(st.sampled_from(["llm", "offline", "fallback"])), "note": draw(hostile_text)}  # fmt: skip

    # At most one 100 KB string per brief keeps the run short; the splitter's cost is per character.
    stories = [story() for _ in range(draw(st.integers(0, 12)))]
    return {"lang": draw(st.sampled_from(["ar", "en"])), "title": draw(titles), "stories": stories,
            "empty": not stories, "message": draw(hostile_text)}  # fmt: skip


RENDER = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))


@RENDER
@given(briefs())
def test_every_telegram_part_of_any_brief_is_accepted_by_the_validator(brief: dict[str, Any]) -> None:
    parts = render_brief(brief)
    for part in parts:
        part.encode("utf-8")  # sendable
        assert utf16_len(part) <= MAX_LENGTH
        visible_text(part, "HTML")
        assert not re.search(r"<a href=\"(?!https?://)", part)


@RENDER
@given(briefs())
def test_every_slack_message_of_any_brief_respects_the_block_limits(brief: dict[str, Any]) -> None:
    for message in brief_messages(brief):
        assert 0 < len(message["blocks"]) <= MAX_BLOCKS
        for block in message["blocks"]:
            text = block.get("text", {}).get("text", "")
            assert len(text) <= (150 if block["type"] == "header" else SLACK_SECTION_LIMIT)
            for element in block.get("elements", []):
                assert len(element.get("text", "")) <= SLACK_SECTION_LIMIT
                assert not re.search(r"<(?!https?://)[^|>]*\|", element.get("text", ""))
            assert "<!" not in text  # no @channel-style mentions smuggled in


def test_split_telegram_counts_astral_characters_in_utf16_units() -> None:
    assert all(utf16_len(p) <= 200 for p in split_telegram("😀 " * 500, limit=200))


# ---------------------------------------------------------------- Slack signatures


class _FixedClock(Clock):
    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)


NOW = int(time.time())


@settings(max_examples=80, deadline=None)
@given(
    body=st.text(max_size=200),
    secret=st.text("0123456789abcdef", min_size=1, max_size=40),
    other=st.text("0123456789abcdef", min_size=1, max_size=40),
    age=st.integers(-1000, 1000),
    tamper=st.booleans(),
)
def test_slack_signatures_are_accepted_exactly_when_correct_and_fresh(
    body: str, secret: str, other: str, age: int, tamper: bool
) -> None:
    verifier = SignatureVerifier(secret, clock=_FixedClock(NOW))
    signer = other if tamper else secret
    headers = signed_headers(signer, body, timestamp=NOW - age)
    ok = verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert ok == ((signer == secret) and abs(age) <= 300)
    if body:
        flipped = body[:-1] + ("a" if body[-1] != "a" else "b")
        assert not verifier.is_valid(
            flipped, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )


# ---------------------------------------------------------------- feeds


def _cdata_safe(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


def _xml_safe(text: str) -> str:
    # XML 1.0 forbids most control characters and surrogates; a real server would send them anyway.
    return "".join(c for c in text if c in "\t\n\r" or (c >= " " and not "\ud800" <= c <= "\udfff"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(hostile_text, hostile_text, st.booleans()), min_size=1, max_size=5))
def test_any_feed_entries_parse_or_fail_clearly_and_titles_are_plain_text(
    entries: list[tuple[str, str, bool]],
) -> None:
    items = "".join(
        f"<item><title>{html.escape(_xml_safe(title)) if escaped else _xml_safe(title)}</title>"
        f"<link>http://x.example/{i}</link><description><![CDATA[{_cdata_safe(_xml_safe(body))}]]></description></item>"
        for i, (title, body, escaped) in enumerate(entries)
    )
    feed = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    try:
        parsed = parse_feed(feed.encode("utf-8", "replace"), url="http://x.example/feed.xml")
    except FeedError as exc:
        assert str(exc)
        return
    for item, (_, _, escaped) in zip(parsed.items, entries, strict=False):
        # An escaped "<b>" is literal text the outlet wrote; unescaped markup must not survive as markup.
        assert escaped or not re.search(r"</?(?:b|i|a|script|p)\b[^>]*>", item.title, re.IGNORECASE)
        assert item.url is None or item.url.startswith(("http://", "https://"))
