"""The conversation core's reads and writes: plain synchronous functions, run off the event loop.

Everything an adapter used to ask the database itself lives here: the interface language, the audit
log, pending source previews, which message belongs to which conversation, retried events, feedback
and the figures of `stats`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.context import Context
from bot.delivery import outbox, subscriptions
from bot.ingest import catalog
from storage import queries
from storage.models import ChatUser, LLMCallLog, ProcessedEvent, QALog, Setting, Subscription

log = logging.getLogger(__name__)

PENDING_TTL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ThreadName:
    id: str
    en: str
    ar: str

    def name(self, lang: str) -> str:
        return self.ar if lang == "ar" else self.en


def threads(ctx: Context) -> list[ThreadName]:
    """The active threads, in order."""
    with ctx.db.session() as session:
        return [ThreadName(row.id, row.name_en, row.name_ar) for row in queries.active_threads(session)]


def ui_lang(ctx: Context, platform: str, user: str) -> str | None:
    """The interface language the user chose, when they chose one."""
    with ctx.db.session() as session:
        row = session.get(ChatUser, (platform, user))
        return row.ui_lang if row else None


def set_ui_lang(ctx: Context, platform: str, user: str, lang: str) -> None:
    with ctx.db.session() as session:
        row = session.get(ChatUser, (platform, user))
        if row is None:
            session.add(ChatUser(platform=platform, user_id=user, ui_lang=lang))
        else:
            row.ui_lang = lang


def audit(
    ctx: Context, actor: str, action: str, target: str, *, allowed: bool = True, **details: Any
) -> None:
    """Record an admin action (bot.ingest.catalog audits the changes it makes itself)."""
    with ctx.db.session() as session:
        queries.audit(
            session, actor=actor, action=action, target=target[:500], allowed=allowed, details=details
        )


# ---------------------------------------------------------------- source previews waiting for a confirmation


def pending_key(token: str) -> str:
    return f"source-add:{token}"


def save_pending(ctx: Context, token: str, pending: dict[str, Any]) -> None:
    with ctx.db.session() as session:
        session.merge(Setting(key=pending_key(token), value={**pending, "at": ctx.now().isoformat()}))


def pending_location(ctx: Context, token: str) -> str:
    """What a preview's button would add (the token when the preview is gone), for the audit log."""
    with ctx.db.session() as session:
        row = session.get(Setting, pending_key(token))
        return str(row.value.get("location", token)) if row is not None else token


def take_pending(ctx: Context, token: str) -> dict[str, Any] | None:
    """The preview under `token`, removed; None when it is gone or older than an hour."""
    with ctx.db.session() as session:
        row = session.get(Setting, pending_key(token))
        if row is None:
            return None
        pending = dict(row.value)
        session.delete(row)
    return pending if datetime.fromisoformat(pending["at"]) >= ctx.now() - PENDING_TTL else None


def add_source(ctx: Context, pending: dict[str, Any], actor: str) -> tuple[int, str]:
    with ctx.db.session() as session:
        source = catalog.add_source(
            session, location=pending["location"], kind=pending["kind"], actor=actor,
            threads=pending["threads"], name=pending.get("title", ""), max_sources=ctx.settings.max_sources,
        )  # fmt: skip
        return source.id, source.location


def change_source(ctx: Context, verb: str, ref: str, actor: str) -> int:
    """Remove, pause or resume a source (bot.ingest.catalog audits it); its id."""
    with ctx.db.session() as session:
        if verb == "remove":
            return catalog.remove_source(session, ref, actor=actor).id
        return catalog.set_paused(session, ref, paused=verb == "pause", actor=actor).id


def source_health(ctx: Context) -> list[catalog.SourceHealth]:
    with ctx.db.session() as session:
        return catalog.source_health(session)


# ---------------------------------------------------------------- subscriptions


def subscribe(ctx: Context, platform: str, chat: str, choice: dict[str, str], actor: str) -> list[Any]:
    with ctx.db.session() as session:
        return [
            (row.thread_id, row.lang, row.deliver_at, row.timezone, row.next_due_at)
            for row in subscriptions.subscribe(
                session, platform=platform, chat_id=chat, thread_id=choice["thread"], lang=choice["lang"],
                deliver_at=choice["time"], timezone=choice["zone"], now=ctx.now(), created_by=actor,
            )
        ]  # fmt: skip


