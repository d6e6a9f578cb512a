"""Do a story's bullets repeat each other? Measured on the labelled dev set's real articles.

Run: python bench/redundancy.py [DEVSET_DIR ...] [--json]

Each labelled event with two or more articles on a thread is one story (the labels, not our
clustering, so that only the summarizer is measured). Its offline summary is made in each language
that has sources; for every summary with two or more bullets we take the largest pairwise similarity
between its bullets, by two measures:
- terms: Jaccard of the bullets' stemmed terms (what word-level repetition looks like);
- meaning: cosine of their multilingual sentence embeddings (the bundled encoder), which sees the
  same fact told in other words.
It prints the mean and the largest of those maxima, and the share of summaries with a near-repeat
(terms >= 0.5, or meaning >= 0.8). Also: bullets that start with a dateline, and bullets with no
absolute date. No timing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset import DEFAULT_DIRS, DevArticle, load_articles, make_context

from bot.embed import Embedder
from bot.summarize import SourceArticle, StoryInput, Summary
from bot.summarize.bullets import MONTHS, strip_dateline
from bot.summarize.offline import OfflineSummarizer
from bot.text.stem import terms
from bot.threads.classify import ThreadClassifier, load_threads

REPO = Path(__file__).resolve().parents[1]
TERMS_REPEAT = 0.5
MEANING_REPEAT = 0.8
_DATE = re.compile(
    r"\b\d{1,2}\s+(?:" + "|".join(MONTHS["en"] + MONTHS["ar"]) + r")\s+\d{4}|\b\d{4}-\d{2}-\d{2}\b"
)


def stories(articles: list[DevArticle]) -> list[tuple[str, str, list[DevArticle]]]:
    """(event, thread, members) for every labelled event with two or more articles on a thread."""
    groups: dict[tuple[str, str], list[DevArticle]] = defaultdict(list)
    for article in articles:
        for thread in article.threads:
            groups[(article.event, thread)].append(article)
    return [
        (event, thread, members) for (event, thread), members in sorted(groups.items()) if len(members) > 1
    ]


def summaries(articles: list[DevArticle], embedder: Embedder | None = None) -> list[tuple[str, Summary]]:
    """Each dev-set story's offline summaries, in each language it has sources in."""
    threads = {t.id: t for t in load_threads(REPO / "seeds" / "threads.toml")}
    classifier = ThreadClassifier(threads.values())
    try:
        summarizer = OfflineSummarizer(entities=classifier.entities_in, embedder=embedder)
    except TypeError:  # a baseline checkout whose summarizer takes no embedder
        summarizer = OfflineSummarizer(entities=classifier.entities_in)
    out = []
    for number, (event, thread, members) in enumerate(stories(articles), start=1):
        if thread not in threads:
            continue
        sources = [
            SourceArticle(
                i,
                a.title,
                a.text,
                a.lang,
                None if a.published is None else _midnight(a.published),
                a.outlet,
            )
            for i, a in enumerate(members, start=1)
        ]
        story = StoryInput(number, threads[thread], sources)
        for lang in sorted({a.lang for a in members}):
            out.append((f"{event}/{thread}/{lang}", summarizer.summarize_lang(story, lang)))
    return out


def _midnight(day: Any) -> Any:
    from datetime import UTC, datetime

    return datetime.combine(day, datetime.min.time(), UTC)


def measure(items: list[tuple[str, Summary]], embedder: Embedder) -> dict[str, Any]:
    """The redundancy figures of the summaries."""
    term_max, meaning_max, repeated, detail = [], [], 0, []
    bullets_total = datelines = undated = 0
    for name, summary in items:
        texts = [b.text for b in summary.bullets]
        bullets_total += len(texts)
        datelines += sum(strip_dateline(t) != t.strip() for t in texts)
        undated += sum(not _DATE.search(t) for t in texts)
        texts = [strip_dateline(t) for t in texts]  # compared as sentences, whatever their front matter
        if len(texts) < 2:
            continue
        # Dates are the bullets' furniture ("say when"), not their content: they are left out here.
        texts = [_DATE.sub(" ", t) for t in texts]
        stems = [set(terms(t, summary.lang)) for t in texts]
        jac = max(
            len(a & b) / len(a | b) if a | b else 0.0 for i, a in enumerate(stems) for b in stems[i + 1 :]
        )
        vectors = embedder.embed(texts) if embedder.dim else np.zeros((len(texts), 1))
        cos = max(float(vectors[i] @ vectors[j]) for i in range(len(texts)) for j in range(i + 1, len(texts)))
        term_max.append(jac)
        meaning_max.append(cos)
        near = jac >= TERMS_REPEAT or cos >= MEANING_REPEAT
        repeated += near
        detail.append({"story": name, "terms": round(jac, 3), "meaning": round(cos, 3), "near_repeat": near})
    n = len(term_max)
    return {
        "summaries": len(items),
        "with_2_bullets": n,
        "bullets": bullets_total,
        "terms_max_mean": round(statistics.fmean(term_max), 3) if n else None,
        "terms_max_max": round(max(term_max), 3) if n else None,
        "meaning_max_mean": round(statistics.fmean(meaning_max), 3) if n else None,
        "meaning_max_max": round(max(meaning_max), 3) if n else None,
        "near_repeat_share": round(repeated / n, 3) if n else None,
        "bullets_with_dateline": datelines,
        "bullets_without_absolute_date": undated,
        "detail": detail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="dev-set folders (default: the known ones)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    articles = load_articles(args.dirs or list(DEFAULT_DIRS))
    if not articles:
        raise SystemExit("no dev-set articles found")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(Path(tmp))
        figures = measure(summaries(articles, ctx.embedder()), ctx.embedder())
        ctx.db.dispose()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(
        f"dev-set articles: {len(articles)}; stories (labelled events, 2+ reports): {figures['with_2_bullets']}"
    )
    for key, value in figures.items():
        if key != "detail":
            print(f"  {key:<32} {value}")


if __name__ == "__main__":
    main()
