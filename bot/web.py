"""The web server's app: /healthz, /metrics, the Telegram webhook when configured, and the routes others bring."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Context
from bot.metrics import CONTENT_TYPE as METRICS_TYPE

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"

Health = Callable[[], dict[str, Any]]


def database_health(ctx: Context) -> Health:
    """A health check that the database answers."""

    def check() -> dict[str, Any]:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"database": "ok"}

    return check


def webhook_path(ctx: Context) -> str:
    """Where Telegram posts updates: the path of TELEGRAM_WEBHOOK_URL."""
    return urlsplit(ctx.settings.telegram_webhook_url).path or DEFAULT_WEBHOOK_PATH


def create_web_app(
    ctx: Context,
    *,
    routes: Sequence[BaseRoute] = (),
    health: Health | None = None,
    telegram: Any = None,
) -> Starlette:
    """The Starlette app; `telegram` is the PTB Application fed by the webhook (webhook mode only)."""
    check = health or database_health(ctx)

    async def healthz(request: Request) -> Response:
        try:
            return JSONResponse({"status": "ok", **check()})
        except Exception as error:  # any failure of a dependency makes the process unhealthy
            log.warning("health check failed: %s", error)
            return JSONResponse({"status": "unavailable", "error": type(error).__name__}, status_code=503)

    ctx.metrics.watch_outbox(ctx.db)

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(ctx.metrics.render)  # the outbox depth is a database query
        return Response(body, media_type=METRICS_TYPE)

    all_routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if telegram is not None and ctx.settings.telegram_webhook_url:
        all_routes.append(Route(webhook_path(ctx), telegram_webhook(ctx, telegram), methods=["POST"]))
    from bot.reader.web import routes as reader_routes  # the read-only pages and feeds (issue 15)

    all_routes += reader_routes(ctx)
    all_routes += list(routes)
    return Starlette(routes=all_routes)


def telegram_webhook(ctx: Context, application: Any) -> Callable[[Request], Any]:
    """The webhook endpoint: refuses a request without the right secret token, queues the update."""
    from telegram import Update

    secret = ctx.settings.telegram_webhook_secret.get_secret_value()

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

    return receive
