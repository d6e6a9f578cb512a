"""Cleaning copied article text: title, body, and every dropped piece with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.clean import CleanedText, Dropped, clean_plain_text, overlaps_title
from bot.text.errors import TextError
from bot.text.normalize import tokens

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_PREFIXES = ["000", "001", "002", "003", "004"]

_RUSSIA = ["روسيا", "الروسي", "الروسيه", "موسكو", "بوتين", "لافروف", "شويغو"]
_DPRK = ["كوريا الشماليه", "الكوري الشمالي", "بيونغ يانغ", "كيم"]
_CHINA = ["الصين", "الصيني", "بكين"]
_SAUDI = ["السعوديه", "السعودي", "الرياض"]
# A small stand-in for the thread classifier the ingest pipeline passes: a thread matches text that
# names one party from each side.
THREADS = {"russia-dprk": (_RUSSIA, _DPRK), "china-dprk": (_CHINA, _DPRK), "saudi-russia": (_SAUDI, _RUSSIA)}


def _threads(text: str) -> set[str]:
    padded = f" {' '.join(tokens(text))} "
    return {
        name
        for name, (left, right) in THREADS.items()
        if any(f" {k} " in padded for k in left) and any(f" {k} " in padded for k in right)
    }


def shares_a_thread(title: str, segment_head: str) -> bool:
    """The callback the pipeline builds from threads: the segment matches a thread the title matches."""
    return bool(_threads(title) & _threads(segment_head))


def never_continues(title: str, segment_head: str) -> bool:
    """A callback that would cut at every candidate: shows which headlines are candidates at all."""
    return False


def _seed(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def _raw_lines(prefix: str) -> list[str]:
    return [line.strip() for line in _seed(prefix).splitlines() if line.strip()]


def _reasons(result: CleanedText) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for dropped in result.dropped:
        grouped.setdefault(dropped.reason, []).append(dropped.text)
    return grouped


# --- seed 002: repeated headline and captions, "TT", a related block, an appended China story ---


@pytest.mark.parametrize("callback", [None, shares_a_thread], ids=["fallback", "threads"])
def test_seed_002_drops_the_appended_china_story(callback: object) -> None:
    result = clean_plain_text(_seed("002"), continues_story=callback)  # type: ignore[arg-type]
    appended = _reasons(result)["appended-story"]
    assert len(appended) == 1
    assert appended[0].startswith("الصين تؤكد رغبتها في «تعميق التعاون» مع كوريا الشمالية")
    assert appended[0].endswith("حسب هونغ.")
    assert "الصين تؤكد" not in result.body and "شي جينبينغ، للزعيم" not in result.body


def test_callback_gets_the_title_and_the_segment_headline_with_its_first_paragraph() -> None:
    calls: list[tuple[str, str]] = []

    def recording(title: str, segment_head: str) -> bool:
        calls.append((title, segment_head))
        return True

    clean_plain_text(_seed("002"), continues_story=recording)
    # Inner subheadings («فصل جديد», «بيونغ يانغ تعتزم مراجعة دستورها») are never asked about.
    assert len(calls) == 1
    title, head = calls[0]
    assert title == "كوريا الشمالية تتعهد تعميق الروابط مع روسيا خلال زيارة شويغو"
    headline, paragraph = head.split("\n")
    assert headline == "الصين تؤكد رغبتها في «تعميق التعاون» مع كوريا الشمالية"
    assert paragraph.startswith("أكد الرئيس الصيني شي جينبينغ، للزعيم الكوري الشمالي")


def test_seed_002_keeps_the_china_story_when_the_callback_says_it_continues() -> None:
    result = clean_plain_text(_seed("002"), continues_story=lambda title, head: True)
    assert "appended-story" not in _reasons(result)
    assert "أكد الرئيس الصيني شي جينبينغ" in result.body


def test_seed_002_title_is_kept_once_and_not_in_the_body() -> None:
    result = clean_plain_text(_seed("002"))
    assert result.title == "كوريا الشمالية تتعهد تعميق الروابط مع روسيا خلال زيارة شويغو"
    assert result.title not in result.body
    assert result.title in _reasons(result)["repeated"]


def test_seed_002_repeated_captions_and_tt_are_dropped() -> None:
    result = clean_plain_text(_seed("002"))
    reasons = _reasons(result)
    caption = "زعيم كوريا الشمالية يودّع الأمين العام لمجلس الأمن الروسي (ا.ف.ب)"
    assert reasons["repeated"].count(caption) == 3
    assert "TT" in reasons["junk"]
    assert "TT" not in result.body.split("\n\n")
    assert "(ا.ف.ب)" not in result.body


def test_seed_002_related_block_runs_from_marker_through_last_outlet() -> None:
    result = clean_plain_text(_seed("002"))
    (block,) = _reasons(result)["related"]
    assert block.startswith("مقالات ذات صلة\nوزير الخارجية السعودي يناقش")
    assert block.endswith("«الشرق الأوسط» (كييف)")
    assert "الكومنولث" not in result.body and "زيلينسكي" not in result.body


def test_seed_002_body_is_the_shoigu_article_from_lead_to_last_paragraph() -> None:
    paragraphs = clean_plain_text(_seed("002")).body.split("\n\n")
    assert paragraphs[0].startswith("تعهد الزعيم الكوري الشمالي كيم جونغ أون تعميق العلاقات")
    assert paragraphs[-1].endswith("بحسب ما أوردته وكالة الصحافة الفرنسية.")
    assert len(paragraphs) == 14


# --- seed 000: one article on both threads; its Saudi half and subheadings stay ---


@pytest.mark.parametrize("callback", [None, shares_a_thread, never_continues])
def test_seed_000_keeps_its_saudi_half_and_subheadings(callback: object) -> None:
    result = clean_plain_text(_seed("000"), continues_story=callback)  # type: ignore[arg-type]
    assert "السعودية تعمّق شراكتها مع روسيا: 3.28 مليار دولار تجارة غير نفطية" in result.body
    assert "سياق استراتيجي متغير" in result.body
    assert result.body.endswith("لا على الاعتبارات التقليدية فقط.")
    assert result.dropped == [Dropped("comment-prompt", "اترك تعليقاً")]


def test_seed_000_title_is_its_first_line() -> None:
    assert clean_plain_text(_seed("000")).title == _raw_lines("000")[0]


# --- seed 001: a bare caption before the lead; inner subheadings ---


def test_seed_001_title_comes_from_the_lead_when_it_opens_with_a_bare_name() -> None:
    result = clean_plain_text(_seed("001"))
    assert result.title == (
        "عقد وزير الخارجية الروسي سيرجي لافروف مباحثات في وونسان – إحدى المدن الساحلية في كوريا"
        " الشمالية – مع الرئيس كيم جونج أون"
    )
    assert result.dropped == [Dropped("junk", "سيرجي لافروف")]
    assert result.body.startswith("وكالات – عقد وزير الخارجية الروسي")


def test_seed_001_inner_subheadings_never_cut_the_article() -> None:
    result = clean_plain_text(_seed("001"), continues_story=never_continues)
    assert result.body.split("\n\n") == _raw_lines("001")[1:]


def test_short_first_line_gives_way_to_a_headline_after_it() -> None:
    result = clean_plain_text(
        "صور\nلافروف يصل إلى وونسان في زيارة رسمية\nوصل الوزير الروسي إلى المدينة اليوم."
    )
    assert result.title == "لافروف يصل إلى وونسان في زيارة رسمية"
    assert result.body == "وصل الوزير الروسي إلى المدينة اليوم."
    assert result.dropped == [Dropped("junk", "صور")]


# --- seeds 003 and 004: header and footer furniture ---


def test_seed_003_dateline_captions_and_byline_are_dropped() -> None:
    result = clean_plain_text(_seed("003"))
    assert result.title == "روسيا وكوريا الشمالية تواصلان الحوار الاستراتيجي.. وواشنطن تراقب بحذر"
    assert result.dropped == [
        Dropped("junk", "السبت 12 يوليو 2025 | 01:52 صباحاً"),
        Dropped("junk", "وزير خارجية روسيا"),
        Dropped("repeated", "وزير خارجية روسيا"),
        Dropped("junk", "حسين أنسي"),
    ]
    assert result.body.startswith("بدأ وزير الخارجية الروسي سيرجي لافروف")
    assert len(result.body.split("\n\n")) == 9


def test_seed_004_byline_source_and_comment_count_are_dropped() -> None:
    result = clean_plain_text(_seed("004"))
    assert [d.reason for d in result.dropped] == ["junk", "junk", "comment-prompt"]
    assert result.dropped[-1].text == "تعليق (0)"
    assert result.body.endswith("وتُقلل من فعاليتها العملية.")
    assert "الدور التنسيقي لمنظمة شنغهاي للتعاون والصين" in result.body


# --- invariants over every seed ---


@pytest.mark.parametrize("prefix", SEED_PREFIXES)
def test_every_line_is_title_body_or_dropped_in_its_original_form(prefix: str) -> None:
    result = clean_plain_text(_seed(prefix))
    body = result.body.split("\n\n")
    dropped = [line for d in result.dropped for line in d.text.split("\n")]
    raw = _raw_lines(prefix)
    title = [result.title] if result.title in raw else []
    assert sorted(title + body + dropped) == sorted(raw)


@pytest.mark.parametrize("prefix", SEED_PREFIXES)
def test_body_paragraphs_are_separated_by_one_blank_line(prefix: str) -> None:
    body = clean_plain_text(_seed(prefix)).body
    assert "\n\n\n" not in body
    assert all(paragraph.strip() == paragraph for paragraph in body.split("\n\n"))


# --- English pages and single rules ---

ENGLISH_ARTICLE = """Lavrov arrives in North Korea for strategic talks

