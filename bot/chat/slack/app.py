"""The slack-bolt AsyncApp: its Web API client, its signing secret, and every listener, wired in one place."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack import handlers
from bot.chat.slack.render import ACTION_IDS, CORE_ACTION, FEEDBACK_DOWN, FEEDBACK_UP
from bot.chat.slack.sender import Responder
from bot.chat.slack.state import Services
from bot.config import Settings

log = logging.getLogger(__name__)

COMMAND = "/newsbrief"
CLIENT_TIMEOUT = 30


class SlackConfigError(ValueError):
    """Slack is asked for without the settings it needs."""


def make_client(
    settings: Settings, *, retry_handlers: list[AsyncRetryHandler] | None = None
) -> AsyncWebClient:
    """The Web API client: the bot token, and SLACK_API_URL as its base URL (slack_sdk reads no variable);
    `retry_handlers` replace slack_sdk's default (one retry of a reset connection)."""
    token = settings.slack_bot_token.get_secret_value()
    if not token:
        raise SlackConfigError("SLACK_BOT_TOKEN is not set")
    base_url = (
        settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    )
    return AsyncWebClient(
        token=token, base_url=base_url, timeout=CLIENT_TIMEOUT, retry_handlers=retry_handlers
    )


def make_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    """An AsyncApp that verifies every request's signature and age, with our client."""
    secret = settings.slack_signing_secret.get_secret_value()
    if not secret:
        raise SlackConfigError("SLACK_SIGNING_SECRET is not set")
    return AsyncApp(client=client, signing_secret=secret, name="newsbrief")


def register(app: AsyncApp, services: Services) -> None:
    """Wire the listeners; each receives `services` as an argument."""

    async def inject(context: Any, next_: Callable[[], Awaitable[None]]) -> None:
        context["services"] = services
        if context.response_url:  # Bolt's own respond() retries nothing
            context["respond"] = Responder(context.response_url, metrics=services.ctx.metrics)
        await next_()

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack listener failed on a %s request: %r", body.get("type", "?"), error)

    app.use(inject)
    app.error(on_error)
    app.event("app_mention")(handlers.on_mention)
    app.event("message")(handlers.on_message)
    app.command(COMMAND)(handlers.on_command)
    ids = "|".join([FEEDBACK_UP, FEEDBACK_DOWN, *ACTION_IDS.values(), f"{CORE_ACTION}_[0-9]+"])
    app.action(re.compile(f"^({ids})$"))(handlers.on_action)
