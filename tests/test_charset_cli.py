"""Which rule decoded a source and its articles is shown by `sources list --json` and `articles show`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from tests.servers.web import WebServer

BODY = (
    "O ministro das Relações Exteriores da Rússia chegou a Pyongyang nesta terça-feira para uma visita "
    "de dois dias, a terceira desde o início do ano. Segundo a agência estatal, a delegação discutirá "
    "a cooperação militar e econômica, e a liderança norte-coreana prometeu apoio à posição de Moscou. "
)


def latin1_feed_without_declaration() -> bytes:
    """An RSS feed in Latin-1 with no XML declaration, as UOL serves it (issue 16)."""
    item = (
        "<item><title>Chanceler russo visita Pyongyang; perseguição e liderança em pauta</title>"
        "<link>http://127.0.0.1/a</link><guid>uol-1</guid>"
        f"<description>{BODY * 3}</description></item>"
    )
    feed = f"<rss version='2.0'><channel><title>UOL Notícias</title>{item}</channel></rss>"
    return feed.encode("latin-1")


@pytest.fixture
def run(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("FETCH_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    return cli


def test_the_decoding_rule_is_shown_for_the_source_and_its_article(
    run: Callable[..., Result], web_server: WebServer
) -> None:
    url = web_server.add("/uol.xml", latin1_feed_without_declaration(), content_type="application/rss+xml")
    added = run("sources", "add", url, "--kind", "feed")
    assert added.exit_code == 0, added.output
    assert run("ingest", "--all", "--force").exit_code == 0
    [source] = [s for s in json.loads(run("sources", "list", "--json").stdout) if s["location"] == url]
    assert source["charset"] == "detected: cp1252"
    listed = json.loads(run("articles", "list", "--limit", "50", "--json").stdout)
    [article] = [a for a in listed if a["title"].startswith("Chanceler russo")]
    shown = json.loads(run("articles", "show", str(article["id"]), "--json").stdout)
    assert shown["charset"] == "detected: cp1252"
    assert "perseguição e liderança" in shown["title"]
    text = run("articles", "show", str(article["id"])).stdout
    assert "charset: detected: cp1252" in text
