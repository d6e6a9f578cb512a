"""Threads as data (loading, validation, JSON round trip) and the thread classifier."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.threads.classify import (
    LEDE_CHARS,
    Evidence,
    ThreadClassifier,
    ThreadDef,
    ThreadDefinitionError,
    default_threads_path,
    load_threads,
    threads_from_toml,
)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SENTENCES = tomllib.loads((Path(__file__).parent / "data" / "thread_sentences.toml").read_text("utf-8"))[
    "case"
]
CHINA_STORY_HEADLINE = "الصين تؤكد رغبتها في «تعميق التعاون» مع كوريا الشمالية"


@pytest.fixture(scope="module")
def threads() -> list[ThreadDef]:
    return load_threads(SEEDS / "threads.toml")


@pytest.fixture(scope="module")
def classifier(threads: list[ThreadDef]) -> ThreadClassifier:
    return ThreadClassifier(threads)


def _seed(prefix: str) -> tuple[str, str]:
    """A seed article as (title, body): the first line, and the rest."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    title, _, body = path.read_text("utf-8").partition("\n")
    return title, body


def _china_story() -> tuple[str, str]:
    """The unrelated China–North Korea story appended to seed 002, as (title, body)."""
    title, body = _seed("002")
    story = (title + "\n" + body)[(title + "\n" + body).index(CHINA_STORY_HEADLINE) :]
    headline, _, rest = story.partition("\n")
    return headline, rest


def _thread_ids(classifier: ThreadClassifier, title: str, body: str = "") -> set[str]:
    return {match.thread_id for match in classifier.classify(title, body)}


def _minimal(**overrides: Any) -> dict[str, Any]:
    """A valid two-sided thread as a dict, with `overrides` applied."""
    thread: dict[str, Any] = {
        "id": "china-dprk",
        "name_en": "China–North Korea",
        "name_ar": "الصين وكوريا الشمالية",
        "groups": [
            {
                "id": "china",
                "name_en": "China",
                "name_ar": "الصين",
                "entities": [
                    {
                        "id": "china",
                        "name_en": "China",
                        "name_ar": "الصين",
                        "aliases": ["الصين", "China", "بكين"],
                    },
                    {"id": "xi", "name_en": "Xi Jinping", "name_ar": "شي جينبينغ", "aliases": ["شي جينبينغ"]},
                ],
            },
            {
                "id": "dprk",
                "name_en": "North Korea",
                "name_ar": "كوريا الشمالية",
                "entities": [
                    {
                        "id": "north-korea",
                        "name_en": "North Korea",
                        "name_ar": "كوريا الشمالية",
                        "aliases": ["كوريا الشمالية", "الكوري الشمالي", "North Korea", "بيونغ يانغ"],
                    }
                ],
            },
        ],
    }
    thread.update(overrides)
    return thread


# ---------------------------------------------------------------- threads as data


def test_shipped_threads_are_russia_dprk_and_saudi_russia(threads: list[ThreadDef]) -> None:
    assert [thread.id for thread in threads] == ["russia-dprk", "saudi-russia"]
    assert all(len(thread.groups) >= 2 for thread in threads)
    assert default_threads_path().resolve() == (SEEDS / "threads.toml").resolve()


def test_entity_shared_by_two_threads_keeps_one_id_and_one_alias_list(threads: list[ThreadDef]) -> None:
    russia = [e for thread in threads for group in thread.groups for e in group.entities if e.id == "russia"]
    assert len(russia) == 2
    assert russia[0] == russia[1]
    assert {"روسيا", "Russia", "الروسية"} <= set(russia[0].aliases)


def test_thread_survives_a_json_round_trip(threads: list[ThreadDef]) -> None:
    for thread in threads:
        stored = json.loads(json.dumps(thread.to_dict(), ensure_ascii=False))
        assert ThreadDef.from_dict(stored) == thread


def test_thread_added_at_run_time_classifies_articles(threads: list[ThreadDef]) -> None:
    china_dprk = ThreadDef.from_dict(json.loads(json.dumps(_minimal())))
    classifier = ThreadClassifier([*threads, china_dprk])
    assert _thread_ids(classifier, *_china_story()) == {"china-dprk"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "'id' must be"),
        ({"id": "Russia DPRK"}, "'id' must be"),
        ({"name_ar": ""}, "'name_ar' must be a non-empty string"),
        ({"groups": [_minimal()["groups"][0]]}, "at least two sides"),
        ({"groups": [_minimal()["groups"][0]] * 2}, "duplicate group id: 'china'"),
        ({"colour": "red"}, "unknown key(s) 'colour'"),
    ],
)
def test_bad_thread_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ThreadDefinitionError, match="thread") as error:
        ThreadDef.from_dict(_minimal(**change))
    assert message in str(error.value)


