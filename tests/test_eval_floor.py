"""The evaluation as a quality floor: the pipeline on the labelled dev set must not get worse.

Floors sit a little under what the pipeline reached when they were set (see the README's Evaluation
section); they are never timings. The questions part (every passage embedded) is left to `newsbrief
eval`, to keep this test short.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.evaluation.harness import evaluate

DEVSET = Path(__file__).resolve().parent / "data" / "devset"

FLOORS = {
    "thread_f1": 0.95,
    "stories_f1": 0.74,
    "stories_precision": 0.75,
    "near_dup_recall": 0.80,
    "date_accuracy": 0.95,
    "brief_figures_found": 0.95,
}


@pytest.mark.skipif(
    not any(DEVSET.rglob("articles.jsonl")), reason="no labelled dev set in tests/data/devset"
)
def test_the_pipeline_stays_at_or_above_its_floors_on_the_dev_set(tmp_path: Path) -> None:
    report = evaluate(DEVSET, settings=Settings(_env_file=None, data_dir=tmp_path), questions=False)
    reached = {
        "thread_f1": report.thread.f1,
        "stories_f1": report.stories["all"].f1,
        "stories_precision": report.stories["all"].precision,
        "near_dup_recall": report.near_dup_recall or 0.0,
        "date_accuracy": report.date_accuracy or 0.0,
        "brief_figures_found": report.brief_figures_found if report.brief_figures_found is not None else 1.0,
    }
    below = {name: round(value, 3) for name, value in reached.items() if value < FLOORS[name]}
    assert not below, f"below the floor: {below} (floors {FLOORS})"
