"""Notices the admins of every platform get once: today's LLM token budget is spent; a source paused itself.

"Once" holds across processes and restarts: before sending, each (notice, admin) key is claimed by
inserting it into admin_notices, and a second insert of the same key fails, so of two processes that
notice the same thing only one sends. A send that failed for a passing reason (a 429, a 5xx, the
network) gives its claim back and is tried again on the next tick; a refusal (the admin blocked the bot,
an unknown id) keeps it, so a dead address is not retried all day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.context import BudgetStatus, Context
from bot.conversation.texts import t
from bot.delivery.base import DeliveryError, RetryAfter, Sender, TransientError
from storage.db import Database
from storage.models import AdminNotice, Source

log = logging.getLogger(__name__)


def claim(db: Database, key: str, now: datetime) -> bool:
    """Take `key` for this process; False when it was already taken (the notice went out)."""
    try:
        with db.session() as session:
            session.add(AdminNotice(key=key, at=now))
    except IntegrityError:
        return False
    return True


def release(db: Database, key: str) -> None:
    """Give a claim back so the notice is tried again."""
    with db.session() as session:
        session.execute(delete(AdminNotice).where(AdminNotice.key == key))


def budget_text(status: BudgetStatus) -> str:
    return t("en", "notice_budget", used=f"{status.used:,}", budget=f"{status.budget:,}")


async def notify_budget(ctx: Context, senders: Sequence[Sender]) -> int:
    """Tell every admin, once per UTC day, that the token budget is spent; returns the messages sent."""
    status = await asyncio.to_thread(ctx.token_budget)
    if status is None or not status.spent:
        return 0
    text = budget_text(status)
    day = status.day.date().isoformat()
    sent = 0
    for sender in senders:
        for admin in ctx.settings.admin_ids(sender.platform):
            key = f"budget:{day}:{sender.platform}:{admin}"
            if await _send_once(ctx, sender, admin, key, sender.notice(text)):
                sent += 1
    return sent


async def _send_once(ctx: Context, sender: Sender, admin: str, key: str, part: Any) -> bool:
    if not await asyncio.to_thread(claim, ctx.db, key, ctx.now()):
        return False
    try:
        await sender.send(admin, part)
    except (RetryAfter, TransientError) as error:
        await asyncio.to_thread(release, ctx.db, key)
        log.info("notice %s not sent yet, will retry: %s", key, error)
        return False
    except (DeliveryError, ValueError) as error:  # a refusal, or an id that is not a chat id
        log.warning("notice %s could not be sent to %s admin %s: %s", key, sender.platform, admin, error)
        return False
    return True


def newly_paused(ctx: Context) -> list[tuple[int, str, str]]:
    """Sources that paused themselves after repeated failures and were not reported yet, marked reported."""
    with ctx.db.session() as session:
        rows = session.scalars(
            select(Source).where(Source.paused.is_(True), Source.pause_reported.is_(False))
        ).all()
        news = [
            (s.id, s.name or s.location, s.paused_reason or "")
            for s in rows
            if s.paused_reason != "paused by an admin"
        ]
        for row in rows:
            row.pause_reported = True
    return news


async def notify_paused_sources(ctx: Context, senders: Sequence[Sender]) -> int:
    """Tell every admin of every platform, once, about each source that paused itself; how many sources."""
    news = await asyncio.to_thread(newly_paused, ctx)
    for source_id, name, reason in news:
        text = t("en", "notice_paused", id=source_id, name=name, reason=reason)
        for sender in senders:
            for admin in ctx.settings.admin_ids(sender.platform):
                key = f"paused:{source_id}:{ctx.now().isoformat()}:{sender.platform}:{admin}"
                await _send_once(ctx, sender, admin, key, sender.notice(text))
    return len(news)