def test_entity_without_aliases_is_refused() -> None:
    data = _minimal()
    data["groups"][1]["entities"][0]["aliases"] = []
    with pytest.raises(
        ThreadDefinitionError, match=r"entity 'north-korea': 'aliases' must be a non-empty list"
    ):
        ThreadDef.from_dict(data)


def test_alias_without_a_letter_is_refused() -> None:
    data = _minimal()
    data["groups"][1]["entities"][0]["aliases"] = ["«»"]
    with pytest.raises(ThreadDefinitionError, match="must be a string with a letter or digit"):
        ThreadDef.from_dict(data)


def test_entity_id_used_on_two_sides_is_refused() -> None:
    data = _minimal()
    data["groups"][1]["entities"][0]["id"] = "china"
    with pytest.raises(ThreadDefinitionError, match="duplicate entity id: 'china'"):
        ThreadDef.from_dict(data)


def test_alias_naming_two_sides_is_refused() -> None:
    data = _minimal()
    data["groups"][1]["entities"][0]["aliases"].append("بكين")
    with pytest.raises(ThreadDefinitionError, match="alias 'بكين' names both side 'china' and side 'dprk'"):
        ThreadDef.from_dict(data)


def test_duplicate_thread_ids_are_refused(tmp_path: Path) -> None:
    text = (SEEDS / "threads.toml").read_text("utf-8")
    path = tmp_path / "threads.toml"
    path.write_text(text.replace('id = "saudi-russia"', 'id = "russia-dprk"'), "utf-8")
    with pytest.raises(ThreadDefinitionError, match="duplicate thread id: 'russia-dprk'"):
        load_threads(path)


def test_reference_to_an_undefined_entity_is_refused() -> None:
    text = """
[[threads]]
id = "x"
name_en = "X"
name_ar = "س"
[[threads.groups]]
id = "a"
name_en = "A"
name_ar = "أ"
entities = ["atlantis"]
[[threads.groups]]
id = "b"
name_en = "B"
name_ar = "ب"
entities = [{ id = "b", name_en = "B", name_ar = "ب", aliases = ["Bravo"] }]
"""
    with pytest.raises(
        ThreadDefinitionError, match=r"unknown entity 'atlantis' \(define it in \[entities.atlantis\]\)"
    ):
        threads_from_toml(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("threads = [", "not valid TOML"),
        ("", "define at least one [[threads]] table"),
        (
            "[entities.russia]\nname_en = 'Russia'\nname_ar = 'روسيا'\nalias = ['Russia']\n",
            "unknown key(s) 'alias'",
        ),
    ],
)
def test_bad_threads_file_is_refused_with_its_path(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "threads.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ThreadDefinitionError) as error:
        load_threads(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_missing_threads_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ThreadDefinitionError, match="cannot read threads file"):
        load_threads(tmp_path / "absent.toml")


# ---------------------------------------------------------------- the seed articles


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("000", {"russia-dprk", "saudi-russia"}),
        ("001", {"russia-dprk"}),
        ("002", {"russia-dprk"}),
        ("003", {"russia-dprk"}),
        ("004", {"russia-dprk"}),
    ],
)
def test_seed_article_belongs_to_its_threads(
    classifier: ThreadClassifier, prefix: str, expected: set[str]
) -> None:
    assert _thread_ids(classifier, *_seed(prefix)) == expected


def test_china_story_with_russia_only_in_its_analysis_is_not_russia_dprk(
    classifier: ThreadClassifier,
) -> None:
    headline, body = _china_story()
    assert classifier.entities_in(body)["russia"] >= 5  # Russia recurs, but only in later paragraphs
    assert _thread_ids(classifier, headline, body) == set()


