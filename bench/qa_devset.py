"""Q&A accuracy on the labelled dev set (tests/data/devset/*/): offline answers, the default embedder.

Run: python bench/qa_devset.py [--embedder local|none] [--sets rd sr]

Each set's articles are ingested into a temporary SQLite database the way ingestion stores and indexes
them (passages written by the ingestion hook, vectors by the deferred embedding job), then every
question is asked offline, follow-ups in the conversation of the question they follow. An answer is
right when, after `bot.text.normalize`, it contains any of `answer_any`; a question marked `refuse`
is right when the answer is a refusal. "cited" counts the answerable questions whose answer cites one
of the articles that hold the answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEVSET = Path(__file__).resolve().parents[1] / "tests" / "data" / "devset"


def load(name: str) -> tuple[list[dict], list[dict]]:
    folder = DEVSET / name

    def read(name: str) -> list[dict]:
        lines = (folder / name).read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    return read("articles.jsonl"), read("questions.jsonl")


def build(tmp: Path, embedder: str):
    from bot.app import build_context
    from bot.config import Settings

    (tmp / "no-sources.toml").write_text("", encoding="utf-8")
    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        sources_file=tmp / "no-sources.toml",
        embedder=embedder,
        qa_rate_limit=1_000_000,
        llm_base_url="",
        embedding_model="",
    )
    return build_context(settings)


def ingest(ctx, articles: list[dict]) -> dict[int, str]:
    """Store the articles as ingestion does; {article id in the database: dev-set id}."""
    from bot.ingest.pipeline import ArticlePipeline
    from bot.ingest.sources.model import RawItem

    pipeline = ArticlePipeline(ctx.classifier(), now=ctx.now)
    items = [
        RawItem(
            title=a["title"],
            text=a["text"],
            url=a["url"],
            guid=a["id"],
            outlet=a["outlet"],
            published=datetime.fromisoformat(a["published"]).replace(tzinfo=UTC)
            if a.get("published")
            else None,
        )
        for a in articles
    ]
    prepared = [p for p in (pipeline.prepare(item) for item in items) if p is not None]
    with ctx.db.session() as session:
        stored = pipeline.store_all(session, None, prepared)
    ids = {s.article_id: p.guid for s, p in zip(stored, prepared, strict=True)}
    originals = [s.article_id for s in stored if s.duplicate_of is None]
    started = time.perf_counter()
    _index(ctx, originals)
    print(f"  indexed {len(originals)} original articles in {time.perf_counter() - started:.1f} s")
    return ids


def _index(ctx, article_ids: list[int]) -> None:
    from bot.qa.index import index_new_articles
    from bot.qa.vectors import embed_queued

    index_new_articles(ctx, article_ids)
    embed_queued(ctx)


def score(ctx, questions: list[dict], ids: dict[int, str]) -> tuple[int, int, int]:
    """(right, cited, answerable) over the questions, asked in order."""
    from bot.qa.ask import answer_question
    from bot.text.normalize import normalize

    conversation: dict[str, str] = {}
    right = cited = answerable = 0
    for q in questions:
        root = conversation.get(q["follow_up_of"] or "", q["id"])
        conversation[q["id"]] = root
        answer = answer_question(ctx, q["question"], lang=q["lang"], conversation_id=root, user="devset")
        if q["refuse"]:
            right += answer.method == "refusal"
            continue
        answerable += 1
        text = normalize(answer.text)
        right += answer.method != "refusal" and any(normalize(a) in text for a in q["answer_any"])
        cited += any(ids.get(c.article_id) in q["article_ids"] for c in answer.citations)
    return right, cited, answerable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedder", default="local", choices=["local", "none"])
    parser.add_argument("--sets", nargs="*", default=["rd", "sr"])
    parser.add_argument("--dense-passages", type=int, help="override bot.qa.index.DENSE_PASSAGES")
    args = parser.parse_args()
    if args.dense_passages is not None:
        from bot.qa import index

        index.DENSE_PASSAGES = args.dense_passages
    total = [0, 0, 0, 0]
    for name in args.sets:
        articles, questions = load(name)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = build(Path(tmp), args.embedder)
            print(f"{name}: {len(articles)} articles, {len(questions)} questions (embedder {args.embedder})")
            ids = ingest(ctx, articles)
            right, cited, answerable = score(ctx, questions, ids)
            ctx.db.dispose()
        print(
            f"  accuracy {right}/{len(questions)} ({right / len(questions):.1%}); "
            f"answer cites a labelled article {cited}/{answerable}"
        )
        for i, value in enumerate((right, len(questions), cited, answerable)):
            total[i] += value
    print(
        f"all: accuracy {total[0]}/{total[1]} ({total[0] / total[1]:.1%}); cites a labelled article "
        f"{total[2]}/{total[3]} ({total[2] / total[3]:.1%})"
    )


if __name__ == "__main__":
    main()