def unsubscribe(ctx: Context, platform: str, chat: str, thread: str | None, subscription: int | None) -> int:
    with ctx.db.session() as session:
        return subscriptions.unsubscribe(
            session, platform=platform, chat_id=chat, thread_id=thread, subscription_id=subscription
        )


def change_settings(ctx: Context, platform: str, chat: str, args: str) -> tuple[str, int, list[dict[str, Any]]]:
    """Apply one `/settings ARGS` to this chat's subscriptions: the setting, how many changed, and each
    subscription's settings after it (cadence, alerts, quiet hours, filters, language, time, zone)."""
    from bot.reader.chat_settings import change_setting, describe

    s = ctx.settings
    with ctx.db.session() as session:
        applied = change_setting(session, args, platform=platform, chat_id=chat, now=ctx.now(),
                                 max_words=s.filter_max_words, max_terms=s.filter_max_terms)  # fmt: skip
        rows = session.scalars(
            select(Subscription).where(Subscription.platform == platform, Subscription.chat_id == chat)
            .order_by(Subscription.id)
        ).all()  # fmt: skip
        return applied.setting, len(applied.changed), [describe(row) for row in rows]


def chat_subscriptions(ctx: Context, platform: str, chat: str) -> list[subscriptions.SubscriptionView]:
    with ctx.db.session() as session:
        return subscriptions.list_subscriptions(session, platform=platform, chat_id=chat)


# ---------------------------------------------------------------- conversations


def answer_key(platform: str, chat: str, message: str) -> str:
    return f"conversation:{platform}:{chat}:{message}"


def remember_answer(ctx: Context, platform: str, chat: str, message: str, conversation: str) -> None:
    """File a posted answer under its conversation, so a reply to it is a follow-up."""
    with ctx.db.session() as session:
        session.merge(Setting(key=answer_key(platform, chat, message), value={"conversation": conversation}))


def conversation_of(ctx: Context, platform: str, chat: str, message: str) -> str | None:
    with ctx.db.session() as session:
        row = session.get(Setting, answer_key(platform, chat, message))
        return str(row.value["conversation"]) if row is not None else None


def has_conversation(ctx: Context, conversation: str) -> bool:
    """Whether the bot has answered in this conversation."""
    with ctx.db.session() as session:
        found = session.scalar(select(QALog.id).where(QALog.conversation_id == conversation).limit(1))
    return found is not None


def first_time(ctx: Context, key: str) -> bool:
    """Record a platform event id; False when it was handled already (the platform retried it)."""
    try:
        with ctx.db.session() as session:
            session.add(ProcessedEvent(key=key, at=ctx.now()))
            session.flush()
    except IntegrityError:
        return False
    return True


def set_feedback(ctx: Context, log_id: int, value: int, actor: str) -> bool:
    """👍 (+1) or 👎 (-1) on an answer's QA log row; False when there is no such row."""
    with ctx.db.session() as session:
        row = session.get(QALog, log_id)
        if row is None:
            return False
        row.feedback = value
    log.info("feedback %+d on answer %d from %s", value, log_id, actor)
    return True


# ---------------------------------------------------------------- stats


def stats(ctx: Context) -> dict[str, int]:
    """Subscriptions by platform, deliveries by outcome, LLM calls and tokens and questions today (UTC)."""
    midnight = ctx.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with ctx.db.session() as session:
        active = Subscription.active.is_(True)
        by_platform = dict(
            session.execute(select(Subscription.platform, func.count()).where(active).group_by(Subscription.platform)).all()
        )  # fmt: skip
        chats = session.scalar(select(func.count(func.distinct(Subscription.chat_id))).where(active)) or 0
        counts = outbox.counts(session)
        calls, tokens = session.execute(
            select(
                func.count(LLMCallLog.id),
                func.coalesce(func.sum(LLMCallLog.prompt_tokens + LLMCallLog.completion_tokens), 0),
            ).where(LLMCallLog.at >= midnight)
        ).one()
        questions = session.scalar(select(func.count(QALog.id)).where(QALog.at >= midnight)) or 0
    return {
        "subscriptions": sum(int(n) for n in by_platform.values()), "chats": int(chats),
        "slack": int(by_platform.get("slack", 0)), "telegram": int(by_platform.get("telegram", 0)),
        "sent": counts.get("sent", 0), "failed": counts.get("failed", 0),
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "calls": int(calls), "tokens": int(tokens), "questions": int(questions),
    }  # fmt: skip