def test_china_story_is_not_russia_dprk_once_cleaned_either(classifier: ThreadClassifier) -> None:
    headline, body = _china_story()
    lines = [line.strip() for line in body.splitlines()]
    # What the cleaner will leave: no repeated captions, no repeated headline, no "TT" logo line.
    kept = [line for line in lines if line and lines.count(line) == 1 and line not in {headline, "TT"}]
    assert _thread_ids(classifier, headline, "\n\n".join(kept)) == set()


def test_related_articles_block_does_not_make_002_saudi_russia(classifier: ThreadClassifier) -> None:
    _, body = _seed("002")
    assert classifier.entities_in(body)["saudi-arabia"] >= 3
    assert "saudi-russia" not in _thread_ids(classifier, *_seed("002"))


# ---------------------------------------------------------------- labelled sentences


@pytest.mark.parametrize("case", SENTENCES, ids=[case["why"] for case in SENTENCES])
def test_labelled_sentence_is_classified_as_labelled(
    classifier: ThreadClassifier, case: dict[str, Any]
) -> None:
    assert _thread_ids(classifier, case["title"], case.get("body", "")) == set(case["threads"])


def test_labelled_sentences_hold_enough_positives_and_hard_negatives() -> None:
    assert sum(1 for case in SENTENCES if case["threads"]) >= 15
    assert sum(1 for case in SENTENCES if not case["threads"]) >= 15


# ---------------------------------------------------------------- the membership rule


def _body(*sentences: str, filler: int = 0) -> str:
    pad = "The talks covered trade, energy and the regional situation in some detail. " * filler
    return pad + " ".join(sentences)


def test_side_named_once_in_the_body_is_not_enough(classifier: ThreadClassifier) -> None:
    body = _body("Lavrov also mentioned North Korea.", "Officials discussed grain exports.")
    assert _thread_ids(classifier, "Lavrov visits Ankara", body) == set()


def test_side_named_twice_from_the_lead_on_is_enough(classifier: ThreadClassifier) -> None:
    body = _body("Lavrov also mentioned North Korea.", "Pyongyang welcomed the remarks.")
    assert _thread_ids(classifier, "Lavrov visits Ankara", body) == {"russia-dprk"}


def test_side_named_repeatedly_but_only_after_the_lead_is_not_enough(classifier: ThreadClassifier) -> None:
    late = _body("North Korea was mentioned.", "Pyongyang too.", "And the DPRK.", filler=10)
    assert late.index("North Korea") > LEDE_CHARS
    assert _thread_ids(classifier, "Lavrov visits Ankara", late) == set()


def test_side_named_in_the_title_is_enough(classifier: ThreadClassifier) -> None:
    assert _thread_ids(classifier, "Lavrov visits Pyongyang", "") == {"russia-dprk"}


def test_score_is_highest_when_every_side_is_in_the_title(classifier: ThreadClassifier) -> None:
    (in_title,) = classifier.classify("Lavrov visits Pyongyang", "")
    body = _body("Lavrov also mentioned North Korea.", "Pyongyang welcomed the remarks.")
    (in_body,) = classifier.classify("Lavrov visits Ankara", body)
    assert in_title.score == 1.0
    assert 0.0 < in_body.score < in_title.score


def test_lead_and_mention_count_are_options() -> None:
    strict = ThreadClassifier(load_threads(SEEDS / "threads.toml"), min_body_mentions=3, lede_chars=10)
    body = _body("Lavrov also mentioned North Korea.", "Pyongyang welcomed the remarks.")
    assert strict.classify("Lavrov visits Ankara", body) == []


# ---------------------------------------------------------------- matching and evidence


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("وبيونغ يانغ", "pyongyang"),
        ("لروسيا", "russia"),
        ("بموسكو", "moscow"),
        ("فالكرملين", "kremlin"),
        ("للرياض", "riyadh"),
        ("وبالرياض", "riyadh"),
        ("كالروسي", "russia"),
        ("للروسية", "russia"),
        ("وَبِيُونْغ يَانْغ", "pyongyang"),
        ("بيونغيانغ", "pyongyang"),
        ("THE KREMLIN", "kremlin"),
        ("kim jong-un", "kim-jong-un"),
        ("Russia's", "russia"),
    ],
)
def test_alias_matches_with_clitics_marks_case_and_spelling_variants(
    classifier: ThreadClassifier, text: str, entity: str
) -> None:
    assert classifier.entities_in(f"«{text}»، ") == {entity: 1}


