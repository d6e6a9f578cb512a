"""One `/newsbrief` invocation and the ways to reply to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.briefs import BriefError
from bot.catalog import CatalogError
from bot.chat.slack.render import Message, escape
from bot.chat.slack.state import Services
from bot.chat.slack.texts import t
from bot.context import Context
from bot.fetch import FetchError
from bot.ingest import READ_ERRORS
from bot.subscriptions import SubscriptionError

# Errors whose message is meant for the person who asked; anything else gets an apology and a log line.
USER_ERRORS: tuple[type[Exception], ...] = (
    CatalogError,
    SubscriptionError,
    BriefError,
    FetchError,
    *READ_ERRORS,
)


@dataclass(slots=True)
class Command:
    """Who asked, in which channel, the words after the subcommand, and how to reply."""

    user: str
    channel: str
    args: list[str]
    lang: str
    ack: AsyncAck
    respond: AsyncRespond
    services: Services

    @property
    def ctx(self) -> Context:
        return self.services.ctx

    @property
    def is_admin(self) -> bool:
        return self.services.is_admin(self.user)

    async def say(self, key: str, **values: Any) -> None:
        """Acknowledge with an ephemeral interface text."""
        await self.ack(text=t(self.lang, key, **values))

    async def reply(self, parts: list[Message], *, in_channel: bool = False) -> None:
        """Post messages through the command's response_url (after the acknowledgement)."""
        kind = "in_channel" if in_channel else "ephemeral"
        for part in parts:
            await self.respond(
                text=part["text"], blocks=part["blocks"], response_type=kind, replace_original=False
            )

    async def reply_text(self, key: str, **values: Any) -> None:
        """An ephemeral interface text through the response_url."""
        await self.respond(
            text=t(self.lang, key, **values), response_type="ephemeral", replace_original=False
        )

    def later(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` after the acknowledgement; an error there is reported to the user, not lost."""

        async def run() -> None:
            try:
                await work()
            except USER_ERRORS as error:
                await self.reply_text("failed", reason=escape(str(error)[:300]))
            except Exception:
                await self.reply_text("apology")
                raise

        self.services.background.spawn(run())
