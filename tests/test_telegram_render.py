"""Telegram HTML rendering: escaping, linked citation markers, isolates, and parts Telegram accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.briefs.compose import Member, StoryEntry, compose
from bot.chat.bidi import FSI, PDI
from bot.chat.split import utf16_len
from bot.chat.telegram.render import render_answer, render_brief
from bot.qa.model import Answer, Citation
from bot.summarize import Bullet, Summary
from tests.servers.telegram_stub import MAX_LENGTH, EntityError, visible_text

T0 = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)


def payload(lang: str, *, stories: int = 1, text: str = "", outlet: str = "TASS") -> dict[str, Any]:
    entries = []
    for n in range(1, stories + 1):
        member = Member(n, outlet, f'https://tass.example/{n}?a=1&b="2"', "t", lang)
        body = text or f"Lavrov <script>alert(1)</script> & Kim met in round {n}."
        summary = Summary(lang, f"Headline {n} <b>&</b>", (Bullet(body, (n,)),), "offline")
        entries.append(StoryEntry(n, summary, [member], T0, T0, 0))
    return compose(thread_id="russia-dprk", thread_name="Russia–DPRK", lang=lang, as_of=T0, since=None,
                   entries=entries, max_stories=stories)  # fmt: skip


def test_article_text_is_escaped_and_markers_link_to_sources() -> None:
    [part] = render_brief(payload("en"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Kim" in part
    assert "Headline 1 &lt;b&gt;&amp;&lt;/b&gt;" in part
    assert '<a href="https://tass.example/1?a=1&amp;b=&quot;2&quot;">[1]</a>' in part
    assert "<script>alert(1)</script> & Kim" in visible_text(part, "HTML")  # shown as text, never markup


def test_arabic_brief_isolates_latin_runs_outside_tags() -> None:
    text = "التقى Sergei Lavrov بالزعيم Kim Jong Un في وونسان."
    [part] = render_brief(payload("ar", text=text, outlet="Reuters"))
    assert f"{FSI}Sergei Lavrov{PDI}" in part and f"{FSI}Kim Jong Un{PDI}" in part
    assert '<a href="https://tass.example/1' in part  # the link's attribute was left whole
    visible_text(part, "HTML")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_long_brief_parts_fit_and_parse(lang: str) -> None:
    text = (
        "Lavrov & Kim <talked> about the treaty. "
        if lang == "en"
        else "قال لافروف إن المعاهدة قائمة؛ فهل تصمد؟ "
    ) * 30
    parts = render_brief(payload(lang, stories=30, text=text))
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(visible_text(part, "HTML")) <= MAX_LENGTH and utf16_len(part) <= MAX_LENGTH


def test_answer_links_its_citations_and_says_as_of() -> None:
    citation = Citation(
        1, 10, 20, "Yonhap <news>", "Kim & Lavrov", "2025-07-12", "https://yna.example/x?y=1&z=2", "en"
    )
    answer = Answer("q", "en", "They met in Wonsan [1].", True, "offline", [citation], as_of=T0)
    [part] = render_answer(answer)
    assert 'in Wonsan <a href="https://yna.example/x?y=1&amp;z=2">[1]</a>' in part
    assert "Yonhap &lt;news&gt;" in part and "As of 2025-07-12" in part
    visible_text(part, "HTML")


@pytest.mark.parametrize(
    "bad", ["line<br>break", "<b>open", "a & b", "<a>no href</a>", "<b><i>x</b></i>", "&nbsp;"]
)
def test_stand_in_refuses_what_telegram_refuses(bad: str) -> None:
    with pytest.raises(EntityError):
        visible_text(bad, "HTML")
