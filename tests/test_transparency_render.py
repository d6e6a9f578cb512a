"""Outlet labels, corroboration lines and bullet kinds, as every renderer shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.attribution.outlets import catalogue
from bot.briefs import compose as briefs
from bot.briefs.compose import Member, StoryEntry
from bot.chat.bidi import FSI, PDI
from bot.chat.slack.render import answer_messages, brief_messages
from bot.chat.telegram.render import answer_html, brief_html, render_brief
from bot.qa.model import Answer, Citation, render_answer
from bot.qa.transparency import annotate_answer, annotate_bullets, annotate_sources, story_corroboration
from bot.summarize import Bullet, Summary

T0 = datetime(2025, 7, 12, 12, tzinfo=UTC)
SENTENCES = {
    "en": (
        "Lavrov said in a statement that the talks were useful.",
        "Analysts say the visit signals closer ties.",
    ),
    "ar": ("قال وزير الخارجية الروسي سيرغي لافروف إن المحادثات مفيدة.", "يرى محللون أن الزيارة تعكس تقاربا."),
}


def _brief(lang: str) -> dict[str, Any]:
    official, analysis = SENTENCES[lang]
    summary = Summary(lang, "Lavrov in Wonsan", (Bullet(official, (1,)), Bullet(analysis, (2, 3))), "offline")
    members = [
        Member(1, "TASS", "https://tass.com/politics/1", "Lavrov arrives", "en"),
        Member(2, "KCNA Watch", "https://kcnawatch.org/x", "Talks held", "en"),
        Member(3, "Some Blog", "https://blog.example.net/x", "Analysis", "en"),
    ]
    entry = StoryEntry(7, summary, members, T0, T0)
    payload = briefs.compose(
        thread_id="russia-dprk", thread_name="Russia–DPRK", lang=lang, as_of=T0, since=None, entries=[entry]
    )
    known = catalogue()
    for story in payload["stories"]:
        infos = annotate_sources(story["sources"], known, lang)
        story["corroboration"] = story_corroboration(story["sources"], infos, {}, {"RU", "KP"})
        annotate_bullets(story["bullets"], lang)
    return payload


def test_the_payload_carries_outlet_facts_corroboration_and_kinds_with_evidence() -> None:
    story = _brief("en")["stories"][0]
    assert story["sources"][0]["outlet_info"]["ownership"] == "state"
    assert (
        story["sources"][1]["outlet_name"] == "KCNA" and story["sources"][2]["outlet_info"]["known"] is False
    )
    assert story["corroboration"]["outlets"] == 3 and story["corroboration"]["state"] == 2
    assert story["sources"][1]["outlet"] == "KCNA (North Korea, state media, wire)"
    assert [b["kind"] for b in story["bullets"]] == ["official", "analysis"]
    assert story["bullets"][1]["kind_evidence"][0]["cue"] == "analysts"


def test_plain_text_shows_kinds_tags_and_the_corroboration_line() -> None:
    text = briefs.render_text(_brief("en"))
    assert "• Official: Lavrov said in a statement" in text
    assert "• Analysis: Analysts say" in text
    assert "TASS (Russia, state media, wire)" in text
    assert "KCNA (North Korea, state media, wire)" in text
    assert "Some Blog (unknown outlet)" in text
    assert "3 outlets in 2 countries, 2 of them state media, 1 of them unidentified." in text


def test_arabic_plain_text_uses_arabic_names_labels_and_agreement() -> None:
    text = briefs.render_text(_brief("ar"))
    assert "• رسمي: قال وزير الخارجية" in text and "• تحليل: يرى محللون" in text
    assert "تاس (روسيا، إعلام حكومي، وكالة أنباء)" in text
    assert "3 وسائل إعلام من دولتين، منها اثنتان حكوميتان" in text


def test_markdown_shows_the_same_escaped() -> None:
    text = briefs.render_markdown(_brief("en"))
    assert "- **Official:** Lavrov said" in text
    assert "TASS \\(Russia, state media, wire\\)" in text
    assert "_3 outlets in 2 countries, 2 of them state media, 1 of them unidentified\\._" in text


def test_telegram_html_shows_them_and_arabic_keeps_its_isolates() -> None:
    html = brief_html(_brief("en"))
    assert "• <b>Official:</b> Lavrov said" in html
    assert "TASS (Russia, state media, wire)" in html
    assert "<i>3 outlets in 2 countries, 2 of them state media, 1 of them unidentified.</i>" in html
    arabic = "\n".join(render_brief(_brief("ar")))
    assert "• <b>رسمي:</b>" in arabic
    assert f"{FSI}Some Blog{PDI} (مصدر غير مصنف)" in arabic


def test_slack_blocks_show_them_within_the_block_limits() -> None:
    messages = brief_messages(_brief("en"))
    texts = [
        element["text"]
        for block in messages[0]["blocks"]
        for element in ([block["text"]] if "text" in block else block.get("elements", []))
        if isinstance(element, dict) and "text" in element
    ]
    joined = "\n".join(t if isinstance(t, str) else "" for t in texts)
    assert "• *Official:* Lavrov said" in joined
    assert "_3 outlets in 2 countries, 2 of them state media, 1 of them unidentified._" in joined
    assert "[1] TASS (Russia, state media, wire) — " in joined
    assert all(len(t) <= 3000 for t in texts if isinstance(t, str))


def test_a_payload_stored_before_these_fields_renders_as_before() -> None:
    payload = _brief("en")
    for story in payload["stories"]:
        story.pop("corroboration")
        for source in story["sources"]:
            source["outlet"] = source.pop("outlet_name")
            source.pop("outlet_info")
        for bullet in story["bullets"]:
            bullet.pop("kind")
    text = briefs.render_text(payload)
    assert "Official:" not in text and "state media" not in text and "TASS" in text and "TASS (" not in text


def _answer(lang: str, *urls: str) -> Answer:
    citations = [
        Citation(n, n, n, "outlet", f"title {n}", "2025-07-12", url, "en")
        for n, url in enumerate(urls, start=1)
    ]
    return Answer("q", lang, "Kim met Lavrov in Wonsan [1].", True, "offline", citations, as_of=T0)


def test_an_answer_resting_only_on_a_partys_state_media_says_so() -> None:
    answer = annotate_answer(_answer("en", "https://kcna.kp/a", "https://kcnawatch.org/b"), catalogue())
    assert answer.state_media_only
    assert answer.text.startswith("According to KCNA (North Korean state media):\nKim met Lavrov")
    arabic = annotate_answer(_answer("ar", "https://kcna.kp/a"), catalogue())
    assert arabic.text.startswith("بحسب وكالة الأنباء المركزية الكورية (إعلام حكومي كوري شمالي):")


def test_an_answer_with_an_independent_source_gets_no_such_note_but_every_citation_is_labelled() -> None:
    answer = annotate_answer(_answer("en", "https://kcna.kp/a", "https://www.reuters.com/b"), catalogue())
    assert not answer.state_media_only and answer.text.startswith("Kim met")
    assert "[1] KCNA (North Korea, state media, wire) — title 1" in render_answer(answer)
    assert "KCNA (North Korea, state media, wire) — title 1" in answer_html(answer)
    context = [e["text"] for m in answer_messages(answer) for b in m["blocks"] for e in b.get("elements", [])]
    assert any("Reuters (UK, wire)" in str(text) for text in context)


def test_a_key_facts_card_gets_no_kind_markers() -> None:
    bullets = [{"text": "Who: Sergei Lavrov, Kim Jong Un", "cites": [1]}]
    annotate_bullets(bullets, "en", method="keyfacts")
    assert bullets[0]["kind"] == "" and not bullets[0]["kind_evidence"]
    payload = _brief("en")
    payload["stories"][0]["bullets"] = bullets
    assert "• Who: Sergei Lavrov" in briefs.render_text(payload)
