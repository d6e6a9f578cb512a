"""The labelled dev set: every articles.jsonl, questions.jsonl and bullet_kinds.jsonl below a folder.

The format is described in the README ("Evaluation"): one JSON object per line; article ids are
unique across the whole set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


class DevSetError(ValueError):
    """A dev set folder that cannot be read: missing, empty, or a line that is not a labelled item."""


@dataclass(frozen=True, slots=True)
class DevArticle:
    id: str
    title: str
    text: str
    lang: str
    threads: frozenset[str]
    event: str
    near_dup: str | None = None
    published: date | None = None
    event_date: date | None = None
    url: str | None = None
    outlet: str = ""


@dataclass(frozen=True, slots=True)
class DevQuestion:
    id: str
    lang: str
    question: str
    answer_any: tuple[str, ...]
    refuse: bool = False
    follow_up_of: str | None = None
    article_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DevKind:
    article_id: str
    lang: str
    sentence: str
    kind: str


@dataclass(slots=True)
class DevSet:
    articles: list[DevArticle] = field(default_factory=list)
    questions: list[DevQuestion] = field(default_factory=list)
    kinds: list[DevKind] = field(default_factory=list)


def load_devset(folder: Path) -> DevSet:
    """Read every labelled file below `folder` (sub-folders such as rd/ and sr/ included)."""
    if not folder.is_dir():
        raise DevSetError(f"{folder} is not a folder")
    found = DevSet(
        articles=[_article(row, where) for row, where in _rows(folder, "articles.jsonl")],
        questions=[_question(row, where) for row, where in _rows(folder, "questions.jsonl")],
        kinds=[_kind(row, where) for row, where in _rows(folder, "bullet_kinds.jsonl")],
    )
    if not found.articles:
        raise DevSetError(f"no articles.jsonl with articles below {folder}")
    ids = [a.id for a in found.articles]
    if len(ids) != len(set(ids)):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise DevSetError(f"article ids used more than once: {', '.join(twice[:10])}")
    return found


def _rows(folder: Path, name: str) -> Iterator[tuple[dict[str, Any], str]]:
    for path in sorted(folder.rglob(name)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DevSetError(f"{where}: not JSON ({error})") from None
            if not isinstance(row, dict):
                raise DevSetError(f"{where}: expected an object")
            yield row, where


def _required(row: dict[str, Any], key: str, where: str) -> Any:
    if row.get(key) in (None, ""):
        raise DevSetError(f"{where}: {key!r} is required")
    return row[key]


def _date(value: Any, where: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DevSetError(f"{where}: {value!r} is not an ISO date") from None


def _article(row: dict[str, Any], where: str) -> DevArticle:
    return DevArticle(
        id=str(_required(row, "id", where)),
        title=str(row.get("title") or ""),
        text=str(_required(row, "text", where)),
        lang=str(row.get("lang") or ""),
        threads=frozenset(row.get("threads") or []),
        event=str(row.get("event") or row["id"]),
        near_dup=row.get("near_dup") or None,
        published=_date(row.get("published"), where),
        event_date=_date(row.get("event_date"), where),
        url=row.get("url") or None,
        outlet=str(row.get("outlet") or ""),
    )


def _question(row: dict[str, Any], where: str) -> DevQuestion:
    return DevQuestion(
        id=str(_required(row, "id", where)),
        lang=str(row.get("lang") or ""),
        question=str(_required(row, "question", where)),
        answer_any=tuple(str(a) for a in row.get("answer_any") or []),
        refuse=bool(row.get("refuse")),
        follow_up_of=row.get("follow_up_of") or None,
        article_ids=tuple(str(a) for a in row.get("article_ids") or []),
    )


def _kind(row: dict[str, Any], where: str) -> DevKind:
    return DevKind(
        article_id=str(row.get("article_id") or ""),
        lang=str(row.get("lang") or ""),
        sentence=str(_required(row, "sentence", where)),
        kind=str(_required(row, "kind", where)),
    )
