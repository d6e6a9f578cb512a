"""The labelled dev set (tests/data/devset/*/, format in DEVSET.md), loaded into a temporary database.

Shared by bench/qa_eval.py and bench/redundancy.py. Articles go in as stored articles (with their
outlet, URL and published date), placed in threads by the real classifier and indexed for questions
by the real indexer, so what is measured is the answering path the bot uses.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.config import Settings  # noqa: E402
from bot.context import Context  # noqa: E402
from bot.qa.index import index_articles  # noqa: E402
from bot.text.dates import find_date  # noqa: E402
from bot.threads.classify import load_threads  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Article, ArticleThread, Thread  # noqa: E402

# The labelled dev set (one folder per contributor below it).
DEFAULT_DIRS = (REPO / "tests" / "data" / "devset",)
# The time the evaluation "runs at": after every dev-set article.
EVAL_NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DevArticle:
    """One labelled article (see DEVSET.md)."""

    id: str
    url: str
    outlet: str
    lang: str
    published: date | None
    event_date: date | None
    title: str
    text: str
    threads: tuple[str, ...]
    event: str
    near_dup: str | None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a .jsonl file, blank lines skipped."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path}:{number}: not JSON: {error}") from None


def folders(dirs: Iterable[Path]) -> list[Path]:
    """Every contributor folder (holding articles.jsonl) under the given dev-set folders, deduplicated."""
    found: dict[str, Path] = {}
    for root in dirs:
        for path in sorted(root.glob("*/articles.jsonl")) + sorted(root.glob("articles.jsonl")):
            found.setdefault(path.parent.name, path.parent)
    return list(found.values())


def load_articles(dirs: Iterable[Path]) -> list[DevArticle]:
    """The labelled articles of every folder."""
    out = []
    for folder in folders(dirs):
        for row in read_jsonl(folder / "articles.jsonl"):
            out.append(
                DevArticle(
                    id=str(row["id"]),
                    url=str(row.get("url") or ""),
                    outlet=str(row.get("outlet") or ""),
                    lang=str(row["lang"]),
                    published=_date(row.get("published")),
                    event_date=_date(row.get("event_date")),
                    title=str(row.get("title") or ""),
                    text=str(row.get("text") or ""),
                    threads=tuple(row.get("threads") or ()),
                    event=str(row.get("event") or row["id"]),
                    near_dup=row.get("near_dup"),
                )
            )
    return out


def load_questions(dirs: Iterable[Path]) -> list[dict[str, Any]]:
    """The labelled questions of every folder that has them."""
    out: list[dict[str, Any]] = []
    for folder in folders(dirs):
        path = folder / "questions.jsonl"
        if path.exists():
            out.extend(read_jsonl(path))
    return out


def make_context(tmp: Path) -> Context:
    """An offline context on a fresh SQLite database in `tmp`, with the seed threads, at EVAL_NOW."""
    settings = Settings(_env_file=None, data_dir=tmp, llm_base_url="", qa_rate_limit=0)
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        for thread in load_threads(REPO / "seeds" / "threads.toml"):
            session.add(
                Thread(
                    id=thread.id, name_en=thread.name_en, name_ar=thread.name_ar, definition=thread.to_dict()
                )
            )
    return Context(settings=settings, db=db, clock=lambda: EVAL_NOW)


def store(ctx: Context, articles: Iterable[DevArticle]) -> dict[str, int]:
    """Store, classify and index the articles; their database ids by dev-set id."""
    classifier, embedder = ctx.classifier(), ctx.embedder()
    ids: dict[str, int] = {}
    with ctx.db.session() as session:
        for item in articles:
            # As ingestion does for a file: the date given, else the first date written in the text.
            published = (
                datetime.combine(item.published, datetime.min.time(), UTC) if item.published else None
            ) or find_date(item.text)
            row = Article(
                title=item.title,
                text=item.text,
                lang=item.lang,
                outlet=item.outlet,
                url=item.url or None,
                published_at=published,
                fetched_at=EVAL_NOW,
                content_hash=hashlib.sha256(f"{item.id}\n{item.text}".encode()).hexdigest(),
            )
            session.add(row)
            session.flush()
            for match in classifier.classify(item.title, item.text):
                session.add(ArticleThread(article_id=row.id, thread_id=match.thread_id, score=match.score))
            ids[item.id] = row.id
        session.flush()
        index_articles(session, list(ids.values()), embedder, classifier=classifier)
    return ids
