"""`newsbrief ask "QUESTION"`: a grounded answer from the archive, with its sources."""

from __future__ import annotations

import typer

from bot.cli import common


def ask_command(
    question: str = typer.Argument(..., help="the question, in Arabic or English"),
    lang: str = typer.Option("", "--lang", help="answer language: ar or en (default: the question's)"),
    conversation: str = typer.Option("", "--conversation", help="conversation id, for follow-up questions"),
    thread: str = typer.Option("", "--thread", help="only passages of articles in this thread"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Answer a question from the ingested articles, citing them, or say that they don't cover it."""
    # Imported here so that every other command starts without loading the retrieval stack.
    from bot.qa import QAError, answer_question, render_answer
    from bot.qa.index import index_missing

    ctx = common.context()
    # Articles stored before questions existed (or while indexing failed) are indexed on first ask.
    with ctx.db.session() as session:
        index_missing(session, ctx.embedder(), classifier=ctx.classifier())
    with common.user_errors(QAError):
        answer = answer_question(
            ctx,
            question,
            lang=lang or None,
            conversation_id=conversation or None,
            user=common.actor(),
            thread=thread or None,
            rate_limited=False,  # QA_RATE_LIMIT is for chat users, not for whoever runs the CLI
        )
    if as_json:
        common.emit_json(answer.to_dict())
        return
    typer.echo(render_answer(answer))
