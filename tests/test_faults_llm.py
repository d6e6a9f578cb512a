"""LLM endpoint faults end to end: down, slow, garbage, cut off mid-body (issue 8, "Faults").

With LLM_BASE_URL pointing at a dead port or at the OpenAI stand-in scripted to fail every call,
a reader's due brief still reaches the Telegram stand-in through the outbox and the paced worker,
and an analyst's Slack question is still answered with citations; both are visibly marked as made
without the model. Each failed call is logged once, at WARNING, without the API key or a traceback,
and once the endpoint recovers the next brief and answer use the model again (nothing the fallback
produced was cached).
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.briefs.compose import LABELS
from bot.chat.slack.render import answer_messages
from bot.chat.telegram.app import make_sender
from bot.chat.telegram.render import render_answer as telegram_answer
from bot.context import Context
from bot.delivery.outbox import enqueue_due
from bot.delivery.subscriptions import subscribe
from bot.delivery.worker import deliver_once
from bot.llm import LLM, LLMUnavailable
from bot.qa.model import FALLBACK_LABEL, Answer, Citation, Method, render_answer
from prompts import RenderedPrompt
from storage.db import Database
from storage.models import Delivery, LLMCallLog, QALog
from tests.harness import telegram_settings
from tests.servers.openai_stub import OpenAIStub, Reply, start_stub
from tests.servers.slack_stub import (
    BOT_USER_ID,
    SlackStub,
    copy_archive,
    slack_harness,
    slack_settings,
)
from tests.servers.telegram_stub import FakeClock, TelegramStub

API_KEY = "sk-test-DO-NOT-LEAK-7f3a9c"  # one of conftest.SUITE_SECRETS: the session check greps for it
LLM_TIMEOUT = 1.0
T0 = datetime(2025, 7, 14, 3, 0, tzinfo=UTC)  # 06:00 in Moscow and Riyadh
THREADS = ("russia-dprk", "saudi-russia")
CHANNEL = "C0ANALYSTS"

# What the endpoint does to every chat completion until it recovers; None: nothing listens on its port.
FAULTS: dict[str, Reply | None] = {
    "down": None,
    "slow": Reply(delay=LLM_TIMEOUT * 4),
    "garbage-not-json": Reply(body=b"upstream said: \x00\xff this is not JSON"),
    "garbage-html-200": Reply(
        body=b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html; charset=utf-8"
    ),
    "garbage-wrong-json": Reply(content='{"unexpected": true}'),
    "cut-off": Reply(truncate=True),
}
# How bot.llm records each fault's calls (the llm_calls table, the metrics).
OUTCOMES = {
    "down": "error",
    "slow": "timeout",
    "garbage-not-json": "error",
    "garbage-html-200": "error",
    "garbage-wrong-json": "invalid",
    "cut-off": "error",
}

# Words the recovered model writes, so a brief or an answer shows it came from the model.
MODEL_SUMMARY = {
    "en": ("Model-written headline", "A model-written line about the cited reports."),
    "ar": ("عنوان كتبه النموذج", "سطر كتبه النموذج عن التقارير المذكورة."),
}
MODEL_ANSWER = {"en": "The model answers from the cited passage.", "ar": "يجيب النموذج من المقطع المذكور."}

QUESTIONS = {
    "en": ("Where did Lavrov meet Kim Jong Un?", "وونسان"),
    "ar": ("كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟", "3.28"),
}


def model_reply(request: dict[str, Any]) -> str:
    """A recovered model: a grounded reply to whichever prompt it is sent (summary, answer, translation)."""
    user = request["messages"][-1]["content"]
    articles = re.findall(r'<article id="(\d+)">', user)
    if articles:
        return json.dumps(
            {
                lang: {"headline": headline, "bullets": [{"text": line, "cites": articles}]}
                for lang, (headline, line) in MODEL_SUMMARY.items()
            },
            ensure_ascii=False,
        )
    passages = re.findall(r'<passage id="(\d+)">', user)
    if passages:
        lang = re.search(r'language with code "(ar|en)"', user)
        answer = MODEL_ANSWER[lang.group(1) if lang else "en"]
        return json.dumps({"answer": answer, "cites": passages[:1], "covered": True}, ensure_ascii=False)
    question = re.search(r"<question>\s*(.*?)\s*</question>", user, re.DOTALL)
    text = question.group(1) if question else "question"
    return json.dumps({"query": text, "question": text}, ensure_ascii=False)


class Endpoint:
    """An LLM endpoint at a fixed 127.0.0.1 address that fails in one way until `recover()`."""

    def __init__(self, fault: Reply | None) -> None:
        self.stub: OpenAIStub | None = None
        self._stop: Callable[[], None] | None = None
        self._placeholder: socket.socket | None = None
        if fault is None:
            # Bound but never listening: every connection attempt is refused, as with a stopped server.
            self._placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._placeholder.bind(("127.0.0.1", 0))
            self.port = int(self._placeholder.getsockname()[1])
        else:
            self.stub, self._stop = start_stub()
            self.stub.always = fault
            self.port = int(self.stub.base_url.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def recover(self) -> OpenAIStub:
        """The endpoint answers well from now on, at the same address."""
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
            self.stub, self._stop = start_stub(self.port)
        assert self.stub is not None
        self.stub.always = None
        self.stub.responder = model_reply
        return self.stub

    def chat_requests(self) -> int:
        return len(self.stub.chat_requests()) if self.stub is not None else 0

    def close(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
        if self._stop is not None:
            self._stop()


@pytest.fixture(params=list(FAULTS))
def fault(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def endpoint(fault: str) -> Iterator[Endpoint]:
    broken = Endpoint(FAULTS[fault])
    yield broken
    broken.close()


def llm_settings(endpoint: Endpoint) -> dict[str, Any]:
    """LLM_* settings pointing at the endpoint; no retries, so each call fails (and is logged) once."""
    return {
        "llm_base_url": endpoint.url,
        "llm_api_key": SecretStr(API_KEY),
        "llm_model": "stub-model",
        "llm_timeout": LLM_TIMEOUT,
        "llm_max_retries": 0,
        "llm_cooldown": 0,  # the breaker off: every call meets the fault (the breaker's own test is below)
    }


def failed_calls(ctx: Context) -> list[str]:
    """Outcomes of the LLM calls recorded that did not succeed."""
    with ctx.db.session() as session:
        rows = session.scalars(select(LLMCallLog.outcome).where(LLMCallLog.outcome != "ok"))
        return list(rows)


def assert_logged_once_per_failed_call(records: list[logging.LogRecord], failed: int) -> None:
    """One WARNING per failed call, naming the endpoint, never the key; nothing louder, no traceback."""
    loud = [r for r in records if r.levelno >= logging.WARNING]
    assert failed >= 1
    assert [r.levelno for r in loud] == [logging.WARNING] * failed, [r.getMessage() for r in loud]
    for record in loud:
        assert record.name == "bot.llm" and record.exc_info is None
        assert API_KEY not in record.getMessage()
    assert all(API_KEY not in r.getMessage() for r in records)


# ---------------------------------------------------------------- briefs to Telegram


@pytest.fixture
def brief_ctx(
    endpoint: Endpoint, telegram_stub: TelegramStub, seeded_archive: Path, tmp_path: Path
) -> Iterator[tuple[Context, FakeClock]]:
    """The seed archive with the LLM configured at the failing endpoint and Telegram at its stand-in."""
    data_dir = copy_archive(seeded_archive, tmp_path / "data")
    settings = telegram_settings(data_dir, telegram_stub, telegram_rate_limit=1000, **llm_settings(endpoint))
    db = Database(settings.effective_database_url)
    db.upgrade()
    clock = FakeClock(T0)
    yield Context(settings=settings, db=db, clock=clock), clock
    db.dispose()


def subscribe_chat(ctx: Context, chat: int, lang: str, at: str) -> None:
    with ctx.db.session() as session:
        for thread in THREADS:
            subscribe(session, platform="telegram", chat_id=str(chat), thread_id=thread, lang=lang,
                      deliver_at=at, timezone="Europe/Moscow", now=ctx.now())  # fmt: skip


async def broadcast(ctx: Context, clock: FakeClock, hours: float) -> None:
    """Time passes to the due moment: briefs are built into the outbox, then the worker sends them."""
    clock.advance(hours=hours)
    enqueue_due(ctx)
    async with make_sender(ctx, pool_size=4) as sender:
        await deliver_once(ctx, sender, clock=clock.monotonic, sleep=clock.sleep)


def received(stub: TelegramStub, chat: int) -> str:
    return "\n".join(message.text for message in stub.messages(chat))


def story_tags(text: str, lang: str) -> tuple[int, int]:
    """(stories, stories tagged as offline summaries) in a chat's Telegram HTML."""
    return text.count("■"), text.count(f"<i>({LABELS[lang]['fallback']})</i>")


