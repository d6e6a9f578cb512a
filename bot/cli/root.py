"""The root command and its top-level subcommands."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from bot.cli import articles, common, glossary, outlets, sources, stories, threads
from bot.cli.ask import ask_command
from bot.cli.brief import brief_command
from bot.cli.common import emit_json
from bot.cli.eval import eval_command
from bot.cli.run import deliver_command, run_command, subscriptions_app

if TYPE_CHECKING:
    from bot.ingest.pipeline import SourceReport

app = typer.Typer(
    name="newsbrief",
    help="Arabic and English news briefs on Russia–DPRK and Saudi–Russia relations.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help: rich would double the start-up of `--help` and of every argument error.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(sources.app, name="sources")
app.add_typer(articles.app, name="articles")
app.add_typer(threads.app, name="threads")
app.add_typer(glossary.app, name="glossary")
app.add_typer(stories.app, name="stories")
app.add_typer(outlets.app, name="outlets")
app.command("brief")(brief_command)
app.add_typer(db_app, name="db")
app.command("ask")(ask_command)
app.command("eval")(eval_command)
app.command("run")(run_command)
app.command("deliver")(deliver_command)
app.add_typer(subscriptions_app, name="subscriptions")


@app.command("config")
def config_command(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Print the effective settings, secrets masked."""
    shown = common.settings().masked()
    if as_json:
        emit_json(shown)
        return
    for key, value in shown.items():
        typer.echo(f"{key}={value}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (also done automatically on start)."""
    ctx = common.context()
    typer.echo(f"database at revision {ctx.db.current_revision()}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    typer.echo(common.context().db.current_revision() or "(none)")


@app.command("ingest")
def ingest_command(
    source: list[int] = typer.Option([], "--source", help="only these source ids (repeatable)"),
    every: bool = typer.Option(False, "--all", help="every unpaused source, due or not"),
    force: bool = typer.Option(
        False, "--force", help="also read sources read within SOURCE_MIN_INTERVAL (audited); implies --all"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Fetch every source that is due, once, and print what came in."""
    import asyncio

    from storage import queries

    ctx = common.context()
    if force:  # lifting the per-source fetch cap is an admin decision: on the record
        with ctx.db.session() as session:
            queries.audit(
                session,
                actor=common.actor(),
                action="ingest.force",
                target=",".join(map(str, source)) or "all",
                details={"source_ids": list(source)},
            )
    reports = asyncio.run(_ingest_with_progress(ctx, source, every=every, force=force, quiet=as_json))
    if as_json:
        emit_json([asdict(r) for r in reports])
        return
    for report in reports:
        typer.echo(describe_report(report))
    total = sum(len(r.new) for r in reports)
    typer.echo(f"{total} new article(s) from {len(reports)} source(s)")


async def _ingest_with_progress(
    ctx: object, source_ids: list[int], *, every: bool, force: bool, quiet: bool
) -> list[SourceReport]:
    from bot.runtime.ingest_cycle import ingest_due

    options: dict[str, Any] = {"source_ids": source_ids or None, "every": every, "force": force}
    if quiet or not common.is_terminal():
        return await ingest_due(ctx, **options)  # type: ignore[arg-type]
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("ingesting", total=None)
        return await ingest_due(
            ctx,  # type: ignore[arg-type]
            on_report=lambda r: progress.update(task, advance=1, description=f"{r.name[:40]}"),
            **options,
        )


def describe_report(report: SourceReport) -> str:
    """One line per source: what came in, or why nothing did."""
    head = f"[{report.source_id}] {report.name}"
    if report.refused:
        return f"{head}: {report.refused}"
    if report.error:
        tail = " (source paused)" if report.paused else ""
        return f"{head}: error: {report.error}{tail}"
    if report.not_modified:
        return f"{head}: not modified"
    return f"{head}: {len(report.new)} new, {report.duplicates} duplicate(s), {report.seen} already stored"


@app.command("chat")
def chat_command(
    admin: bool = typer.Option(False, "--admin", help="act as a bot admin (audited as terminal:USER)"),
    user: str = typer.Option("", "--user", help="who is talking (default: the login name)"),
    lang: str = typer.Option("", "--lang", help="interface language until one is chosen: ar or en"),
) -> None:
    """Talk to the bot in the terminal, as a Telegram user would: /commands, questions, `> follow-up`."""
    import asyncio
    import getpass

    from bot.chat.terminal import repl

    asyncio.run(repl(common.context(), user=user or getpass.getuser(), admin=admin, language=lang))


@app.command("demo")
def demo_command() -> None:
    """Ingest the seed articles and print what the bot makes of them, fully offline."""
    from bot.cli.demo import run_demo

    run_demo(common.context())


def main() -> None:
    app()
