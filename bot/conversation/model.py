"""What an adapter hands the conversation core, and what it gets back.

A Request says who wrote what where; a Reply says what to show, in platform-neutral terms: text
blocks (plain text, never markup: each adapter escapes and styles them), a brief's payloads or an
answer with its citations, buttons whose data comes back as a later Request, and state the adapter
keeps for the conversation (where an answer's follow-ups belong).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.qa.model import Answer, Citation

Style = Literal["title", "text"]


@dataclass(frozen=True, slots=True)
class Request:
    """One message or button press, parsed by an adapter."""

    platform: str  # "telegram", "slack", "terminal": names the actor in the audit log
    user: str
    chat: str
    action: str = ""  # a core action ("subscribe", "source_add"…); "" with `button` set, or for a question
    text: str = ""  # the words after the command, or the question
    button: str = ""  # the data of a button the core offered earlier
    language: str = ""  # the platform's hint of the user's language (Telegram's language_code)
    is_admin: bool = False  # a bot admin (TELEGRAM_ADMIN_IDS, SLACK_ADMIN_IDS, `chat --admin`)
    chat_admin: bool = True  # may change this chat's subscriptions (in a group: its administrators)
    message: str = ""  # this message's id on the platform, when it starts a conversation
    conversation: str = ""  # the conversation this message continues (a Slack thread), when known
    reply_to: str = ""  # the message this one replies to (a Telegram reply to an answer)
    follow_up_only: bool = False  # answer only when `conversation` is one the bot answered in
    event: str = ""  # the platform's event id: a retried event is answered once
    syntax: Mapping[str, str] = field(default_factory=dict)  # how this platform spells each command
    deliveries: bool = True  # the platform receives daily briefs (the terminal does not)

    @property
    def args(self) -> list[str]:
        return self.text.split()

    @property
    def actor(self) -> str:
        """The audit log's name for the user."""
        return f"{self.platform}:{self.user}"


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    style: Style = "text"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str  # short (Telegram allows 64 bytes): `kind|field|field…`
    primary: bool = False


@dataclass(slots=True)
class Reply:
    """What to show the user, in the interface language `lang`."""

    lang: str
    blocks: list[Block] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    briefs: list[Mapping[str, Any]] = field(default_factory=list)  # stored brief payloads
    answer: Answer | None = None
    public: bool = False  # for everyone in the chat (a brief, an answer), not only the asker
    edit: bool = False  # replaces the message whose button was pressed
    alert: bool = False  # a short notice to the presser alone (a refusal of a button)
    conversation: str = ""  # the answer's conversation: the adapter files the posted message under it
    silent: bool = False  # nothing to say (a retried event, a thread the bot is not in)

    @property
    def citations(self) -> list[Citation]:
        return list(self.answer.citations) if self.answer else []

    @property
    def plain(self) -> str:
        """The text blocks as plain lines (for logs, tests and the terminal)."""
        return "\n".join(block.text for block in self.blocks)
