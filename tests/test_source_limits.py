"""Source limits: SOURCE_MIN_INTERVAL between two reads of one source whoever asks, and MAX_SOURCES on every
path that adds sources (catalogue, CLI add and OPML import, Telegram, Slack)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select, text
from telegram.ext import Application

from bot.config import Settings
from bot.context import Context
from bot.ingest.catalog import SourceLimitError, add_source, import_opml, set_paused
from bot.runtime.ingest_cycle import ingest_due
from storage.db import Database
from storage.models import AuditLog, Source
from tests.harness import buttons, polling, press, say, telegram_settings
from tests.servers.slack_stub import SlackStub, copy_archive, slack_harness, slack_settings
from tests.servers.telegram_stub import FakeClock, TelegramStub
from tests.servers.web import WebServer

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {n}</title>'
    "<item><title>Lavrov meets Kim Jong Un</title><link>http://example.com/{n}</link>"
    "<description>Lavrov met Kim Jong Un in Wonsan.</description></item></channel></rss>"
)


def _feed(web_server: WebServer, n: int) -> str:
    return web_server.add(f"/feed{n}.xml", FEED.format(n=n).encode(), content_type="application/rss+xml")


def _context(db: Database, settings: Settings, clock: FakeClock, **overrides: Any) -> Context:
    return Context(settings=settings.model_copy(update=overrides), db=db, clock=clock)


def _add(ctx: Context, location: str, kind: str = "feed") -> int:
    with ctx.db.session() as session:
        return add_source(session, location=location, kind=kind, actor="test").id


def _source(ctx: Context, source_id: int) -> Source:
    with ctx.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source


def _count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count(Source.id))) or 0)


# ---------------------------------------------------------------- SOURCE_MIN_INTERVAL


async def test_no_source_is_read_twice_within_the_min_interval_whoever_asks(
    db: Database, settings: Settings, web_server: WebServer
) -> None:
    clock = FakeClock(T0)
    # INGEST_INTERVAL below the cap: the check interval is raised to the cap, not the other way round.
    ctx = _context(db, settings, clock, source_min_interval=300, ingest_interval=60)
    url = _feed(web_server, 1)
    source_id = _add(ctx, url)
    [first] = await ingest_due(ctx)
    assert first.error is None and len(first.new) == 1
    checked = _source(ctx, source_id)
    assert checked.next_check_at == T0 + timedelta(seconds=300)

    clock.advance(seconds=100)
    assert await ingest_due(ctx) == []  # the schedule
    [by_id] = await ingest_due(ctx, source_ids=[source_id])  # an admin's "read it now"
    [every] = await ingest_due(ctx, every=True)  # `newsbrief ingest --all`
    with ctx.db.session() as session:
        set_paused(session, source_id, paused=True, actor="test")
        set_paused(session, source_id, paused=False, actor="test")  # resuming clears the next check time
    assert _source(ctx, source_id).next_check_at is None
    assert await ingest_due(ctx) == []
    assert len(web_server.requests_for("/feed1.xml")) == 1
    for report in (by_id, every):
        assert report.refused is not None and report.error is None and report.new == []
        assert "read 100 s ago" in report.refused and "SOURCE_MIN_INTERVAL" in report.refused
        assert "next read allowed at 2026-11-23 09:05:00 UTC" in report.refused
    assert _source(ctx, source_id).error_count == 0  # a refusal is not a failure

    clock.advance(seconds=200)
    [again] = await ingest_due(ctx)
    assert again.refused is None and again.error is None
    assert len(web_server.requests_for("/feed1.xml")) == 2


async def test_a_failing_source_is_retried_no_sooner_than_the_min_interval(
    db: Database, settings: Settings, web_server: WebServer
) -> None:
    clock = FakeClock(T0)
    ctx = _context(db, settings, clock, source_min_interval=600, ingest_interval=30)
    bad = web_server.add("/bad.xml", b"oops", status=503)
    source_id = _add(ctx, bad)
    [report] = await ingest_due(ctx)
    assert report.error and "503" in report.error
    assert _source(ctx, source_id).next_check_at == T0 + timedelta(seconds=600)
    clock.advance(seconds=599)
    assert await ingest_due(ctx) == []
    clock.advance(seconds=1)
    assert len(await ingest_due(ctx)) == 1


async def test_one_refused_source_does_not_stop_the_others_being_read(
    db: Database, settings: Settings, web_server: WebServer
) -> None:
    clock = FakeClock(T0)
    ctx = _context(db, settings, clock, source_min_interval=300)
    fresh_id = _add(ctx, _feed(web_server, 1))
    await ingest_due(ctx)
    other_id = _add(ctx, _feed(web_server, 2))
    reports = {r.source_id: r for r in await ingest_due(ctx, source_ids=[fresh_id, other_id])}
    assert reports[fresh_id].refused and not reports[other_id].refused
    assert reports[other_id].error is None and len(web_server.requests_for("/feed2.xml")) == 1


async def test_force_reads_within_the_min_interval(
    db: Database, settings: Settings, web_server: WebServer
) -> None:
    clock = FakeClock(T0)
    ctx = _context(db, settings, clock, source_min_interval=300)
    source_id = _add(ctx, _feed(web_server, 1))
    await ingest_due(ctx)
    [forced] = await ingest_due(ctx, source_ids=[source_id], force=True)
    assert forced.refused is None and forced.error is None
    assert len(web_server.requests_for("/feed1.xml")) == 2


def test_cli_ingest_refuses_a_recent_source_and_force_overrides_it_on_the_audit_log(
    cli: Callable[..., Result], web_server: WebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    url = _feed(web_server, 1)
    assert cli("sources", "add", url, "--kind", "feed").exit_code == 0
    [row] = [s for s in json.loads(cli("sources", "list", "--json").output) if s["location"] == url]
    assert cli("ingest").exit_code == 0
    reads = len(web_server.requests_for("/feed1.xml"))

    refused = cli("ingest", "--source", str(row["id"]), "--json")
    assert refused.exit_code == 0, refused.output
    [report] = json.loads(refused.output)
    assert "SOURCE_MIN_INTERVAL" in report["refused"] and "next read allowed at" in report["refused"]
    assert "next read allowed at" in cli("ingest", "--source", str(row["id"])).output
    assert len(web_server.requests_for("/feed1.xml")) == reads

    forced = cli("ingest", "--source", str(row["id"]), "--force")
    assert forced.exit_code == 0 and "next read allowed" not in forced.output
    assert len(web_server.requests_for("/feed1.xml")) == reads + 1
    db = Database(f"sqlite:///{Path('data') / 'newsbrief.db'}")
    with db.session() as session:
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "ingest.force")).all()
        assert entry.actor.startswith("cli:") and entry.target == str(row["id"])
    db.dispose()


# ---------------------------------------------------------------- MAX_SOURCES


def test_the_catalogue_refuses_a_source_past_the_cap_saying_the_cap_and_the_count(db: Database) -> None:
    with db.session() as session:
        for n in (1, 2):
            add_source(session, location=f"http://example.com/{n}.xml", kind="feed", actor="a", max_sources=2)
    with pytest.raises(SourceLimitError) as refused, db.session() as session:
        add_source(session, location="http://example.com/3.xml", kind="feed", actor="a", max_sources=2)
    assert "2 source(s) exist and MAX_SOURCES is 2" in str(refused.value)
    assert _count(db) == 2


def test_an_opml_import_stops_at_the_cap_and_says_which_feeds_were_left_out(db: Database) -> None:
    outlines = "".join(
        f'<outline type="rss" text="F{n}" xmlUrl="http://example.com/{n}.xml"/>' for n in range(5)
    )
    opml = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()
    with db.session() as session:
        add_source(session, location="http://example.com/0.xml", kind="feed", actor="a")
        added, skipped = import_opml(session, opml, actor="a", max_sources=3)
    assert [s.location for s in added] == ["http://example.com/1.xml", "http://example.com/2.xml"]
    assert [loc for loc, _ in skipped] == [f"http://example.com/{n}.xml" for n in (0, 3, 4)]
    assert "already followed" in str(skipped[0][1])
    assert all(isinstance(why, SourceLimitError) for _, why in skipped[1:])
    assert _count(db) == 3


def test_two_admins_adding_at_once_cannot_both_take_the_last_place(db: Database) -> None:
    """On PostgreSQL the second adder waits for the first to commit, then counts again."""
    if db.is_sqlite:
        pytest.skip("SQLite lets one writer through at a time by itself")
    outcome: list[str] = []
    with db.session() as first:
        add_source(first, location="http://example.com/a.xml", kind="feed", actor="a", max_sources=1)

        def second() -> None:
            try:
                with db.session() as session:
                    add_source(
                        session, location="http://example.com/b.xml", kind="feed", actor="b", max_sources=1
                    )
                outcome.append("added")
            except SourceLimitError:
                outcome.append("refused")

        worker = threading.Thread(target=second)
        worker.start()
        with db.engine.connect() as probe:  # wait until the second adder is blocked on the lock
            waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            while not outcome and not probe.execute(waiting).scalar():
                probe.rollback()
                threading.Event().wait(0.01)
    worker.join()
    assert outcome == ["refused"] and _count(db) == 1


def test_cli_add_and_import_are_refused_at_the_cap(
    cli: Callable[..., Result], web_server: WebServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")
    existing = len(json.loads(cli("sources", "list", "--json").output))  # the default sources
    monkeypatch.setenv("MAX_SOURCES", str(existing + 1))
    assert cli("sources", "add", _feed(web_server, 1), "--kind", "feed").exit_code == 0

    refused = cli("sources", "add", _feed(web_server, 2), "--kind", "feed")
    assert refused.exit_code != 0
    assert f"{existing + 1} source(s) exist and MAX_SOURCES is {existing + 1}" in refused.output
    assert web_server.requests_for("/feed2.xml") == []  # refused before reading it

    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline type="rss" text="x" xmlUrl="http://example.com/x.xml"/></body></opml>',
        encoding="utf-8",
    )
    imported = cli("sources", "import", str(opml))
    assert imported.exit_code != 0
    assert "imported 0 feed(s); 1 skipped" in imported.output
    assert f"MAX_SOURCES is {existing + 1}" in imported.output
    assert len(json.loads(cli("sources", "list", "--json").output)) == existing + 1


ADMIN = 9001


@pytest.fixture
async def telegram_app(
    tmp_path: Path, telegram_stub: TelegramStub
) -> AsyncIterator[tuple[Context, Application]]:  # type: ignore[type-arg]
    settings = telegram_settings(
        tmp_path / "data",
        telegram_stub,
        telegram_admin_ids=[str(ADMIN)],
        fetch_allowed_private_hosts=["127.0.0.1"],
        max_sources=2,
    )
    db = Database(settings.effective_database_url)
    db.upgrade()
    ctx = Context(settings=settings, db=db)
    _add(ctx, str(REPO / "seeds"), "file")
    async with polling(ctx) as application:
        yield ctx, application
    db.dispose()


async def test_telegram_addsource_is_refused_at_the_cap_before_and_after_the_preview(
    telegram_app: tuple[Context, Any], telegram_stub: TelegramStub, web_server: WebServer
) -> None:
    ctx, _ = telegram_app
    preview = await say(telegram_stub, ADMIN, f"/addsource {_feed(web_server, 1)}")
    confirm = next(data for data in buttons(preview) if data.startswith("add|"))
    _add(ctx, "http://example.com/meanwhile.xml")  # another admin takes the last place meanwhile
    pressed = await press(telegram_stub, ADMIN, preview, confirm)
    assert "2 source(s) exist and MAX_SOURCES is 2" in pressed.text
    assert _count(ctx.db) == 2

    reply = await say(telegram_stub, ADMIN, f"/addsource {_feed(web_server, 2)}")
    assert "2 source(s) exist and MAX_SOURCES is 2" in reply.text
    assert web_server.requests_for("/feed2.xml") == []
    assert _count(ctx.db) == 2


async def test_slack_source_add_is_refused_at_the_cap_before_and_after_the_preview(
    slack_stub: SlackStub, seeded_archive: Path, tmp_path: Path, web_server: WebServer
) -> None:
    data_dir = copy_archive(seeded_archive, tmp_path / "data")
    settings = slack_settings(data_dir, slack_stub, max_sources=2, embedder="none")
    async with slack_harness(slack_stub, data_dir, settings=settings) as slack:
        assert _count(slack.ctx.db) == 1
        _, previewed = await slack.slack.command(
            f"source add {_feed(web_server, 1)}", user="UADMIN", channel="C1"
        )
        await slack.settle()
        [preview] = slack.stub.responses(previewed)
        value = next(
            b["value"] for b in preview["blocks"][1]["elements"] if b["action_id"] == "source_confirm"
        )
        _add(slack.ctx, "http://example.com/meanwhile.xml")
        _, pressed = await slack.slack.press("source_confirm", value, user="UADMIN", channel="C1")
        await slack.settle()
        assert "2 source(s) exist and MAX_SOURCES is 2" in json.dumps(slack.stub.responses(pressed))

        response, name = await slack.slack.command(
            f"source add <{_feed(web_server, 2)}>", user="UADMIN", channel="C1"
        )
        assert response.status_code == 200
        await slack.settle()
        assert "2 source(s) exist and MAX_SOURCES is 2" in json.dumps(slack.stub.responses(name))
        assert web_server.requests_for("/feed2.xml") == []
        assert _count(slack.ctx.db) == 2