Russian Foreign Minister Sergei Lavrov arrived in Wonsan on Friday for talks with North Korean officials.

The visit is the second round of a strategic dialogue between Moscow and Pyongyang, the ministry said.
Read more: Kim Jong Un opens Wonsan-Kalma resort

Related articles
Kim visits new resort
Seoul watches Lavrov trip

Lavrov is expected to meet Kim Jong Un before heading to China for a meeting of the SCO in Tianjin.

Leave a comment
"""


def test_english_related_block_and_inline_teaser_are_dropped_and_the_article_resumes() -> None:
    result = clean_plain_text(ENGLISH_ARTICLE)
    assert result.title == "Lavrov arrives in North Korea for strategic talks"
    assert _reasons(result) == {
        "related": [
            "Read more: Kim Jong Un opens Wonsan-Kalma resort\n"
            "Related articles\nKim visits new resort\nSeoul watches Lavrov trip"
        ],
        "comment-prompt": ["Leave a comment"],
    }
    assert result.body.split("\n\n")[-1].startswith("Lavrov is expected to meet Kim Jong Un")


APPENDED_ENGLISH = """Lavrov arrives in North Korea for strategic talks
Russian Foreign Minister Sergei Lavrov arrived in Wonsan on Friday for strategic talks in North Korea.
Premier League champions sign new striker
12 July 2025
Premier League champions sign new striker
The club confirmed the signing of the striker on a five-year contract on Saturday.
"""


def test_appended_story_with_its_own_header_is_dropped_by_the_overlap_fallback() -> None:
    result = clean_plain_text(APPENDED_ENGLISH)
    assert result.body == APPENDED_ENGLISH.splitlines()[1]
    assert [d.reason for d in result.dropped] == ["appended-story"]


def test_segment_that_continues_the_title_is_kept_by_the_fallback() -> None:
    continued = APPENDED_ENGLISH.replace(
        "Premier League champions sign new striker", "Lavrov in North Korea: strategic talks"
    )
    result = clean_plain_text(continued)
    assert "appended-story" not in _reasons(result)
    assert "The club confirmed" in result.body


def test_overlap_fallback_compares_content_terms() -> None:
    assert overlaps_title("Lavrov visits North Korea", "Lavrov in North Korea talks")
    assert not overlaps_title("Lavrov visits North Korea", "Premier League striker signs")
    assert overlaps_title("", "anything")


@pytest.mark.parametrize(
    "prompt", ["اترك تعليقاً", "أضف تعليق", "شاركنا رأيك", "Leave a comment", "3 Comments", "تعليق (0)"]
)
def test_comment_prompts_are_dropped(prompt: str) -> None:
    result = clean_plain_text(
        f"Headline of the story here\nThe article says what happened today in Wonsan.\n{prompt}"
    )
    assert result.dropped == [Dropped("comment-prompt", prompt)]


@pytest.mark.parametrize(
    "marker", ["مقالات ذات صلة", "اقرأ أيضا", "إقرأ أيضاً", "مواضيع ذات صلة", "اخترنا لك", "Read also"]
)
def test_related_markers_drop_the_teasers_after_them(marker: str) -> None:
    lead = "وصل لافروف إلى وونسان اليوم في زيارة رسمية."
    raw = f"عنوان الخبر الرئيسي هنا\n{lead}\n{marker}\nعنوان مقال آخر\nعنوان مقال ثالث"
    result = clean_plain_text(raw)
    assert result.dropped == [Dropped("related", f"{marker}\nعنوان مقال آخر\nعنوان مقال ثالث")]
    assert result.body == lead


PAGE_PIECES = [
    "",
    "TT",
    "اقرأ أيضا",
    "مقالات ذات صلة",
    "Leave a comment",
    "«الشرق الأوسط» (الرياض)",
    "زعيم كوريا الشمالية يودّع الأمين العام لمجلس الأمن الروسي (ا.ف.ب)",
    "الصين تؤكد رغبتها في «تعميق التعاون» مع كوريا الشمالية",
    "وتتهم الدول الغربية كوريا الشمالية ببيع ذخائر إلى روسيا متحدية بذلك العقوبات المفروضة في إطار الحرب.",
    "السبت 12 يوليو 2025 | 01:52 صباحاً",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(PAGE_PIECES) | st.text(),
        max_size=30,
    )
)
def test_any_text_cleans_without_error_and_keeps_lines_verbatim(parts: list[str]) -> None:
    raw = "\n".join(parts)
    result = clean_plain_text(raw)
    assert all(paragraph in raw for paragraph in result.body.split("\n\n"))
    assert all(dropped.text in raw for dropped in result.dropped if "\n" not in dropped.text)


def test_empty_input_gives_an_empty_result() -> None:
    assert clean_plain_text(" \n\u200f\n") == CleanedText(title="", body="", dropped=[])


def test_bytes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(TextError, match="raw must be a str, got bytes"):
        clean_plain_text(b"title\nbody")  # type: ignore[arg-type]
