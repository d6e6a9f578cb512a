"""`newsbrief stories …`: the events the articles were clustered into."""

from __future__ import annotations

from typing import Any

import typer

from bot.cli import common

app = typer.Typer(help="Stories: one event as several outlets covered it.", no_args_is_help=True)


@app.command("list")
def list_stories(
    thread: str = typer.Option("", "--thread", help="only stories of this thread"),
    limit: int = typer.Option(50, "--limit", help="how many, most recently updated first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Stories, most recently updated first, with their member and outlet counts."""
    from sqlalchemy import select

    from bot.briefs.build import story_overview
    from storage.models import Story

    ctx = common.context()
    with ctx.db.session() as session:
        query = select(Story).order_by(Story.updated_at.desc(), Story.id.desc()).limit(limit)
        if thread:
            query = query.where(Story.thread_id == thread)
        rows = [story_overview(session, story) for story in session.scalars(query)]
    if as_json:
        common.emit_json(rows)
        return
    common.table([_row(r) for r in rows], ["id", "thread", "articles", "outlets", "last_report", "title"])


def _row(overview: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": overview["id"],
        "thread": overview["thread"],
        "articles": len(overview["members"]),
        "outlets": len(overview["outlets"]),
        "last_report": (overview["last_report"] or "")[:16] or None,
        "title": overview["title"],
    }


@app.command("show")
def show(story_id: int, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """One story: its member articles, outlets, first and last report, entities and figures."""
    from bot.attribution.corroboration import summary_line
    from bot.attribution.labels import with_tag
    from bot.briefs.build import story_overview
    from storage.models import Story

    ctx = common.context()
    with ctx.db.session() as session:
        story = session.get(Story, story_id)
        if story is None:
            common.fail(f"no story {story_id}")
        data = story_overview(session, story)
    if as_json:
        common.emit_json(data)
        return
    typer.echo(f"story {data['id']} [{data['thread']}] {data['title']}")
    typer.echo(f"reported: {data['first_report'] or '-'} … {data['last_report'] or '-'}")
    typer.echo(f"outlets ({len(data['outlets'])}): {', '.join(data['outlets']) or '-'}")
    if summary_line(data.get("corroboration"), "en"):
        typer.echo(f"corroboration: {summary_line(data.get('corroboration'), 'en')}")
    entities = ", ".join(f"{k} ×{v}" for k, v in data["entities"].items())
    typer.echo(f"entities: {entities or '-'}")
    typer.echo(f"figures: {', '.join(data['figures']) or '-'}")
    for member in data["members"]:
        link = f" <{member['url']}>" if member["url"] else ""
        outlet = with_tag(member["outlet"], member.get("outlet_info"), "en")
        typer.echo(f"  #{member['id']} [{member['lang']}] {member['title']} — {outlet}{link}")
