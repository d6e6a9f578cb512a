"""No blocking database work on the event loop: a handler stuck in a slow query leaves /healthz answering.

The slow query is real: a SQLAlchemy `before_cursor_execute` listener on our engine holds the /stats
handler's audit insert until the test lets it go. Had that insert run on the event loop, the loop would
be held with it and /healthz could only answer after the release; so the test asserts on order: the
health answer arrives while the query is still held and the handler still waiting. A watchdog releases
the query after a while, so a regression fails the assertions instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bot.context import Context
from bot.runtime.web import create_web_app
from storage.db import Database
from tests.harness import polling, seed_threads, telegram_settings
from tests.servers.slack_stub import serve_asgi
from tests.servers.telegram_stub import TelegramStub, until

ADMIN = 9001
WATCHDOG = 20.0  # seconds: only a broken build waits this long


class SlowQuery:
    """Holds every audit-log insert until released; says when one is being held."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.watchdog = threading.Timer(WATCHDOG, self.released.set)

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            self.entered.set()
            self.released.wait()


@pytest.fixture
async def ctx(db: Database, tmp_path: Path, telegram_stub: TelegramStub) -> AsyncIterator[Context]:
    settings = telegram_settings(tmp_path / "data", telegram_stub, telegram_admin_ids=[str(ADMIN)])
    context = Context(settings=settings, db=db)
    with db.session() as session:
        seed_threads(session)
    yield context


async def test_healthz_answers_while_a_handler_waits_on_a_slow_query(
    ctx: Context, telegram_stub: TelegramStub
) -> None:
    slow = SlowQuery()
    event.listen(ctx.db.engine, "before_cursor_execute", slow)
    slow.watchdog.start()
    try:
        async with polling(ctx), serve_asgi(create_web_app(ctx)) as url, httpx.AsyncClient() as http:
            telegram_stub.send_text(chat_id=ADMIN, text="/stats")
            assert await asyncio.to_thread(slow.entered.wait, WATCHDOG)  # the handler is inside the query

            health = await http.get(url + "/healthz", timeout=WATCHDOG)

            assert health.status_code == 200 and health.json()["database"] == "ok"
            assert not slow.released.is_set()  # answered while the query was still held…
            assert telegram_stub.messages(ADMIN) == []  # …and the handler still waiting on it
            slow.released.set()
            await until(lambda: telegram_stub.messages(ADMIN))
            assert "Stats" in telegram_stub.messages(ADMIN)[0].text  # the handler then finished normally
    finally:
        slow.released.set()
        slow.watchdog.cancel()
        event.remove(ctx.db.engine, "before_cursor_execute", slow)
