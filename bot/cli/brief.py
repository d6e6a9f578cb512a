"""`newsbrief brief`: one thread's brief in one language, built, stored and printed."""

from __future__ import annotations

import typer

from bot.cli import common


def brief_command(
    thread: str = typer.Option(..., "--thread", help="thread id, e.g. russia-dprk"),
    lang: str = typer.Option(..., "--lang", help="ar or en"),
    since: str = typer.Option("", "--since", help="only stories new since: ISO date/time, or 24h, 7d"),
    as_json: bool = typer.Option(False, "--json", help="print the stored payload as JSON"),
    markdown: bool = typer.Option(False, "--markdown", help="print Markdown instead of plain text"),
) -> None:
    """Build, store and print a thread's brief of the stories new since --since."""
    from bot.briefs.build import build_brief, parse_since
    from bot.briefs.compose import BriefError, render_markdown, render_text

    ctx = common.context()
    with common.user_errors(BriefError):
        when = parse_since(since, now=ctx.now()) if since else None
        built = build_brief(ctx, thread_id=thread, lang=lang, since=when)
    if as_json:
        common.emit_json({"id": built.id, **built.payload})
        return
    typer.echo(render_markdown(built.payload) if markdown else render_text(built.payload), nl=False)
