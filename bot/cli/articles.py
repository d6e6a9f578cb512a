"""`newsbrief articles …`: what is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli import common

if TYPE_CHECKING:
    from storage.models import Article

app = typer.Typer(help="The stored articles.", no_args_is_help=True)


def article_summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "lang": article.lang,
        "outlet": article.outlet,
        "url": article.url,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "fetched_at": article.fetched_at.isoformat(),
        "duplicate_of": article.duplicate_of,
        "threads": {
            link.thread_id: {"score": round(link.score, 3), "evidence": link.evidence}
            for link in article.threads
        },
    }


@app.command("list")
def list_articles(
    thread: str = typer.Option("", "--thread", help="only articles in this thread"),
    limit: int = typer.Option(50, "--limit", help="how many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Newest articles first, with their language and threads."""
    from storage import queries

    with common.context().db.session() as session:
        rows = [article_summary(a) for a in queries.articles(session, thread=thread or None, limit=limit)]
    if as_json:
        common.emit_json(rows)
        return
    for row in rows:
        row["threads"] = list(row["threads"])
    common.table(rows, ["id", "lang", "published_at", "threads", "title"])


@app.command("show")
def show(article_id: int, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """One article: its metadata, threads with evidence, and text."""
    from storage.models import Article

    with common.context().db.session() as session:
        article = session.get(Article, article_id)
        if article is None:
            common.fail(f"no article {article_id}")
        data = article_summary(article) | {
            "text": article.text,
            "cleaning": article.cleaning,
            "charset": article.charset,
        }
    if as_json:
        common.emit_json(data)
        return
    typer.echo(f"#{data['id']} {data['title']}")
    typer.echo(
        f"language: {data['lang']}  outlet: {data['outlet'] or '-'}  published: {data['published_at'] or '-'}"
    )
    if data["url"]:
        typer.echo(f"url: {data['url']}")
    if data["duplicate_of"]:
        typer.echo(f"duplicate of article {data['duplicate_of']}")
    if data["charset"]:
        typer.echo(f"charset: {data['charset']}")
    for thread_id, link in data["threads"].items():
        typer.echo(f"thread {thread_id} (score {link['score']}): {format_evidence(link['evidence'])}")
    typer.echo("")
    typer.echo(data["text"])


def format_evidence(evidence: list[dict[str, Any]]) -> str:
    """`alias ×count in where` for each matched alias."""
    parts = [f"{e.get('alias')} ×{e.get('count', 1)} in {e.get('where')}" for e in evidence]
    return "; ".join(parts) or "-"
