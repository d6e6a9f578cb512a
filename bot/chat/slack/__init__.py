"""Slack: questions in channels, threads and DMs, the /newsbrief command, channel briefs, admin sources.

`build_slack(ctx)` gives the adapter the runner needs: `routes()` for our Starlette app (HTTP mode,
POST /slack/events for events, slash commands and interactivity), `sender` for the outbox, and
`start()`/`stop()` (Socket Mode when SLACK_APP_TOKEN is set; nothing to start in HTTP mode).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.chat.slack.app import SlackConfigError, make_app, make_client, register
from bot.chat.slack.sender import CHANNEL_INTERVAL, Poster, SlackSender, reply_retry_handlers
from bot.chat.slack.state import ANSWER_WORKERS, Services
from bot.context import Context
from bot.conversation import Conversation
from bot.delivery.budget import Budget, local_budget
from bot.delivery.replies import Sleep
from bot.delivery.worker import Limits
from bot.qa import Answer, answer_question

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STOP_GRACE = 10.0
SLACK_LIMITS = SlackSender.limits


@dataclass
class SlackAdapter:
    """The Slack side of `newsbrief run`."""

    app: AsyncApp
    sender: SlackSender  # the outbox's: no 429 handler, so the worker sees 429s and holds every send
    services: Services
    budget: Budget  # shared by the outbox worker and the answers
    app_token: str = ""
    _socket: Any = field(default=None, repr=False)

    def routes(self) -> list[Route]:
        """POST /slack/events: events, slash commands and interactivity, signature-checked by Bolt."""
        handler = AsyncSlackRequestHandler(self.app)

        async def events(request: Request) -> Response:
            return await handler.handle(request)

        return [Route(EVENTS_PATH, events, methods=["POST"], name="slack-events")]

    @property
    def limits(self) -> Limits:
        """The outbox worker's limits for Slack channels."""
        return SLACK_LIMITS

    async def start(self) -> None:
        """Open the Web API connection pools; connect Socket Mode when SLACK_APP_TOKEN is set."""
        for client in self._clients:
            if client.session is None:
                # One pooled session: without it slack_sdk opens a new connection for every call.
                client.session = aiohttp.ClientSession()
        if not self.app_token:
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket = AsyncSocketModeHandler(self.app, self.app_token)
        await self._socket.connect_async()
        log.info("Slack connected in Socket Mode")

    async def stop(self, *, grace: float = STOP_GRACE) -> None:
        """Disconnect, let answers in progress finish for up to `grace` seconds, cancel the rest."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.services.background.drain(grace)
        await self.services.background.cancel()
        self.services.close()
        for client in self._clients:
            session, client.session = client.session, None
            if session is not None:
                await session.close()

    @property
    def _clients(self) -> list[Any]:
        """The outbox's Web API client and the one replies go through (Bolt's)."""
        return [self.sender.client, self.services.poster.sender.client]

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until no answer or command work is running (for tests and benches)."""
        await self.services.background.drain(timeout)


def build_slack(
    ctx: Context,
    *,
    channel_interval: float = CHANNEL_INTERVAL,
    answerer: Callable[..., Answer] = answer_question,
    budget: Budget | None = None,
    sleep: Sleep | None = None,
) -> SlackAdapter:
    """The Slack adapter from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, SLACK_ADMIN_IDS.

    `budget` is the bot's, shared with the outbox worker (one of its own at SLACK_LIMITS with
    `channel_interval` if not given); `sleep` is how answer retries wait (tests pass a fake clock's)."""
    settings = ctx.settings
    client = make_client(settings, retry_handlers=reply_retry_handlers(ctx.metrics))  # Bolt's and answers'
    app = make_app(settings, client)
    budget = budget or local_budget(replace(SLACK_LIMITS, per_chat_interval=channel_interval))
    replies = SlackSender(client)
    options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    services = Services(
        conversation=Conversation(ctx, answerer=answerer, workers=ANSWER_WORKERS),
        sender=replies,
        poster=Poster(replies, budget=budget, metrics=ctx.metrics, **options),
    )
    register(app, services)
    outbox = SlackSender(make_client(settings))
    return SlackAdapter(app, outbox, services, budget, settings.slack_app_token.get_secret_value())


__all__ = ["EVENTS_PATH", "SLACK_LIMITS", "SlackAdapter", "SlackConfigError", "SlackSender", "build_slack"]
