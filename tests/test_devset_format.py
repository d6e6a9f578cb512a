"""Every labelled dev set under tests/data/devset/*/ keeps the shared format (DEVSET.md).

The evaluation harness and the engineers tuning against these files rely on it: unique ids, the
fields present with the right types, and questions / bullet kinds that point at stored articles
whose text really holds the quoted sentence.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

DEVSET_ROOT = Path(__file__).parent / "data" / "devset"
ARTICLE_FIELDS = {
    "id": str,
    "url": str,
    "outlet": str,
    "domain": str,
    "lang": str,
    "title": str,
    "text": str,
    "threads": list,
    "event": str,
    "licence": str,
}
KINDS = {"official", "reporting", "analysis"}
LANGS = {"ar", "en"}


def _folders() -> list[Path]:
    if not DEVSET_ROOT.is_dir():
        return []
    return sorted(p for p in DEVSET_ROOT.iterdir() if (p / "articles.jsonl").is_file())


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path}:{number} is not JSON: {exc}") from exc
    return rows


def _is_iso_date_or_none(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


FOLDERS = _folders()


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_articles_have_every_field_and_unique_ids(folder: Path) -> None:
    articles = _rows(folder / "articles.jsonl")
    assert articles, f"{folder} has no articles"
    ids = [a.get("id") for a in articles]
    assert len(ids) == len(set(ids)), "duplicate article ids"
    for article in articles:
        for field, kind in ARTICLE_FIELDS.items():
            assert isinstance(article.get(field), kind), f"{article.get('id')}: {field}"
        assert article["id"].startswith(f"{folder.name}-"), article["id"]
        assert article["lang"] in LANGS, article["id"]
        assert article["text"].strip(), article["id"]
        assert article["url"].startswith(("http://", "https://")), article["id"]
        assert "near_dup" in article, article["id"]
        assert article["near_dup"] is None or isinstance(article["near_dup"], str), article["id"]
        assert all(isinstance(t, str) for t in article["threads"]), article["id"]
        assert _is_iso_date_or_none(article.get("published")), article["id"]
        assert _is_iso_date_or_none(article.get("event_date")), article["id"]


def test_article_ids_are_unique_across_the_whole_devset() -> None:
    ids = [a["id"] for folder in FOLDERS for a in _rows(folder / "articles.jsonl")]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_questions_point_at_stored_articles(folder: Path) -> None:
    article_ids = {a["id"] for a in _rows(folder / "articles.jsonl")}
    questions = _rows(folder / "questions.jsonl")
    question_ids = [q["id"] for q in questions]
    assert len(question_ids) == len(set(question_ids)), "duplicate question ids"
    for question in questions:
        assert question["lang"] in LANGS, question["id"]
        assert question["question"].strip(), question["id"]
        assert isinstance(question["answer_any"], list), question["id"]
        assert set(question["article_ids"]) <= article_ids, question["id"]
        if question.get("follow_up_of") is not None:
            assert question["follow_up_of"] in question_ids, question["id"]
        if question["refuse"]:
            assert question["answer_any"] == [], question["id"]
        else:
            assert question["answer_any"] and question["article_ids"], question["id"]


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_bullet_sentences_are_quoted_exactly_from_their_article(folder: Path) -> None:
    texts = {a["id"]: a["text"] for a in _rows(folder / "articles.jsonl")}
    for row in _rows(folder / "bullet_kinds.jsonl"):
        assert row["kind"] in KINDS, row
        assert row["lang"] in LANGS, row
        assert row["article_id"] in texts, row
        assert row["sentence"] in texts[row["article_id"]], row


def _fold(text: str) -> str:
    """Case- and Arabic-spelling-insensitive form, the way answers are scored (DEVSET.md)."""
    text = re.sub("[\u064b-\u0652\u0640]", "", text.lower())
    text = re.sub("[أإآ]", "ا", text)
    return text.replace("ة", "ه").replace("ى", "ي")


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_every_answer_is_written_in_one_of_its_articles(folder: Path) -> None:
    texts = {a["id"]: _fold(a["text"]) for a in _rows(folder / "articles.jsonl")}
    for question in _rows(folder / "questions.jsonl"):
        if question["refuse"]:
            continue
        forms = [_fold(form) for form in question["answer_any"]]
        assert any(form in texts[article_id] for article_id in question["article_ids"] for form in forms), (
            question["id"]
        )


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_near_duplicate_groups_have_at_least_two_articles(folder: Path) -> None:
    groups: dict[str, int] = {}
    for article in _rows(folder / "articles.jsonl"):
        if article["near_dup"] is not None:
            groups[article["near_dup"]] = groups.get(article["near_dup"], 0) + 1
    assert all(size >= 2 for size in groups.values()), groups
