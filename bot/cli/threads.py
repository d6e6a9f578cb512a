"""`newsbrief threads …`: threads are data; admins add, change and retire them without a release."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli import common

app = typer.Typer(help="The news threads and their entities.", no_args_is_help=True)


@app.command("list")
def list_threads(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """The active threads."""
    from storage import queries

    with common.context().db.session() as session:
        rows = [
            {
                "id": t.id,
                "name_en": t.name_en,
                "name_ar": t.name_ar,
                "groups": len(t.definition.get("groups", [])),
            }
            for t in queries.active_threads(session)
        ]
    if as_json:
        common.emit_json(rows)
    else:
        common.table(rows, ["id", "name_en", "name_ar", "groups"])


@app.command("add")
def add(path: Path = typer.Argument(..., help="a TOML file of [[threads]], as seeds/threads.toml")) -> None:
    """Add or replace threads from a TOML file, then place stored articles in them."""
    from bot.ingest import catalog
    from bot.ingest.catalog import CatalogError
    from bot.stories.cluster import cluster_pending
    from bot.threads.classify import ThreadDefinitionError, load_threads

    ctx = common.context()
    with common.user_errors(ThreadDefinitionError, CatalogError, OSError):
        threads = load_threads(path)
        with ctx.db.session() as session:
            for thread in threads:
                catalog.upsert_thread(session, thread, actor=common.actor())
    for thread in threads:
        links = catalog.reclassify(ctx, thread_id=thread.id)
        typer.echo(f"thread {thread.id}: {links} article(s) placed")
    cluster_pending(ctx)  # the write path: the placed articles are grouped into the threads' stories


@app.command("remove")
def remove(thread_id: str) -> None:
    """Retire a thread (its history stays)."""
    from bot.ingest import catalog
    from bot.ingest.catalog import CatalogError

    with common.user_errors(CatalogError), common.context().db.session() as session:
        catalog.remove_thread(session, thread_id, actor=common.actor())
    typer.echo(f"thread {thread_id} retired")
