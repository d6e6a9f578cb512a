"""Block Kit rendering: escaping, 3000-character sections cut at sentences, isolates, Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.chat.bidi import FSI, PDI
from bot.chat.slack.render import answer_messages, brief_messages, escape, link
from bot.qa.model import Answer, Citation

HOSTILE = "Breaking <!channel> & <https://evil.example|click> <@U999>"


def citation(n: int, **overrides: Any) -> Citation:
    values: dict[str, Any] = {
        "n": n,
        "passage_id": n,
        "article_id": n,
        "outlet": "Outlet & Co",
        "title": HOSTILE,
        "date": "2025-07-12",
        "url": f"https://news.example/a?id={n}&x=<y>",
        "lang": "en",
    }
    values.update(overrides)
    return Citation(**values)


def answer(text: str, *, lang: str = "en", citations: int = 1, log_id: int | None = 7) -> Answer:
    return Answer(
        question="q",
        lang=lang,
        text=text,
        covered=True,
        method="offline",
        citations=[citation(n) for n in range(1, citations + 1)],
        as_of=datetime(2025, 7, 12, tzinfo=UTC),
        log_id=log_id,
    )


def texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of a message's blocks."""
    found = []
    for block in message["blocks"]:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [e["text"] for e in block["elements"]]
    return found


def test_escape_makes_mentions_and_links_inert() -> None:
    assert (
        escape(HOSTILE) == "Breaking &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &lt;@U999&gt;"
    )


def test_link_percent_encodes_what_would_break_the_markup() -> None:
    assert link("https://a.example/x|y>z", "t") == "<https://a.example/x%7Cy%3Ez|t>"
    assert link("javascript:alert(1)", "t") == "t"


def test_article_strings_in_an_answer_are_escaped() -> None:
    [message] = answer_messages(answer(HOSTILE))
    rendered = json.dumps([*texts(message), message["text"]])
    assert "<!channel>" not in rendered and "<@U999>" not in rendered
    assert "evil.example|click>" not in rendered
    assert "<https://news.example/a?id=1&amp;x=%3Cy%3E|" in rendered  # our own link survives, escaped


def test_long_answer_is_cut_into_sections_at_arabic_sentence_ends() -> None:
    sentence = "قال الوزير إن التعاون بين البلدين سيستمر في المجالات كافة؟ "
    [message] = answer_messages(answer(sentence * 120, lang="ar"))
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) >= 2
    assert all(len(s) <= 3000 for s in sections)
    assert all(s.endswith("؟") for s in sections)


def test_latin_runs_in_arabic_lines_are_isolated() -> None:
    [message] = answer_messages(answer("التقى Sergei Lavrov بالزعيم في وونسان.", lang="ar"))
    assert f"{FSI}Sergei Lavrov{PDI}" in texts(message)[0]


def test_interface_words_follow_the_users_language() -> None:
    [message] = answer_messages(answer("Wonsan."), ui_lang="ar")
    assert any("حتى تاريخ" in t for t in texts(message))


def test_many_sources_fit_slacks_block_limits() -> None:
    messages = answer_messages(answer("Wonsan.", citations=25))
    for message in messages:
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            if block["type"] == "context":
                assert len(block["elements"]) <= 10
    numbered = [t for m in messages for t in texts(m) if t.startswith("[")]
    assert len(numbered) == 25


def test_answer_without_a_log_row_has_no_feedback_buttons() -> None:
    [message] = answer_messages(answer("Wonsan.", log_id=None))
    assert all(b["type"] != "actions" for b in message["blocks"])


def brief(stories: int) -> dict[str, Any]:
    story = {
        "story_id": 1,
        "headline": HOSTILE,
        "method": "offline",
        "note": "",
        "bullets": [{"text": "Lavrov met Kim & talked <b>.", "cites": [1, 2]}],
        "sources": [
            {"n": 1, "article_id": 1, "outlet": "A & B", "url": "https://a.example/1", "title": "T1"},
            {"n": 2, "article_id": 2, "outlet": "C", "url": None, "title": "T2"},
        ],
        "outlet_count": 2,
    }
    return {
        "format": 1,
        "thread": {"id": "russia-dprk", "name": "Russia–DPRK"},
        "lang": "en",
        "title": "Russia–DPRK: brief of 2025-07-12",
        "stories": [dict(story, story_id=i) for i in range(stories)],
        "empty": stories == 0,
        "message": "No stories on Russia–DPRK yet." if stories == 0 else "",
    }


def test_brief_citation_markers_link_to_their_sources_and_text_is_escaped() -> None:
    [message] = brief_messages(brief(1))
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Russia–DPRK: brief of 2025-07-12"},
    }
    body = texts(message)[0]
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert "Kim &amp; talked &lt;b&gt;. <https://a.example/1|[1]>[2]" in body


def test_a_big_brief_is_split_into_messages_of_at_most_fifty_blocks() -> None:
    messages = brief_messages(brief(30))
    assert len(messages) >= 2
    assert all(len(m["blocks"]) <= 50 for m in messages)


def test_an_empty_brief_says_so() -> None:
    [message] = brief_messages(brief(0))
    assert texts(message) == ["No stories on Russia–DPRK yet."]
