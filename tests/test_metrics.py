"""/metrics: every newsbrief_… figure moves when the work it counts is done, and nothing else collides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.testclient import TestClient

from bot.app import build_context
from bot.briefs.build import build_brief
from bot.chat.telegram.sender import TelegramSender
from bot.config import Settings
from bot.context import Context
from bot.delivery.worker import deliver_once
from bot.ingest.catalog import add_source
from bot.llm import LLMCall
from bot.qa.ask import answer_question
from bot.runtime.ingest_cycle import ingest_due
from bot.runtime.web import create_web_app
from storage.models import Brief, Delivery
from tests.servers.telegram_stub import TOKEN, TelegramStub
from tests.servers.web import WebServer
from tests.test_ingest import LAVROV_EN, rss


@pytest.fixture
def ctx(settings: Settings, tmp_path: Path, telegram_stub: TelegramStub) -> Iterator[Context]:
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    context = build_context(
        settings.model_copy(
            update={
                "sources_file": empty,
                "embedder": "none",
                "telegram_bot_token": SecretStr(TOKEN),
                "telegram_base_url": telegram_stub.base_url,
                "telegram_rate_limit": 1000,
            }
        )
    )
    yield context
    context.db.dispose()


def scrape(ctx: Context) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = TestClient(create_web_app(ctx)).get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def ingest_two_feeds(ctx: Context, web_server: WebServer) -> int:
    good = web_server.add("/good.xml", rss([("Lavrov in Wonsan", "http://x.example/a", LAVROV_EN)]))
    bad = web_server.add("/bad.xml", b"oops", status=500)
    with ctx.db.session() as session:
        add_source(session, location=good, kind="feed", actor="test")
        bad_id = add_source(session, location=bad, kind="feed", actor="test").id
    await ingest_due(ctx)
    return bad_id


async def test_ingest_counts_articles_and_fetch_errors_by_source(ctx: Context, web_server: WebServer) -> None:
    before = scrape(ctx)
    assert value(before, "newsbrief_articles_ingested_total") == 0
    bad_id = await ingest_two_feeds(ctx, web_server)
    after = scrape(ctx)
    assert value(after, "newsbrief_articles_ingested_total") == 1
    assert value(after, "newsbrief_fetch_errors_total", source=str(bad_id)) == 1


async def test_brief_delivery_and_outbox_depth_are_counted_by_platform(
    ctx: Context, web_server: WebServer
) -> None:
    await ingest_two_feeds(ctx, web_server)
    built = build_brief(ctx, thread_id="russia-dprk", lang="en")
    with ctx.db.session() as session:
        session.add_all(
            Delivery(key=f"t:{chat}", brief_id=built.id, platform="telegram", chat_id=str(chat))
            for chat in (1, 2, 3)
        )
    queued = scrape(ctx)
    assert value(queued, "newsbrief_briefs_built_total", thread="russia-dprk", lang="en") == 1
    assert value(queued, "newsbrief_stories_built_total") >= 1
    assert value(queued, "newsbrief_outbox_depth", platform="telegram") == 3
    async with TelegramSender(ctx.settings, pool_size=2) as sender:
        await deliver_once(ctx, sender)
    sent = scrape(ctx)
    assert value(sent, "newsbrief_deliveries_total", platform="telegram", outcome="sent") == 3
    assert value(sent, "newsbrief_outbox_depth", platform="telegram") == 0


async def test_a_429_counts_as_retried_and_a_refused_message_as_failed(
    ctx: Context, telegram_stub: TelegramStub
) -> None:
    with ctx.db.session() as session:
        brief = Brief(thread_id="russia-dprk", lang="en", since=None, as_of=ctx.now(), payload=_payload(ctx))
        session.add(brief)
        session.flush()
        session.add(Delivery(key="t:1", brief_id=brief.id, platform="telegram", chat_id="1"))
    telegram_stub.fail("sendMessage", 429, retry_after=0, times=1)
    async with TelegramSender(ctx.settings, pool_size=2) as sender:
        await deliver_once(ctx, sender)
    samples = scrape(ctx)
    assert value(samples, "newsbrief_deliveries_total", platform="telegram", outcome="retried") == 1
    assert value(samples, "newsbrief_deliveries_total", platform="telegram", outcome="sent") == 1


def _payload(ctx: Context) -> dict[str, object]:
    from bot.briefs.compose import compose

    return compose(thread_id="russia-dprk", thread_name="Russia–DPRK", lang="en", as_of=ctx.now(), since=None,
                   entries=[], max_stories=5)  # fmt: skip


def test_llm_calls_tokens_and_latency_are_counted_by_purpose(ctx: Context) -> None:
    call = LLMCall("summarize", "m", prompt_tokens=120, completion_tokens=30, latency_ms=1500, outcome="ok")
    ctx._record_llm_call(call)
    samples = scrape(ctx)
    assert value(samples, "newsbrief_llm_calls_total", purpose="summarize", outcome="ok") == 1
    assert value(samples, "newsbrief_llm_tokens_total", purpose="summarize", kind="prompt") == 120
    assert value(samples, "newsbrief_llm_tokens_total", purpose="summarize", kind="completion") == 30
    assert value(samples, "newsbrief_llm_latency_seconds_sum", purpose="summarize") == 1.5


async def test_question_latency_is_observed(ctx: Context, web_server: WebServer) -> None:
    await ingest_two_feeds(ctx, web_server)
    answer_question(ctx, "What did Lavrov say in Wonsan?", user="u1")
    assert value(scrape(ctx), "newsbrief_question_latency_seconds_count") == 1


def test_leader_identity_and_only_newsbrief_names_are_exposed(ctx: Context) -> None:
    samples = scrape(ctx)
    leader = [labels for (name, labels) in samples if name == "newsbrief_leader_info"]
    assert len(leader) == 1 and dict(leader[0])["role"] == "all" and ":" in dict(leader[0])["identity"]
    assert all(name.startswith("newsbrief_") for name, _ in samples)


def test_two_contexts_keep_separate_registries(ctx: Context, settings: Settings) -> None:
    other = Context(settings=settings, db=ctx.db)
    other.metrics.articles_ingested.inc(5)
    assert value(scrape(ctx), "newsbrief_articles_ingested_total") == 0
