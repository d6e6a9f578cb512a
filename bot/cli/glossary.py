"""`newsbrief glossary …`: the bilingual glossary is data; admins extend it without a release."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli import common

app = typer.Typer(help="The bilingual glossary (places, titles, units, nouns).", no_args_is_help=True)


@app.command("add")
def add(path: Path = typer.Argument(..., help="a TOML file in the format of seeds/glossary.toml")) -> None:
    """Add or replace glossary entries (same kind and English form replaces); audited."""
    from bot.ingest import catalog
    from bot.text.glossary import GlossaryError, load_glossary

    ctx = common.context()
    with common.user_errors(GlossaryError, OSError):
        glossary = load_glossary(path)
        with ctx.db.session() as session:
            added = catalog.add_glossary(session, glossary, actor=common.actor())
    typer.echo(f"glossary: {added} entr{'y' if added == 1 else 'ies'} added or replaced")


@app.command("list")
def list_terms(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every glossary entry in effect: the shipped ones and those added."""
    rows = [{"kind": t.kind, "en": t.en, "ar": " / ".join(t.ar)} for t in common.context().glossary().terms]
    if as_json:
        common.emit_json(rows)
    else:
        common.table(rows, ["kind", "en", "ar"])
