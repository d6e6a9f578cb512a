"""`newsbrief` as a child process for tests: its environment, starting it, waiting for /healthz.

Shared by the tests that run the real process against the stand-ins (tests/test_telegram_run.py,
tests/test_scale.py, tests/test_crash_chaos.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import update

from bot.app import build_context
from bot.config import Settings
from bot.delivery.subscriptions import subscribe
from storage.models import Subscription
from tests.servers.telegram_stub import TOKEN, TelegramStub

NEWSBRIEF = [sys.executable, "-c", "from bot.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(tmp_path: Path, stub: TelegramStub, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "LLM_", "DATABASE_"))
    }
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        EMBEDDER="none",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=stub.base_url,
        TELEGRAM_BASE_FILE_URL=stub.base_file_url,
        INGEST_INTERVAL="3600",
        **extra,
    )
    return env


def prepared(tmp_path: Path, chats: int, **overrides: str) -> Settings:
    """A database (the data folder's, or `database_url=`) with `chats` subscriptions whose brief is already due."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none", **overrides)
    ctx = build_context(settings)
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        for chat in range(1, chats + 1):
            subscribe(session, platform="telegram", chat_id=str(chat), thread_id="russia-dprk", lang="en",
                      deliver_at="07:00", timezone="UTC", now=now)  # fmt: skip
        session.execute(update(Subscription).values(next_due_at=now - timedelta(minutes=1)))
    ctx.db.dispose()
    return settings


def start(
    tmp_path: Path, stub: TelegramStub, port: int, *, output: IO[bytes] | None = None, **extra: str
) -> subprocess.Popen[bytes]:
    """`newsbrief run` on `port`; its output goes to `output` (a file: a pipe nobody reads fills up), or a pipe."""
    return subprocess.Popen(
        [*NEWSBRIEF, "run", "--port", str(port)],
        env=environment(tmp_path, stub, **extra),
        cwd=tmp_path,
        stdout=output if output is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("newsbrief run did not become healthy")
