"""The outbox's Telegram sender: renders a brief payload to HTML parts and sends one part.

Sending uses httpx straight to the Bot API's sendMessage (the same URL PTB builds from
TELEGRAM_BASE_URL) rather than PTB's Bot: the outbox needs only the outcome, and PTB's parsing of
every returned Message doubled the CPU per message, halving broadcast capacity. Interactive replies
still go through PTB.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from bot.chat.telegram.render import render_brief
from bot.config import Settings
from bot.delivery.base import ChatGone, DeliveryError, RetryAfter, TransientError
from bot.delivery.worker import Limits

PLATFORM = "telegram"
# Telegram answers 400 to these when the chat no longer exists for the bot: as final as a 403.
_GONE_400 = ("chat not found", "user is deactivated", "group chat was deactivated", "bot was kicked")
# One connection per concurrent send of the worker; Telegram answers in tens of milliseconds.
DEFAULT_POOL = 32


def telegram_group(chat_id: str) -> bool:
    """Telegram groups and channels have negative ids."""
    return chat_id.startswith("-")


def telegram_limits(rate: float) -> Limits:
    """Telegram's pace: `rate` messages a second overall, one a second per chat, 20 a minute per group."""
    return Limits(rate=rate, per_chat_interval=1.0, group_per_minute=20, is_group=telegram_group)


class TelegramSender:
    """Implements the delivery contract (bot.delivery.base.Sender) for Telegram; use `async with`."""

    platform = PLATFORM

    def __init__(self, settings: Settings, *, pool_size: int = DEFAULT_POOL, timeout: float = 30.0) -> None:
        token = settings.telegram_bot_token.get_secret_value()
        self._url = f"{settings.telegram_base_url}{token}/sendMessage"
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self._client = httpx.AsyncClient(limits=limits, timeout=timeout)
        self.limits = telegram_limits(settings.telegram_rate_limit)

    async def __aenter__(self) -> TelegramSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    def notice(self, text: str) -> str:
        """A plain-text notice as Telegram HTML."""
        return html.escape(text, quote=False)

    def render(self, brief: Mapping[str, Any]) -> Sequence[str]:
        """The brief as Telegram HTML messages within 4096 UTF-16 units each."""
        return render_brief(brief)

    async def send(self, chat_id: str, part: Any) -> None:
        """Send one message; Telegram's failures become the contract's errors."""
        body = {
            "chat_id": int(chat_id),
            "text": str(part),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        try:
            response = await self._client.post(self._url, json=body)
        except httpx.TransportError as error:
            raise TransientError(f"network error: {type(error).__name__}") from None
        if response.status_code == 200:
            return
        raise classify(response.status_code, _json(response))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def classify(status: int, data: Mapping[str, Any]) -> DeliveryError:
    """The contract's error for a Bot API failure (the description never holds the token)."""
    description = str(data.get("description") or f"HTTP {status}")
    parameters = data.get("parameters") or {}
    if status == 429 or parameters.get("retry_after"):
        return RetryAfter(float(parameters.get("retry_after") or 1), description)
    if parameters.get("migrate_to_chat_id"):
        return ChatGone(f"the group became supergroup {parameters['migrate_to_chat_id']}")
    if status == 403:
        return ChatGone(description)
    if status == 400 and any(text in description.lower() for text in _GONE_400):
        return ChatGone(description)
    if status >= 500 or status in (408, 409):
        return TransientError(f"Telegram error {status}: {description}")
    return DeliveryError(f"Telegram refused the message: {description}")
