"""The contract between the outbox and each platform's sender."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.delivery.worker import Limits


class DeliveryError(Exception):
    """A send that did not go through; subclasses say what the outbox should do."""


class RetryAfter(DeliveryError):
    """The platform asked us to wait (HTTP 429). The message is retried after `seconds`, never dropped."""

    def __init__(self, seconds: float, message: str = "rate limited") -> None:
        super().__init__(f"{message}; retry after {seconds:g} s")
        self.seconds = seconds


class ChatGone(DeliveryError):
    """The bot was blocked or removed from the chat (HTTP 403): end that chat's subscriptions."""


class TransientError(DeliveryError):
    """A 5xx or network failure: retry with backoff."""


class Sender(Protocol):
    """One platform's way to render a stored brief and to send one part of it, and its sending limits."""

    platform: str
    limits: Limits

    def render(self, brief: Mapping[str, Any]) -> Sequence[Any]:
        """The brief payload as message parts within the platform limits (HTML text, or Slack blocks)."""
        ...

    def notice(self, text: str) -> Any:
        """A plain-text notice to an admin as one part, escaped for the platform."""
        ...

    async def send(self, chat_id: str, part: Any) -> None:
        """Send one part; raise RetryAfter, ChatGone or TransientError on failure."""
        ...
