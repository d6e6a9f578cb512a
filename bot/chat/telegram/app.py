"""The python-telegram-bot Application: handlers wired, pointed at TELEGRAM_BASE_URL, one error handler.

Replies to users go out through PTB, whose rate limiter hook (bot/chat/telegram/limiter.py) spends the
bot's budget in the reply lane and outlasts 429s, 5xx and dropped connections; briefs go through the
outbox, whose worker draws from the same budget (bot/delivery/budget.py) and handles its own failures.
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
from bot.chat.telegram.limiter import ReplyLimiter, transient
from bot.chat.telegram.sender import DEFAULT_POOL, TelegramSender
from bot.context import Context
from bot.conversation import BUTTONS, Conversation, t
from bot.delivery.budget import Budget, local_budget
from bot.delivery.replies import Sleep
from bot.delivery.worker import Limits

log = logging.getLogger(__name__)

MENU = ("start", "help", "subscribe", "settings", "unsubscribe", "brief", "ask", "sources")


class TelegramConfigError(Exception):
    """Telegram is not configured (no token)."""


def build_application(
    ctx: Context, *, polling: bool = True, budget: Budget | None = None, sleep: Sleep | None = None
) -> Application:
    """The Application for our settings; without an updater in webhook mode (our web server feeds it).

    `budget` is the bot's sending budget, shared with the outbox worker (a budget of its own if not
    given); `sleep` is how the reply retries wait (tests pass a fake clock's)."""
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
        .rate_limiter(ReplyLimiter(budget or default_budget(ctx), metrics=ctx.metrics, sleep=sleep))
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["conversation"] = Conversation(ctx)
    register(application)
    return application


def default_budget(ctx: Context) -> Budget:
    """A budget for this process alone, at TELEGRAM_RATE_LIMIT."""
    return local_budget(Limits(rate=ctx.settings.telegram_rate_limit))


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
    if context.error is not None and transient(context.error):
        # Telegram stayed unreachable through the call's retries, whose ERROR says why; an apology
        # would fail the same way.
        log.warning("telegram handler stopped: Telegram unreachable: %s", context.error)
        return
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
