"""`newsbrief outlets …`: who publishes what we cite; admins add and correct outlets without a release."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli import common

app = typer.Typer(
    help="Outlets: country, ownership and wire status of what briefs cite.", no_args_is_help=True
)


@app.command("list")
def list_outlets(
    lang: str = typer.Option("en", "--lang", help="names and labels in ar or en"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The outlets in force (the seeds with the admins' additions and corrections)."""
    from bot.attribution import outlets
    from bot.attribution.labels import outlet_tag

    with common.context().db.session() as session:
        known = outlets.catalogue(session)
    rows = [
        {
            "id": o.id,
            "name": o.name(lang),
            "country": o.country,
            "ownership": o.ownership,
            "wire": o.wire,
            "label": outlet_tag(
                known.info(f"https://{o.domains[0]}" if o.domains else None, o.name_en, lang=lang).to_dict(),
                lang,
            ),
            "domains": ", ".join(o.domains),
            "source": o.source,
        }
        for o in sorted(known.outlets.values(), key=lambda o: o.id)
    ]
    if as_json:
        common.emit_json(rows)
    else:
        common.table(rows, ["id", "name", "country", "ownership", "wire", "domains"])


@app.command("add")
def add(path: Path = typer.Argument(..., help="a TOML file of [[outlets]], as seeds/outlets.toml")) -> None:
    """Add outlets or correct their labels (an existing id is replaced); written to the audit log."""
    from bot.attribution import outlets

    with common.user_errors(outlets.OutletError, OSError):
        parsed = outlets.load_outlets(path)
        if not parsed.outlets and not parsed.countries and not parsed.parties:
            raise outlets.OutletError(f"{path}: no [[outlets]] entries")
        with common.context().db.session() as session:
            done = outlets.add_outlets(session, parsed, actor=common.actor())
    for entry in done:
        moved = f" (domains moved to it: {', '.join(entry.moved)})" if entry.moved else ""
        typer.echo(f"outlet {entry.id}: {entry.action}{moved}")
