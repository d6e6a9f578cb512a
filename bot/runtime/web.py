"""The web server's app: /healthz, /metrics, and the routes the chat adapters bring (webhooks, Slack events)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Context
from bot.metrics import CONTENT_TYPE as METRICS_TYPE

log = logging.getLogger(__name__)

Health = Callable[[], dict[str, Any]]


def database_health(ctx: Context) -> Health:
    """A health check that the database answers."""

    def check() -> dict[str, Any]:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"database": "ok"}

    return check


def create_web_app(
    ctx: Context,
    *,
    routes: Sequence[BaseRoute] = (),
    health: Health | None = None,
) -> Starlette:
    """The Starlette app: health, metrics, and `routes`."""
    check = health or database_health(ctx)

    async def healthz(request: Request) -> Response:
        try:
            # In a worker thread: a database that hangs must not hang the event loop with it.
            return JSONResponse({"status": "ok", **await run_in_threadpool(check)})
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
    from bot.reader.web import routes as reader_routes  # the read-only pages and feeds (issue 15)

    all_routes += reader_routes(ctx)
    all_routes += list(routes)
    return Starlette(routes=all_routes)
