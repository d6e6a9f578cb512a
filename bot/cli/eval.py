"""`newsbrief eval DIR`: the pipeline's quality on a labelled dev set, offline, on a temporary database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from bot.cli import common


def eval_command(
    folder: Path = typer.Argument(
        ..., help="labelled dev set folder (articles.jsonl etc., sub-folders read)"
    ),
    embedder: str = typer.Option("local", "--embedder", help="local (the bundled encoder) or none"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Run the real pipeline on a labelled dev set and print thread, story, date and answer quality."""
    # Imported here so that every other command starts without loading the evaluation stack.
    from bot.evaluation.devset import DevSetError
    from bot.evaluation.harness import evaluate

    if embedder not in ("local", "none"):
        common.fail(f"--embedder must be local or none, not {embedder!r}")
    with common.user_errors(DevSetError, OSError):
        report = evaluate(folder, embedder=embedder, settings=common.settings())
    data = report.to_dict()
    if as_json:
        common.emit_json(data)
        return
    for line in describe(data):
        typer.echo(line)


def describe(data: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    thread = data["thread"]
    lines = [
        f"dev set: {data['articles']} articles, {data['questions']} questions ({data['seconds']} s)",
        f"thread placement   P {pct(thread['precision'])}  R {pct(thread['recall'])}  F1 {pct(thread['f1'])}",
    ]
    for name, score in data["stories"].items():
        lines.append(
            f"stories {name:<12} B-cubed P {pct(score['precision'])}  R {pct(score['recall'])}  "
            f"F1 {pct(score['f1'])}  ({score['n']} articles)"
        )
    lines += [
        f"near-duplicate pairs linked  {pct(data['near_dup_recall'])}  ({data['near_dup_pairs']} pairs)",
        f"publication date accuracy    {pct(data['date_accuracy'])}",
        f"event date accuracy          {pct(data['event_date_accuracy'])}",
        f"Q&A accuracy (offline)       {pct(data['qa_accuracy'])}  "
        + "  ".join(f"{lang}: {pct(v)}" for lang, v in data["qa_by_lang"].items()),
        f"brief figures in sources     {pct(data['brief_figures_found'])}  ({data['brief_figures']} figures)",
    ]
    kinds = data["kinds_by_lang"]
    lines.append(
        "bullet-kind accuracy         "
        + ("n/a" if kinds is None else "  ".join(f"{lang}: {pct(v)}" for lang, v in kinds.items()))
    )
    return lines
