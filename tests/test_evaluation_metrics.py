"""The evaluation's scoring functions, on tiny hand-made inputs whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.evaluation.devset import DevSetError, load_devset
from bot.evaluation.harness import kind_classifier
from bot.evaluation.metrics import (
    accuracy,
    answer_is_right,
    bcubed,
    labelled_pairs,
    pair_recall,
    set_f1,
)


def test_bcubed_of_a_perfect_clustering_is_one() -> None:
    score = bcubed({"a": 1, "b": 1, "c": 2}, {"a": "x", "b": "x", "c": "y"})
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)


def test_bcubed_of_one_event_split_in_two_loses_recall_only() -> None:
    score = bcubed({"a": 1, "b": 1}, {"a": "x", "b": "y"})
    assert score.precision == 1.0 and score.recall == 0.5


def test_bcubed_of_two_events_glued_loses_precision_only() -> None:
    score = bcubed({"a": 1, "b": 2}, {"a": "x", "b": "x"})
    assert score.precision == 0.5 and score.recall == 1.0


def test_bcubed_counts_an_unplaced_item_as_a_cluster_of_its_own() -> None:
    score = bcubed({"a": 1, "b": 1, "c": 1}, {"a": "x", "b": "x"})
    # a, b: recall 2/3 each; c: 1/3.
    assert score.precision == 1.0 and score.recall == pytest.approx(5 / 9)


def test_set_f1_is_micro_averaged_over_item_label_pairs() -> None:
    score = set_f1({"a": {"t1"}, "b": {"t1", "t2"}, "c": set()}, {"a": {"t1"}, "b": {"t1"}, "c": {"t2"}})
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(2 / 3)


def test_labelled_pairs_and_their_recall() -> None:
    pairs = labelled_pairs({"a": "n1", "b": "n1", "c": "n1", "d": None, "e": "n2"})
    assert pairs == [("a", "b"), ("a", "c"), ("b", "c")]
    assert pair_recall(pairs, lambda x, y: {x, y} <= {"a", "b"}) == pytest.approx(1 / 3)
    assert pair_recall([], lambda x, y: False) == 1.0


def test_an_answer_is_right_by_any_expected_string_after_arabic_normalization() -> None:
    assert answer_is_right("التقى كيم في يوليو 2023", covered=True, answer_any=["يوليو ٢٠٢٣"], refuse=False)
    assert answer_is_right("They met on 12 July", covered=True, answer_any=["12 july"], refuse=False)
    assert not answer_is_right("They met in Moscow", covered=True, answer_any=["Wonsan"], refuse=False)
    assert not answer_is_right("…", covered=False, answer_any=["Wonsan"], refuse=False)
    assert answer_is_right("The sources do not say.", covered=False, answer_any=[], refuse=True)
    assert not answer_is_right("Wonsan", covered=True, answer_any=[], refuse=True)


def test_accuracy_of_nothing_is_unknown() -> None:
    assert accuracy([]) is None
    assert accuracy([True, False, True, True]) == 0.75


def test_the_dev_set_is_read_from_every_sub_folder(tmp_path: Path) -> None:
    for name, article in (("rd", {"id": "rd-1", "event": "e1"}), ("sr", {"id": "sr-1", "event": "e2"})):
        (tmp_path / name).mkdir()
        row = article | {"text": "نص", "threads": ["t"], "published": "2025-07-12", "near_dup": None}
        (tmp_path / name / "articles.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    (tmp_path / "rd" / "questions.jsonl").write_text(
        json.dumps({"id": "q1", "question": "When?", "answer_any": ["July"]}) + "\n", encoding="utf-8"
    )
    found = load_devset(tmp_path)
    assert [a.id for a in found.articles] == ["rd-1", "sr-1"]
    assert found.articles[0].published is not None and found.articles[0].published.isoformat() == "2025-07-12"
    assert [q.id for q in found.questions] == ["q1"]


def test_a_dev_set_with_a_bad_line_or_no_articles_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DevSetError, match=r"no articles\.jsonl"):
        load_devset(tmp_path)
    (tmp_path / "articles.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DevSetError, match="not JSON"):
        load_devset(tmp_path)


def test_bullet_kinds_are_scored_only_when_a_classifier_exists() -> None:
    # bot.attribution.kinds.classify_kind(sentence, lang) is issue 14's hook; until it exists the figure is "n/a".
    found = kind_classifier()
    assert found is None or callable(found)
