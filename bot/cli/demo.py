"""`newsbrief demo`: the seeds in, and both threads' briefs in both languages, with no network or model."""

from __future__ import annotations

import asyncio

import typer

from bot.briefs.build import build_brief
from bot.briefs.compose import render_text
from bot.cli.root import describe_report
from bot.context import Context
from bot.runtime.ingest_cycle import ingest_due
from bot.summarize.offline import OfflineSummarizer

DEMO_LANGS = ("ar", "en")


def run_demo(ctx: Context) -> None:
    """Ingest every file source (the seeds by default), then print each thread's brief in both languages."""
    reports = asyncio.run(ingest_due(ctx, force=True))
    for report in reports:
        typer.echo(describe_report(report))
    classifier = ctx.classifier()
    # The demo is offline by promise, even when an endpoint is configured.
    offline = OfflineSummarizer(
        entities=classifier.entities_in, embedder=ctx.embedder(), glossary=ctx.glossary()
    )
    for thread in classifier.threads:
        for lang in DEMO_LANGS:
            built = build_brief(ctx, thread_id=thread.id, lang=lang, summarizer=offline)
            typer.echo("")
            typer.echo("─" * 72)
            typer.echo(render_text(built.payload), nl=False)