@pytest.mark.parametrize(
    "text",
    [
        "بيلاروسيا",  # Belarus
        "الرياضة",  # sport, not Riyadh
        "رياض",  # a given name: Riyadh is always written with the article
        "كوريا الجنوبية وسول",
        "South Korea, Seoul, Korean",
        "Russiagate",
        "كيم",
        "الخريف",  # autumn
        "موسكوفيتش",
    ],
)
def test_alias_does_not_fire_inside_other_words_or_on_ambiguous_names(
    classifier: ThreadClassifier, text: str
) -> None:
    assert classifier.entities_in(text) == {}


def test_longest_alias_wins_where_aliases_overlap(classifier: ThreadClassifier) -> None:
    (match,) = classifier.classify("كوريا الديمقراطية الشعبية وروسيا", "")
    aliases = {evidence.alias for evidence in match.evidence}
    assert aliases == {"كوريا الديمقراطية الشعبية", "روسيا"}


def test_entities_in_counts_each_mention_once(classifier: ThreadClassifier) -> None:
    text = "موسكو ترحب. قال الكرملين إن موسكو وبيونغ يانغ حليفتان، وإن روسيا ملتزمة"
    assert classifier.entities_in(text) == {"moscow": 2, "kremlin": 1, "pyongyang": 1, "russia": 1}


def test_evidence_gives_the_alias_as_written_without_clitics(classifier: ThreadClassifier) -> None:
    (match,) = classifier.classify("وَبيونج يانج ترحب بوزير الخارجية الروسي", "")
    assert match.thread_id == "russia-dprk"
    assert sorted(match.evidence, key=lambda e: e.group_id) == [
        Evidence("pyongyang", "dprk", "بيونج يانج", "title", 1),
        Evidence("russia", "russia", "الروسي", "title", 1),
    ]


def test_evidence_counts_mentions_per_spelling_and_place(classifier: ThreadClassifier) -> None:
    body = "Lavrov flew to Pyongyang. In PYONGYANG, Lavrov met Kim Jong-un."
    (match,) = classifier.classify("Lavrov in North Korea", body)
    assert Evidence("lavrov", "russia", "Lavrov", "title", 1) in match.evidence
    assert Evidence("lavrov", "russia", "Lavrov", "body", 2) in match.evidence
    assert Evidence("pyongyang", "dprk", "Pyongyang", "body", 1) in match.evidence
    assert Evidence("pyongyang", "dprk", "PYONGYANG", "body", 1) in match.evidence
    assert Evidence("kim-jong-un", "dprk", "Kim Jong-un", "body", 1) in match.evidence


def test_matches_thread_needs_one_mention_per_side_in_a_short_segment(classifier: ThreadClassifier) -> None:
    assert classifier.matches_thread("لافروف في وونسان", "") == {"russia-dprk"}
    assert classifier.matches_thread(
        "مقالات ذات صلة", "وزير الخارجية السعودي يبحث الأزمة الأوكرانية – الروسية"
    ) == {"saudi-russia"}
    assert classifier.matches_thread("الصين وكوريا الشمالية", "تعميق التعاون") == set()


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=80), body=st.text(max_size=400))
def test_classify_takes_any_text(classifier: ThreadClassifier, title: str, body: str) -> None:
    for match in classifier.classify(title, body):
        assert 0.0 < match.score <= 1.0
        assert all(evidence.count >= 1 and evidence.alias for evidence in match.evidence)


@settings(max_examples=100, deadline=None)
@given(noise=st.text(alphabet=" ,.«»()\u064e\u0640\u200f", max_size=6))
def test_alias_as_written_is_found_among_noise(classifier: ThreadClassifier, noise: str) -> None:
    (match,) = classifier.classify(f"{noise}لافروف{noise} في{noise} بيونغ يانغ{noise}", "")
    assert {e.entity_id for e in match.evidence} == {"lavrov", "pyongyang"}


def test_evidence_stays_aligned_when_a_word_vanishes_in_normalization(classifier: ThreadClassifier) -> None:
    # A lone tatweel used as a dash normalizes to nothing, so the normalized text has one word fewer.
    (match,) = classifier.classify("لافروف ـ \u200f وبيونغ يانغ: ﻻفروف", "")
    assert {(e.alias, e.count) for e in match.evidence} == {("لافروف", 1), ("بيونغ يانغ", 1), ("ﻻفروف", 1)}
