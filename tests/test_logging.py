"""Logs: text or JSON lines, and no configured secret ever reaches a log line, whoever logged it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from pydantic import SecretStr

from bot.app import configure_logging
from bot.chat.telegram.sender import TelegramSender
from bot.config import Settings
from bot.runtime.logs import MASK
from tests.servers.telegram_stub import TOKEN, TelegramStub

SECRETS = {
    "telegram_bot_token": TOKEN,
    "telegram_webhook_secret": "hook-secret-0451",
    "llm_api_key": "sk-live-key-9921",
    "slack_bot_token": "xoxb-slack-bot-7781",
    "slack_signing_secret": "slack-signing-3313",
    "slack_app_token": "xapp-slack-app-5510",
}
DB_PASSWORD = "pg-pass-6620"


@pytest.fixture
def restore_root() -> Iterator[None]:
    """configure_logging changes the root logger; give the rest of the suite the one it had."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    filters = {h: list(h.filters) for h in handlers}
    # A test turns httpx up to INFO; left there, later tests' unmasked Bot API URLs would carry the token.
    httpx_level = logging.getLogger("httpx").level
    yield
    logging.getLogger("httpx").setLevel(httpx_level)
    root.handlers[:] = handlers
    root.setLevel(level)
    for handler, kept in filters.items():
        handler.filters[:] = kept


@pytest.fixture
def secret_settings(settings: Settings, telegram_stub: TelegramStub) -> Settings:
    values = {name: SecretStr(value) for name, value in SECRETS.items()}
    return settings.model_copy(
        update={
            **values,
            "telegram_base_url": telegram_stub.base_url,
            "database_url": f"postgresql+psycopg://newsbrief:{DB_PASSWORD}@db.invalid/newsbrief",
            "log_level": "DEBUG",
        }
    )


def configured(settings: Settings, **changes: object) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(settings.model_copy(update=changes), stream=stream)
    return stream


def leaked(lines: list[str]) -> list[str]:
    return [line for line in lines if any(s in line for s in [*SECRETS.values(), DB_PASSWORD])]


async def test_no_secret_reaches_any_log_line_even_from_library_request_logs(
    secret_settings: Settings, caplog: pytest.LogCaptureFixture, restore_root: None
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # `newsbrief run`, started by earlier tests, quiets it
    stream = configured(secret_settings)
    log = logging.getLogger("tests.leak")
    async with TelegramSender(secret_settings, pool_size=1) as sender:
        await sender.send("42", "hello")
    log.info("configured with %s", secret_settings.llm_api_key.get_secret_value())
    log.warning("extra carries it", extra={"url": f"https://x/bot{TOKEN}/getMe"})
    try:
        raise RuntimeError(f"connect to postgresql://newsbrief:{DB_PASSWORD}@db failed")
    except RuntimeError:
        log.exception("database down")
    captured = [caplog.handler.format(r) for r in caplog.records]
    written = stream.getvalue().splitlines()
    assert any("sendMessage" in line for line in captured), "httpx request lines were not captured"
    assert any(f"bot{MASK}/sendMessage" in line for line in written)
    assert leaked(captured) == [] and leaked(written) == []


def test_json_format_writes_one_object_per_line_with_extras(settings: Settings, restore_root: None) -> None:
    stream = configured(settings, log_format="json")
    logging.getLogger("bot.sample").info("hello %s", "مرحبا", extra={"source_id": 7})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("bot.sample").exception("broken")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "INFO" and first["logger"] == "bot.sample"
    assert first["message"] == "hello مرحبا" and first["source_id"] == 7 and "timestamp" in first
    assert "ZeroDivisionError" in second["exception"]


def test_text_format_is_one_readable_line(settings: Settings, restore_root: None) -> None:
    stream = configured(settings, log_format="text", log_level="WARNING")
    logging.getLogger("bot.sample").info("dropped below the level")
    logging.getLogger("bot.sample").warning("kept")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING bot.sample: kept")


def test_configuring_twice_does_not_double_lines(settings: Settings, restore_root: None) -> None:
    configured(settings)
    stream = configured(settings)
    logging.getLogger("bot.sample").warning("once")
    assert stream.getvalue().count("once") == 1


def test_cli_commands_configure_logging_with_masking(
    cli: Callable[..., object], restore_root: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_API_KEY", "sk-cli-key-1234")
    cli("sources", "list")
    root = logging.getLogger()
    ours = [h for h in root.handlers if type(h).__name__ == "_Handler"]
    assert len(ours) == 1
    record = logging.makeLogRecord({"msg": "key sk-cli-key-1234", "levelno": logging.ERROR})
    assert all(f.filter(record) for f in ours[0].filters) and record.getMessage() == f"key {MASK}"


def test_httpx_request_url_with_token_is_masked(secret_settings: Settings, restore_root: None) -> None:
    stream = configured(secret_settings)
    logging.getLogger("httpx").setLevel(logging.INFO)
    url = f"{secret_settings.telegram_base_url}{TOKEN}/getMe"
    httpx.get(url)
    assert TOKEN not in stream.getvalue() and "getMe" in stream.getvalue()
