"""Offline Q&A accuracy on the labelled dev set: the real answering path over the real articles.

Run: python bench/qa_eval.py [DEVSET_DIR ...] [--json] [--show-errors]

The dev-set articles are stored in a temporary SQLite database, classified and indexed; each question
is asked through `bot.qa.answer_question` (follow-ups in their root question's conversation). A
question is answered right when the answer is covered and its text contains any of `answer_any`
(case-insensitive, after Arabic normalization), or, for `refuse: true`, when it is a refusal.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset import DEFAULT_DIRS, load_articles, load_questions, make_context, store

from bot.context import Context
from bot.qa import answer_question
from bot.text.normalize import normalize


def is_right(question: dict[str, Any], covered: bool, text: str) -> bool:
    """The scoring rule of DEVSET.md."""
    if question.get("refuse"):
        return not covered
    answer = normalize(text)
    return covered and any(normalize(str(expected)) in answer for expected in question.get("answer_any", []))


def root_of(question: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    """The first question of a follow-up chain: its id names the conversation."""
    seen = set()
    while question.get("follow_up_of") and question["follow_up_of"] in by_id and question["id"] not in seen:
        seen.add(question["id"])
        question = by_id[question["follow_up_of"]]
    return str(question["id"])


def evaluate(ctx: Context, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Ask every question; the accuracy overall and by kind, and each result."""
    by_id = {str(q["id"]): q for q in questions}
    results = []
    for question in questions:
        conversation = root_of(question, by_id)
        answer = answer_question(
            ctx, str(question["question"]), lang=question.get("lang"), conversation_id=f"eval-{conversation}"
        )
        right = is_right(question, answer.covered, answer.text)
        results.append(
            {
                "id": question["id"],
                "lang": question.get("lang"),
                "follow_up": bool(question.get("follow_up_of")),
                "refuse": bool(question.get("refuse")),
                "right": right,
                "covered": answer.covered,
                "question": question["question"],
                "expected": question.get("answer_any", []),
                "answer": answer.text,
            }
        )
    groups: Counter[str] = Counter()
    rights: Counter[str] = Counter()
    for result in results:
        for group in ("all", f"lang:{result['lang']}", "follow-up" if result["follow_up"] else "first"):
            groups[group] += 1
            rights[group] += int(result["right"])
        if result["refuse"]:
            groups["refuse"] += 1
            rights["refuse"] += int(result["right"])
    accuracy = {g: round(rights[g] / groups[g], 3) for g in sorted(groups)}
    return {"questions": len(results), "accuracy": accuracy, "counts": dict(groups), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="dev-set folders (default: the known ones)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--show-errors", action="store_true", help="print every wrong answer")
    args = parser.parse_args()
    dirs = args.dirs or list(DEFAULT_DIRS)
    articles, questions = load_articles(dirs), load_questions(dirs)
    if not questions:
        raise SystemExit(f"no questions.jsonl under {', '.join(map(str, dirs))}")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(Path(tmp))
        store(ctx, articles)
        report = evaluate(ctx, questions)
        ctx.db.dispose()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"articles: {len(articles)}  questions: {report['questions']}")
    for group, value in report["accuracy"].items():
        print(f"  accuracy {group:<12} {value:.3f}  (n={report['counts'][group]})")
    if args.show_errors:
        for result in report["results"]:
            if not result["right"]:
                print(f"\n✗ {result['id']} {result['question']}\n  expected: {result['expected']}")
                print("  got: " + result["answer"].replace("\n", "\n       ")[:600])


if __name__ == "__main__":
    main()
