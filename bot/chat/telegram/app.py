"""The python-telegram-bot Application: handlers wired, pointed at TELEGRAM_BASE_URL, one error handler.

Replies to users go straight out through PTB; broadcasts go through the outbox, whose worker does
its own pacing (so no AIORateLimiter, which would pace the same messages twice and hide 429s from
the outbox's never-drop rule).
"""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.chat.telegram import handlers as h
from bot.chat.telegram.sender import DEFAULT_POOL, TelegramSender
from bot.context import Context
from bot.conversation import BUTTONS, Conversation, t

log = logging.getLogger(__name__)

MENU = ("start", "help", "subscribe", "settings", "unsubscribe", "brief", "ask", "sources")


class TelegramConfigError(Exception):
    """Telegram is not configured (no token)."""


def build_application(ctx: Context, *, polling: bool = True) -> Application:
    """The Application for our settings; without an updater in webhook mode (our web server feeds it)."""
    s = ctx.settings
    token = s.telegram_bot_token.get_secret_value()
    if not token:
        raise TelegramConfigError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(s.telegram_base_url)
        .base_file_url(s.telegram_base_file_url)
        .concurrent_updates(True)
        .post_init(_post_init)
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["conversation"] = Conversation(ctx)
    register(application)
    return application


def register(application: Application) -> None:
    """Every command, button and the private-chat questions, plus the error handler."""
    application.add_handler(CommandHandler(list(h.COMMANDS), h.on_command))
    kinds = "|".join(sorted(BUTTONS))
    application.add_handler(CallbackQueryHandler(h.on_button, pattern=f"^({kinds})\\|"))
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, h.on_text)
    )
    application.add_error_handler(on_error)


async def _post_init(application: Application) -> None:
    commands = [BotCommand(name, name) for name in MENU]
    await application.bot.set_my_commands(commands)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (never the token) and tell the user something went wrong."""
    log.error("telegram handler failed: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(t(_error_lang(update), "apology"))
        except Exception:  # the apology itself may fail when Telegram is down; the log has the cause
            log.warning("could not tell the user about the failure")


def _error_lang(update: Update) -> str:
    """The user's language for an apology, from Telegram alone (the failure may be the database's)."""
    user = update.effective_user
    return "ar" if user is not None and (user.language_code or "").startswith("ar") else "en"


def make_sender(ctx: Context, *, pool_size: int = DEFAULT_POOL) -> TelegramSender:
    """The outbox sender, with its own connection pool (use `async with`, or call `aclose()`)."""
    return TelegramSender(ctx.settings, pool_size=pool_size)


__all__ = ["TelegramConfigError", "TelegramSender", "build_application", "make_sender", "register"]
