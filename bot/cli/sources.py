"""`newsbrief sources …`: add, list, remove, pause, resume, import and export sources."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli import common

app = typer.Typer(help="The sources followed, and their health.", no_args_is_help=True)


def errors() -> tuple[type[Exception], ...]:
    """The failures a person can act on, shown as one line; the readers load only when a source is read."""
    from bot.ingest import catalog
    from bot.ingest.fetch import FetchError
    from bot.ingest.sources.feeds import FeedError
    from bot.ingest.sources.opml import OpmlError
    from bot.ingest.sources.pages import ExtractionError

    return (catalog.CatalogError, FetchError, FeedError, ExtractionError, OpmlError, OSError)


@app.command("add")
def add(
    location: str = typer.Argument(..., help="feed URL, article URL, or a local file or folder"),
    thread: list[str] = typer.Option([], "--thread", help="restrict the source to this thread (repeatable)"),
    name: str = typer.Option("", "--name", help="display name (default: the feed's title)"),
    kind: str = typer.Option("", "--kind", help="feed, url or file (default: detected by reading it)"),
) -> None:
    """Add a source after reading it once, and print a preview."""
    import asyncio

    from bot.ingest import catalog

    ctx = common.context()
    with common.user_errors(*errors()):
        preview = asyncio.run(catalog.preview_source(ctx, location, kind=kind or None))
        with ctx.db.session() as session:
            source = catalog.add_source(
                session,
                location=preview.location,
                kind=preview.kind,
                actor=common.actor(),
                threads=thread,
                name=name or preview.title,
                max_sources=ctx.settings.max_sources,
            )
            source_id = source.id
    matches = ", ".join(f"{t}: {n}" for t, n in preview.threads.items()) or "none yet"
    typer.echo(f"added source {source_id}: {preview.kind} {preview.title or preview.location}")
    typer.echo(f"  {preview.items} item(s), language {preview.lang}, thread matches: {matches}")


@app.command("list")
def list_sources(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every source with its health: last success, last error, error count, articles."""
    from bot.ingest import catalog

    ctx = common.context()
    with ctx.db.session() as session:
        health = [h.to_dict() for h in catalog.source_health(session)]
    if as_json:
        common.emit_json(health)
        return
    for row in health:
        row["state"] = "PAUSED" if row["paused"] else "active"
    common.table(
        health,
        ["id", "kind", "state", "name", "articles", "error_count", "last_success_at", "last_error"],
    )
    for row in health:
        if row["paused"] and row["paused_reason"]:
            typer.echo(f"source {row['id']} is paused: {row['paused_reason']}")
        if row["date_issues"]:
            typer.echo(
                f"source {row['id']} gave {row['date_issues']} implausible date(s), stored as unknown; "
                f"last: {row['last_date_issue']}"
            )
        if row["cut"]:
            typer.echo(f"source {row['id']}: {row['cut']}")


@app.command("remove")
def remove(source: str = typer.Argument(..., help="source id or location")) -> None:
    """Stop following a source (its articles stay)."""
    from bot.ingest import catalog

    with common.user_errors(*errors()), common.context().db.session() as session:
        removed = catalog.remove_source(session, source, actor=common.actor())
        typer.echo(f"removed source {removed.id}: {removed.location}")


@app.command("pause")
def pause(source: str = typer.Argument(..., help="source id or location")) -> None:
    """Stop checking a source until it is resumed."""
    from bot.ingest import catalog

    with common.user_errors(*errors()), common.context().db.session() as session:
        changed = catalog.set_paused(session, source, paused=True, actor=common.actor())
        typer.echo(f"paused source {changed.id}")


@app.command("resume")
def resume(source: str = typer.Argument(..., help="source id or location")) -> None:
    """Check a paused source again (its error count starts over)."""
    from bot.ingest import catalog

    with common.user_errors(*errors()), common.context().db.session() as session:
        changed = catalog.set_paused(session, source, paused=False, actor=common.actor())
        typer.echo(f"resumed source {changed.id}")


@app.command("import")
def import_(path: Path = typer.Argument(..., help="an OPML file")) -> None:
    """Add every feed listed in an OPML file."""
    from bot.ingest import catalog

    ctx = common.context()
    with common.user_errors(*errors()):
        content = path.read_bytes()
        with ctx.db.session() as session:
            added, skipped = catalog.import_opml(
                session, content, actor=common.actor(), max_sources=ctx.settings.max_sources
            )
    for location, reason in skipped:
        typer.echo(f"skipped {location}: {reason}")
    typer.echo(f"imported {len(added)} feed(s); {len(skipped)} skipped")
    capped = [str(why) for _, why in skipped if isinstance(why, catalog.SourceLimitError)]
    if capped:  # the file was not imported in full: say so with a failing exit code
        common.fail(capped[0])


@app.command("export")
def export(output: Path | None = typer.Option(None, "--output", "-o", help="write to a file")) -> None:
    """Print the feeds followed as OPML."""
    from bot.ingest import catalog

    with common.context().db.session() as session:
        opml = catalog.export_sources(session)
    if output:
        output.write_text(opml, encoding="utf-8")
    else:
        typer.echo(opml)