async def test_due_briefs_go_out_marked_offline_while_the_llm_fails_and_use_it_again_after(
    fault: str,
    endpoint: Endpoint,
    brief_ctx: tuple[Context, FakeClock],
    telegram_stub: TelegramStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx, clock = brief_ctx
    subscribe_chat(ctx, 101, "ar", "07:00")
    subscribe_chat(ctx, 102, "en", "07:00")
    with caplog.at_level(logging.INFO, logger="bot"):  # httpx logs URLs (the bot token) at INFO
        await broadcast(ctx, clock, hours=1)
    for chat, lang in ((101, "ar"), (102, "en")):
        stories, tagged = story_tags(received(telegram_stub, chat), lang)
        assert stories >= 2 and tagged == stories, (chat, received(telegram_stub, chat)[:500])
    with ctx.db.session() as session:
        assert [d.status for d in session.scalars(select(Delivery))] == ["sent"] * 4
    assert telegram_stub.state.rejected == []
    failed = failed_calls(ctx)
    assert set(failed) == {OUTCOMES[fault]}
    assert_logged_once_per_failed_call(caplog.records, len(failed))

    model = endpoint.recover()
    asked = endpoint.chat_requests()
    subscribe_chat(ctx, 103, "ar", "08:00")
    subscribe_chat(ctx, 104, "en", "08:00")
    await broadcast(ctx, clock, hours=1)
    assert len(model.chat_requests()) > asked  # the offline summaries were not cached
    for chat, lang in ((103, "ar"), (104, "en")):
        text = received(telegram_stub, chat)
        stories, tagged = story_tags(text, lang)
        assert stories >= 2 and tagged == 0
        assert text.count(MODEL_SUMMARY[lang][0]) == stories
    assert failed_calls(ctx) == failed


@pytest.mark.parametrize("fault", ["slow"])
async def test_a_slow_endpoint_is_left_alone_after_three_timeouts_and_the_briefs_go_out_at_once(
    fault: str,
    endpoint: Endpoint,
    brief_ctx: tuple[Context, FakeClock],
    telegram_stub: TelegramStub,
) -> None:
    ctx, clock = brief_ctx
    ctx.settings = ctx.settings.model_copy(update={"llm_cooldown": 300.0})
    for chat, lang in ((201, "ar"), (202, "en"), (203, "ar"), (204, "en")):
        subscribe_chat(ctx, chat, lang, "07:00")
    await broadcast(ctx, clock, hours=1)
    for chat, lang in ((201, "ar"), (202, "en"), (203, "ar"), (204, "en")):
        stories, tagged = story_tags(received(telegram_stub, chat), lang)
        assert stories >= 2 and tagged == stories
    assert endpoint.chat_requests() == 3  # each of those cost LLM_TIMEOUT; the rest none
    assert failed_calls(ctx) == ["timeout"] * 3


# ---------------------------------------------------------------- questions in Slack


def mention(text: str, ts: str) -> dict[str, Any]:
    return {"type": "app_mention", "user": "UALICE", "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
            "channel": CHANNEL}  # fmt: skip


def qa_methods(ctx: Context) -> list[str]:
    with ctx.db.session() as session:
        return list(session.scalars(select(QALog.method).order_by(QALog.id)))


async def test_slack_questions_are_answered_marked_offline_while_the_llm_fails_and_by_it_after(
    fault: str,
    endpoint: Endpoint,
    slack_stub: SlackStub,
    seeded_archive: Path,
    shared_embedder: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data_dir = copy_archive(seeded_archive, tmp_path / "data")
    settings = slack_settings(data_dir, slack_stub, **llm_settings(endpoint))
    async with slack_harness(slack_stub, data_dir, embedder=shared_embedder, settings=settings) as slack:
        with caplog.at_level(logging.INFO, logger="bot"):  # httpx logs URLs (the bot token) at INFO
            for n, (lang, (question, quoted)) in enumerate(QUESTIONS.items(), start=1):
                await slack.slack.event(mention(question, f"{n}00.1"), event_id=f"EvDown{n}")
                await slack_stub.wait_for(lambda n=n: len(slack_stub.posts(CHANNEL)) == n)
                await slack.settle()
                post = slack_stub.posts(CHANNEL)[-1]
                text = json.dumps(post, ensure_ascii=False)
                assert post["thread_ts"] == f"{n}00.1"
                assert quoted in text and "[1]" in text  # the sources' own words, cited
                assert f"_{FALLBACK_LABEL[lang]}_" in text
                assert MODEL_ANSWER[lang] not in text
        assert qa_methods(slack.ctx) == ["fallback", "fallback"]
        failed = failed_calls(slack.ctx)
        assert set(failed) == {OUTCOMES[fault]}
        assert_logged_once_per_failed_call(caplog.records, len(failed))

        endpoint.recover()
        for n, (lang, (question, _)) in enumerate(QUESTIONS.items(), start=3):
            await slack.slack.event(mention(question, f"{n}00.1"), event_id=f"EvUp{n}")
            await slack_stub.wait_for(lambda n=n: len(slack_stub.posts(CHANNEL)) == n)
            await slack.settle()
            text = json.dumps(slack_stub.posts(CHANNEL)[-1], ensure_ascii=False)
            assert MODEL_ANSWER[lang] in text and "[1]" in text
            assert FALLBACK_LABEL[lang] not in text
        assert qa_methods(slack.ctx)[2:] == ["llm", "llm"]
        assert failed_calls(slack.ctx) == failed


# ---------------------------------------------------------------- the pieces the end-to-end tests rest on


def test_an_html_page_sent_with_status_200_is_an_unavailable_endpoint_not_a_bad_reply(
    openai_stub: OpenAIStub,
) -> None:
    # The SDK hands a non-JSON body back as a str; that is a failed endpoint (no repair prompt, not
    # cached), not a model that answered badly.
    openai_stub.push(FAULTS["garbage-html-200"] or Reply())
    outcomes: list[str] = []
    llm = LLM(
        base_url=openai_stub.base_url + "/v1", max_retries=0, record=lambda c: outcomes.append(c.outcome)
    )
    prompt = RenderedPrompt(system="s", user="u", version="v")
    with pytest.raises(LLMUnavailable, match="not an OpenAI API response"):
        llm.chat_json(purpose="summarize_story", prompt=prompt, schema={"type": "object"})
    llm.close()
    assert outcomes == ["error"]


def fallback_answer(lang: str, method: Method) -> Answer:
    citation = Citation(
        1, 5, 5, "Seed articles", "Lavrov in Wonsan", "2025-07-12", "https://e.example/1", "ar"
    )
    return Answer("q", lang, "«لافروف في وونسان» [1]", True, method, [citation], as_of=T0)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_answer_quoted_offline_after_a_model_failure_is_tagged_in_its_language(lang: str) -> None:
    label = FALLBACK_LABEL[lang]
    fallback, offline = fallback_answer(lang, "fallback"), fallback_answer(lang, "offline")
    assert f"<i>({label})</i>" in "".join(telegram_answer(fallback))
    assert f"_{label}_" in json.dumps(answer_messages(fallback), ensure_ascii=False)
    assert f"({label})" in render_answer(fallback)
    # With no model configured, offline is the normal way of answering: no tag, as with briefs.
    assert label not in "".join(telegram_answer(offline)) + render_answer(offline)
    assert label not in json.dumps(answer_messages(offline), ensure_ascii=False)
