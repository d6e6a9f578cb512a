"""`newsbrief run` as a process: /healthz, polling, SIGTERM, webhook secret, and a kill -9 mid-broadcast."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_context
from bot.config import Settings
from bot.runtime.runner import serve
from storage.models import Delivery
from tests.harness import telegram_settings
from tests.processes import free_port, prepared, start, wait_healthy
from tests.servers.telegram_stub import TOKEN, TelegramStub, until


@pytest.fixture
def stub() -> Iterator[TelegramStub]:
    with TelegramStub() as server:
        yield server


def test_run_serves_health_answers_by_polling_and_stops_on_sigterm(
    tmp_path: Path, stub: TelegramStub
) -> None:
    prepared(tmp_path, 0)
    port = free_port()
    process = start(tmp_path, stub, port)
    try:
        wait_healthy(port, process)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        stub.send_text(chat_id=77, text="/help")
        reply = stub.wait_for_message(77, timeout=20)
        assert "/subscribe" in reply.text
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
        assert process.returncode == 0, output
        assert TOKEN not in output
    finally:
        if process.poll() is None:
            process.kill()


def test_kill_9_mid_broadcast_then_restart_loses_nothing(tmp_path: Path) -> None:
    chats = 200
    prepared(tmp_path, chats)
    with TelegramStub(record_calls=False) as stub:
        port = free_port()
        process = start(tmp_path, stub, port, TELEGRAM_RATE_LIMIT="60")
        try:
            stub.wait_for(lambda: len(stub.messages()) >= 60, timeout=60)
            process.kill()  # SIGKILL: no cleanup at all
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        sent_before = len(stub.messages())
        assert sent_before < chats
        process = start(tmp_path, stub, port, TELEGRAM_RATE_LIMIT="1000")
        try:
            stub.wait_for(lambda: len({m.chat_id for m in stub.messages()}) == chats, timeout=60)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    per_chat = Counter(m.chat_id for m in stub.messages())
    doubled = sum(n - 1 for n in per_chat.values())
    assert set(per_chat) == set(range(1, chats + 1))  # nothing lost
    print(f"sent before the kill: {sent_before}, doubled after the restart: {doubled}")
    assert doubled <= 40  # at most what was in flight (concurrency plus one progress flush)
    ctx = build_context(Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none"), seed=False)
    with ctx.db.session() as session:
        assert set(session.scalars(select(Delivery.status))) == {"sent"}
        assert len(session.scalars(select(Delivery.id)).all()) == chats  # one row per chat, never two
    ctx.db.dispose()


async def test_webhook_mode_refuses_requests_without_the_secret(tmp_path: Path, stub: TelegramStub) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = telegram_settings(
        tmp_path / "data",
        stub,
        telegram_webhook_url=url,
        telegram_webhook_secret=SecretStr("s3cret-token"),
    )
    ctx = build_context(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ctx, port=port, install_signals=False, stop_event=stop))
    try:
        async with httpx.AsyncClient() as client:
            await until(lambda: stub.state.webhook.get("url") == url, timeout=20)
            for _ in range(500):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.02)
            assert stub.state.webhook["secret_token"] == "s3cret-token"
            update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                                                  "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}  # fmt: skip
            refused = await client.post(url, json=update)
            wrong = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
            assert (refused.status_code, wrong.status_code) == (403, 403)
            await asyncio.sleep(0.2)
            assert stub.messages(5) == []
            stub.send_text(chat_id=6, text="/help")  # the stand-in posts with the secret, as Telegram does
            await until(lambda: stub.messages(6), timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        ctx.db.dispose()
