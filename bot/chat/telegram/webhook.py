"""The Telegram adapter's route on our web server: the webhook, which refuses requests without the secret."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.config import Settings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


def webhook_path(settings: Settings) -> str:
    """Where Telegram posts updates: the path of TELEGRAM_WEBHOOK_URL."""
    return urlsplit(settings.telegram_webhook_url).path or DEFAULT_WEBHOOK_PATH


def webhook_route(settings: Settings, application: Any) -> Route:
    """POST TELEGRAM_WEBHOOK_URL's path: checks the secret token, then queues the update for PTB."""
    secret = settings.telegram_webhook_secret.get_secret_value()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = await request.json()
        except ValueError:
            return PlainTextResponse("bad request", status_code=400)
        await application.update_queue.put(Update.de_json(data, application.bot))
        return PlainTextResponse("ok")

    return Route(webhook_path(settings), receive, methods=["POST"], name="telegram-webhook")
