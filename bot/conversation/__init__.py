"""The platform-neutral conversation core: Request in, Reply out, for Telegram, Slack and the terminal."""

from bot.conversation import admin, reader  # noqa: F401  (registers the actions)
from bot.conversation.core import ACTIONS, BUTTONS, Action, Conversation, is_admin
from bot.conversation.model import Block, Button, Reply, Request
from bot.conversation.reader import DEFAULT_COMMANDS, DEFAULT_SYNTAX
from bot.conversation.texts import t

__all__ = [
    "ACTIONS", "BUTTONS", "DEFAULT_COMMANDS", "DEFAULT_SYNTAX", "Action", "Block", "Button", "Conversation", "Reply", "Request",
    "is_admin", "t",
]  # fmt: skip
