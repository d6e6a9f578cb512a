"""The outbox senders of every configured chat platform, for one-shot commands (`newsbrief deliver`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.context import Context
from bot.delivery.base import Sender


@contextlib.asynccontextmanager
async def configured_senders(ctx: Context) -> AsyncIterator[list[Sender]]:
    """A sender for each platform whose token is set (Telegram, Slack), closed when the block ends."""
    settings = ctx.settings
    async with contextlib.AsyncExitStack() as stack:
        senders: list[Sender] = []
        if settings.telegram_bot_token.get_secret_value():
            from bot.chat.telegram.app import make_sender

            senders.append(await stack.enter_async_context(make_sender(ctx)))
        if settings.slack_bot_token.get_secret_value():
            import aiohttp

            from bot.chat.slack.app import make_client
            from bot.chat.slack.sender import SlackSender

            client = make_client(settings)
            client.session = aiohttp.ClientSession()  # one pooled session for the whole run
            stack.push_async_callback(client.session.close)
            senders.append(SlackSender(client))
        yield senders
