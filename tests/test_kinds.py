"""The kind of every bullet: official statement, reporting or analysis, from attribution cues."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from bot.attribution.kinds import classify_kind, decide, reconcile

DEVSET = Path(__file__).parent / "data" / "devset"
FLOOR = 0.85


@pytest.mark.parametrize(
    ("sentence", "lang", "kind"),
    [
        ("قال وزير الخارجية الروسي سيرغي لافروف إن العلاقات مع بيونغ يانغ قوية.", "ar", "official"),
        ("وأعلنت وزارة الدفاع الروسية في بيان أن الوفد وصل.", "ar", "official"),
        ("وقال كيم جونغ أون إن التحالف متين.", "ar", "official"),
        ("ونقلت وكالة تاس الروسية عن أوشاكوف قوله إن الجانبين ناقشا شروط لقاء.", "ar", "reporting"),
        ("وكان قد أعلن مصدر مسؤول في وزارة الطاقة أن السعودية ستمدد خفضها.", "ar", "official"),
        ("ونقلت رويترز عن مسؤول سعودي قوله إن الطائرة هبطت.", "ar", "reporting"),
        ("بحسب مصادر مطلعة، تشمل الصفقة النفط والغاز.", "ar", "reporting"),
        ("وذكرت وكالات أنباء روسية أن لافروف أجرى محادثات مع نظيره.", "ar", "reporting"),
        ("يرى محللون أن الزيارة تعكس تقاربا متزايدا.", "ar", "analysis"),
        ("وصل الوفد إلى موسكو يوم الثلاثاء.", "ar", "reporting"),
        ("The Kremlin said in a statement that Putin would travel to Pyongyang.", "en", "official"),
        ("Kim Jong Un told Lavrov that Pyongyang would support Moscow, KCNA said.", "en", "official"),
        ("According to people familiar with the matter, the deal covers oil.", "en", "reporting"),
        ("North Korean troops were deployed to Kursk, Reuters reported.", "en", "reporting"),
        ("Putin was welcomed on Wednesday by a cheering crowd.", "en", "reporting"),
        ("Russia's Defense Ministry didn't say whom he would meet.", "en", "reporting"),
        ("Analysts say the visit signals deeper military ties.", "en", "analysis"),
        ("The two sides signed an agreement on Tuesday.", "en", "reporting"),
    ],
)
def test_attribution_cues_decide_the_kind(sentence: str, lang: str, kind: str) -> None:
    assert classify_kind(sentence, lang) == kind


def test_each_decision_records_its_evidence() -> None:
    decision = decide("يرى محللون أن الزيارة تعكس تقاربا.", "ar")
    assert decision.kind == "analysis"
    assert {"kind": "analysis", "cue": "analysts", "text": "محللون"} in decision.to_dict()["evidence"]
    assert decide("The two sides met on Tuesday.", "en").by_default


def test_an_assessment_quoted_from_an_official_stays_an_official_statement() -> None:
    sentence = 'وأكد الزعيم الكوري الشمالي أن "زيارتكم تمثل خطوة بالغة الأهمية".'
    assert classify_kind(sentence, "ar") == "official"


def test_on_disagreement_the_cues_win_and_without_cues_the_models_kind_stands() -> None:
    assert reconcile("analysis", "Lavrov said the talks were useful.", "en").kind == "official"
    kept = reconcile("official", "The two sides signed an agreement on Tuesday.", "en")
    assert kept.kind == "official" and kept.evidence[0].name == "model"
    assert reconcile("nonsense", "The two sides met.", "en").kind == "reporting"


def _labelled() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(DEVSET.glob("*/bullet_kinds.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


@pytest.mark.skipif(not _labelled(), reason="no labelled dev set (tests/data/devset/*/bullet_kinds.jsonl)")
def test_bullet_kind_accuracy_on_the_labelled_dev_set_is_at_least_the_floor_per_language() -> None:
    right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in _labelled():
        right[row["lang"]][0] += classify_kind(row["sentence"], row["lang"]) == row["kind"]
        right[row["lang"]][1] += 1
    accuracy = {lang: ok / total for lang, (ok, total) in right.items()}
    assert all(value >= FLOOR for value in accuracy.values()), accuracy
