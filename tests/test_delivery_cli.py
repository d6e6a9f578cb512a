"""`newsbrief deliver` and `newsbrief subscriptions list` as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from bot.cli import app, common
from bot.delivery.subscriptions import subscribe
from storage.models import Subscription
from tests.servers.slack_stub import BOT_TOKEN, SlackStub
from tests.servers.telegram_stub import TOKEN, TelegramStub


def invoke(*args: str) -> Result:
    common.reset()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        common.reset()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telegram_stub: TelegramStub) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMBEDDER", "none")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", telegram_stub.base_url)
    for name in ("LLM_BASE_URL", "EMBEDDING_MODEL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    ctx = common.context()
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        for chat in ("11", "-1002"):
            subscribe(session, platform="telegram", chat_id=chat, thread_id="russia-dprk", lang="ar",
                      deliver_at="07:00", timezone="Asia/Riyadh", now=now)  # fmt: skip
    common.reset()
    yield tmp_path
    common.reset()


def test_subscriptions_list_shows_each_with_its_next_due_time(folder: Path) -> None:
    result = invoke("subscriptions", "list")
    assert result.exit_code == 0, result.output
    assert "telegram:11 russia-dprk ar 07:00 Asia/Riyadh next" in result.output
    assert "2 subscription(s)" in result.output
    rows = json.loads(invoke("subscriptions", "list", "--json").output)
    assert [r["chat_id"] for r in rows] == ["11", "-1002"]


def test_deliver_sends_what_is_due_once(folder: Path, telegram_stub: TelegramStub) -> None:
    assert json.loads(invoke("deliver", "--json").output)["enqueued"] == 0
    ctx = common.context()
    with ctx.db.session() as session:
        session.execute(update(Subscription).values(next_due_at=datetime.now(UTC) - timedelta(minutes=5)))
    common.reset()
    report = json.loads(invoke("deliver", "--json").output)
    assert report["enqueued"] == 2 and report["telegram"]["sent"] == 2
    assert sorted(m.chat_id for m in telegram_stub.messages()) == [-1002, 11]
    assert json.loads(invoke("deliver", "--json").output) == {
        "enqueued": 0,
        "telegram": {**report["telegram"], "sent": 0, "parts": 0},
    }


def test_deliver_sends_every_configured_platforms_rows(
    folder: Path, telegram_stub: TelegramStub, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack_stub.api_url)
    ctx = common.context()
    with ctx.db.session() as session:
        subscribe(session, platform="slack", chat_id="C0NEWS", thread_id="russia-dprk", lang="en",
                  deliver_at="07:00", timezone="UTC", now=datetime.now(UTC))  # fmt: skip
        session.execute(update(Subscription).values(next_due_at=datetime.now(UTC) - timedelta(minutes=5)))
    common.reset()
    report = json.loads(invoke("deliver", "--json").output)
    assert report["enqueued"] == 3
    assert report["telegram"]["sent"] == 2 and report["slack"]["sent"] == 1
    assert slack_stub.posts("C0NEWS") and len(telegram_stub.messages()) == 2
