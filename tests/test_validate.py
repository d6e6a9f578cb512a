"""Grounding checks on summary bullets, AR/EN pairs and Q&A answers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.summarize.validate import (
    FIGURE_MISMATCH,
    MALFORMED,
    NO_CITATION,
    UNKNOWN_CITATION,
    UNSUPPORTED_ENTITY,
    UNSUPPORTED_FIGURE,
    Finding,
    findings_text,
    validate_answer,
    validate_bullets,
    validate_pair,
)
from bot.text.normalize import normalize

SOURCES = {
    1: "أعلنت السعودية أن التجارة غير النفطية مع روسيا بلغت ٣٫٢٨ مليار دولار في ٢٠٢٤.",
    2: "زار لافروف بيونغ يانغ في 12 يوليو 2025 والتقى كيم جونغ أون، ويتوقع المنتجع 20 ألف زائر.",
}
ALIASES = {
    "russia": ["روسيا", "Russia"],
    "saudi": ["السعودية", "Saudi Arabia"],
    "dprk": ["بيونغ يانغ", "كوريا الشمالية", "North Korea", "Pyongyang"],
    "lavrov": ["لافروف", "Lavrov"],
    "china": ["الصين", "China"],
}


def entities(text: str) -> set[str]:
    """A stand-in for ThreadClassifier.entities_in: ids of the entities whose alias appears."""
    folded = normalize(text)
    return {entity for entity, names in ALIASES.items() if any(normalize(name) in folded for name in names)}


def bullet(text: str, *cites: Any) -> dict[str, Any]:
    return {"text": text, "cites": list(cites)}


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def test_grounded_bullets_pass() -> None:
    bullets = [
        bullet("Saudi non-oil trade with Russia reached $3.28 billion in 2024.", 1),
        bullet("Lavrov visited Pyongyang on July 12, 2025; the resort expects 20,000 visitors.", "2"),
    ]
    assert validate_bullets(bullets, sources=SOURCES, entity_aliases=entities) == []


def test_arabic_indic_and_latin_digits_are_the_same_figure() -> None:
    assert validate_bullets([bullet("بلغت التجارة 3.28 مليار دولار في 2024.", 1)], sources=SOURCES) == []
    latin_source = {1: "trade reached 3.28 billion dollars in 2024"}
    assert validate_bullets([bullet("بلغت ٣٫٢٨ مليار دولار عام ٢٠٢٤", 1)], sources=latin_source) == []


def test_a_figure_in_no_cited_source_is_reported() -> None:
    findings = validate_bullets([bullet("Trade reached $3.5 billion in 2024.", 1)], sources=SOURCES)
    assert codes(findings) == [UNSUPPORTED_FIGURE]
    assert findings[0].bullet_index == 0
    assert "$3.5 billion" in findings[0].message


def test_a_figure_only_in_an_uncited_source_is_reported() -> None:
    findings = validate_bullets([bullet("The resort expects 20,000 visitors.", 1)], sources=SOURCES)
    assert codes(findings) == [UNSUPPORTED_FIGURE]


def test_a_year_is_supported_by_a_full_date_in_the_source() -> None:
    assert validate_bullets([bullet("Lavrov visited in July 2025.", 2)], sources=SOURCES) == []
    assert codes(validate_bullets([bullet("Lavrov visited on July 13, 2025.", 2)], sources=SOURCES)) == [
        UNSUPPORTED_FIGURE
    ]


def test_a_bullet_without_citation_is_reported() -> None:
    findings = validate_bullets([bullet("Trade grew.")], sources=SOURCES)
    assert codes(findings) == [NO_CITATION]
    assert "cites no article" in findings[0].message


def test_an_unknown_cited_id_is_reported_and_known_ones_still_checked() -> None:
    findings = validate_bullets([bullet("Trade reached $3.28 billion.", 1, 9)], sources=SOURCES)
    assert codes(findings) == [UNKNOWN_CITATION]
    assert "'9'" in findings[0].message
    only_unknown = validate_bullets([bullet("Trade reached $9 billion.", 9)], sources=SOURCES)
    assert codes(only_unknown) == [UNKNOWN_CITATION]


def test_an_entity_not_in_the_cited_source_is_reported() -> None:
    findings = validate_bullets(
        [bullet("Lavrov and China's envoy discussed trade with Saudi Arabia.", 2)],
        sources=SOURCES,
        entity_aliases=entities,
    )
    assert codes(findings) == [UNSUPPORTED_ENTITY, UNSUPPORTED_ENTITY]
    assert "china" in findings[0].message and "saudi" in findings[1].message


def test_entities_are_not_checked_without_a_finder() -> None:
    assert validate_bullets([bullet("China joined the talks.", 2)], sources=SOURCES) == []


def test_findings_index_the_bullet_they_belong_to() -> None:
    bullets = [bullet("Trade reached $3.28 billion.", 1), bullet("It grew 40%.", 1), bullet("No source.")]
    findings = validate_bullets(bullets, sources=SOURCES)
    assert [(f.code, f.bullet_index) for f in findings] == [(UNSUPPORTED_FIGURE, 1), (NO_CITATION, 2)]


def test_a_malformed_bullet_is_a_finding_not_a_crash() -> None:
    findings = validate_bullets([{"text": 3, "cites": "1"}, {}], sources=SOURCES)
    assert codes(findings) == [MALFORMED, MALFORMED]


def test_arabic_and_english_versions_with_the_same_figures_pass() -> None:
    arabic = [bullet("بلغت التجارة ٣٫٢٨ مليار دولار في 2024", 1), bullet("20 ألف زائر", 2)]
    english = [bullet("Trade reached $3.28 billion in 2024", 1), bullet("20,000 visitors", 2)]
    assert validate_pair(arabic, english) == []


def test_an_arabic_english_figure_mismatch_is_reported_on_both_sides() -> None:
    arabic = [bullet("بلغت التجارة 3.28 مليار دولار", 1)]
    english = [bullet("Trade reached $3.2 billion", 1)]
    findings = validate_pair(arabic, english)
    assert codes(findings) == [FIGURE_MISMATCH, FIGURE_MISMATCH]
    assert "Arabic bullet 1" in findings[0].message and "3.28 مليار دولار" in findings[0].message
    assert "English bullet 1" in findings[1].message and "$3.2 billion" in findings[1].message


def test_a_figure_dropped_from_one_version_is_reported() -> None:
    findings = validate_pair([bullet("Lavrov visited on 12 July 2025", 2)], [bullet("Lavrov visited", 2)])
    assert codes(findings) == [FIGURE_MISMATCH]


PASSAGES = {"p1": SOURCES[1], "p2": SOURCES[2], "p3": "Kim Jong Un received Lavrov in Wonsan."}


def test_a_grounded_answer_passes() -> None:
    answer = "Saudi–Russian non-oil trade reached $3.28 billion in 2024."
    assert validate_answer(answer, ["p1"], passages=PASSAGES, retrieved={"p1", "p2"}, entities=entities) == []


def test_an_answer_citing_a_passage_that_was_not_retrieved_is_reported() -> None:
    findings = validate_answer("Kim received Lavrov.", ["p3"], passages=PASSAGES, retrieved={"p1", "p2"})
    assert codes(findings) == [UNKNOWN_CITATION]
    assert findings[0].bullet_index is None
    assert "passage 'p3'" in findings[0].message


def test_an_answer_without_citations_is_reported() -> None:
    assert codes(validate_answer("Trade grew.", [], passages=PASSAGES, retrieved={"p1"})) == [NO_CITATION]


def test_an_answer_with_a_figure_or_entity_not_in_its_passages_is_reported() -> None:
    findings = validate_answer(
        "China's trade with Russia reached $5 billion.",
        ["p1"],
        passages=PASSAGES,
        retrieved={"p1"},
        entities=entities,
    )
    assert sorted(codes(findings)) == [UNSUPPORTED_ENTITY, UNSUPPORTED_FIGURE]


def test_integer_and_text_ids_match() -> None:
    answer = "The resort expects 20 ألف زائر."
    assert validate_answer(answer, [2], passages={"2": SOURCES[2]}, retrieved={2}) == []


def test_findings_text_lists_one_message_per_line() -> None:
    findings = [
        Finding(NO_CITATION, "Bullet 1 cites no article.", 0),
        Finding(UNKNOWN_CITATION, "Bad id.", 1),
    ]
    assert findings_text(findings) == "- Bullet 1 cites no article.\n- Bad id."


@pytest.mark.parametrize("cites", [["1"], [1], [" 1 "]])
def test_cited_ids_are_compared_as_text(cites: list[Any]) -> None:
    assert validate_bullets([{"text": "بلغت ٣٫٢٨ مليار دولار", "cites": cites}], sources=SOURCES) == []
