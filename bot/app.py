"""The composition root: the only place that knows every part."""

from __future__ import annotations

from typing import TextIO

from bot.config import Settings
from bot.context import Context
from bot.ingest.catalog import seed_defaults
from bot.runtime.logs import setup_logging
from storage.db import Database


def build_context(settings: Settings | None = None, *, migrate: bool = True, seed: bool = True) -> Context:
    """Open the database, apply migrations, load the default threads and sources on first start."""
    settings = settings or Settings()
    ctx = Context(settings=settings, db=Database(settings.effective_database_url))
    if migrate:
        ctx.db.upgrade()
    if seed:
        seed_defaults(ctx)
    return ctx


def configure_logging(settings: Settings, *, stream: TextIO | None = None, quiet: bool = False) -> None:
    """LOG_LEVEL and LOG_FORMAT on the root logger, every configured secret masked.

    `quiet` (one-shot commands): WARNING unless LOG_LEVEL was set, so progress chatter stays off the terminal.
    """
    level = "WARNING" if quiet and "log_level" not in settings.model_fields_set else settings.log_level
    setup_logging(level=level, fmt=settings.log_format, secrets=_secrets(settings), stream=stream)


def _secrets(settings: Settings) -> list[str]:
    """The secret settings, and the database password, which drivers may echo in errors."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(settings.effective_database_url).password
    except Exception:  # a malformed URL fails later, with its own message
        password = None
    return [*settings.secrets(), *([str(password)] if password else [])]
