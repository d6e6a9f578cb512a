"""What the Slack listeners share, and the small database reads and writes they need.

The database helpers are plain functions run in a worker thread (`asyncio.to_thread`), so the event
loop keeps acknowledging Slack while they wait for SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.chat.slack.sender import Poster, SlackSender
from bot.context import Context
from bot.qa import Answer, answer_question
from storage import queries
from storage.models import ChatUser, Delivery, LLMCallLog, ProcessedEvent, QALog, Subscription, Thread

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Few answer threads: answers are CPU-bound under the GIL, and every extra runnable thread delays the
# event loop's acknowledgements (measured: one thread gave both lower ack latency and more answers/s).
ANSWER_WORKERS = 1

T = TypeVar("T")


class Background:
    """The work started after an acknowledgement, tracked so it is not lost and can be awaited."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the current acknowledgement; its failure is logged, never raised."""
        task = asyncio.get_running_loop().create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> int:
        """How many pieces of work are still running."""
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the running work (and what it starts) to finish, up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def cancel(self) -> None:
        """Cancel whatever is still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("Slack background work failed")


@dataclass
class Services:
    """The context and the Slack side's shared parts, handed to every listener."""

    ctx: Context
    sender: SlackSender
    poster: Poster
    admins: frozenset[str]
    answerer: Callable[..., Answer] = answer_question
    answer_workers: int = ANSWER_WORKERS
    background: Background = field(default_factory=Background)
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking answer work in the answer threads, so the event loop keeps acknowledging."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.answer_workers, thread_name_prefix="slack-answer")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    def close(self) -> None:
        """Let the answer threads go once their work is done."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` is in SLACK_ADMIN_IDS."""
        return user_id in self.admins


def actor(user_id: str) -> str:
    """The audit log's name for a Slack user."""
    return f"{PLATFORM}:{user_id}"


def active_threads(ctx: Context) -> list[str]:
    """The ids of the active threads, in order."""
    with ctx.db.session() as session:
        return list(session.scalars(select(Thread.id).where(Thread.active.is_(True)).order_by(Thread.id)))


def first_time(ctx: Context, key: str) -> bool:
    """Record a platform event id; False when it was already handled (Slack retried it)."""
    try:
        with ctx.db.session() as session:
            session.add(ProcessedEvent(key=key, at=ctx.now()))
            session.flush()
    except IntegrityError:
        return False
    return True


def has_conversation(ctx: Context, conversation_id: str) -> bool:
    """Whether the bot has answered in this conversation (so a new message there is a follow-up)."""
    with ctx.db.session() as session:
        found = session.scalar(select(QALog.id).where(QALog.conversation_id == conversation_id).limit(1))
    return found is not None


def ui_lang(ctx: Context, user_id: str) -> str | None:
    """The user's chosen interface language, when known."""
    with ctx.db.session() as session:
        row = session.get(ChatUser, (PLATFORM, user_id))
        return row.ui_lang if row else None


def set_ui_lang(ctx: Context, user_id: str, lang: str) -> None:
    """Remember the user's interface language."""
    with ctx.db.session() as session:
        row = session.get(ChatUser, (PLATFORM, user_id))
        if row is None:
            session.add(ChatUser(platform=PLATFORM, user_id=user_id, ui_lang=lang))
        else:
            row.ui_lang = lang


def set_feedback(ctx: Context, log_id: int, value: int, *, user: str) -> bool:
    """Store 👍 (+1) or 👎 (-1) on the answer's QA log row; False when there is no such row."""
    with ctx.db.session() as session:
        row = session.get(QALog, log_id)
        if row is None:
            return False
        row.feedback = value
        log.info("feedback %+d on answer %d from %s", value, log_id, user)
        return True


def refuse(ctx: Context, user_id: str, action: str, target: str = "") -> None:
    """Audit an admin action attempted by someone who is not an admin."""
    with ctx.db.session() as session:
        queries.audit(session, actor=actor(user_id), action=action, target=target, allowed=False)


def allowed(ctx: Context, user_id: str, action: str, target: str = "") -> None:
    """Audit an admin action that bot.catalog does not audit itself (it changes no catalogue row)."""
    with ctx.db.session() as session:
        queries.audit(session, actor=actor(user_id), action=action, target=target)


def stats(ctx: Context) -> dict[str, int]:
    """Subscribers, deliveries, LLM calls and tokens today, questions today."""
    start = datetime.combine(ctx.now().date(), time(0), tzinfo=ctx.now().tzinfo)
    with ctx.db.session() as session:
        subs = dict(
            session.execute(
                select(Subscription.platform, func.count())
                .where(Subscription.active.is_(True))
                .group_by(Subscription.platform)
            ).all()
        )
        deliveries = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        calls, tokens = session.execute(
            select(
                func.count(LLMCallLog.id),
                func.coalesce(func.sum(LLMCallLog.prompt_tokens + LLMCallLog.completion_tokens), 0),
            ).where(LLMCallLog.at >= start)
        ).one()
        questions = session.scalar(select(func.count(QALog.id)).where(QALog.at >= start)) or 0
    return {
        "subscriptions": sum(int(n) for n in subs.values()),
        "slack": int(subs.get("slack", 0)),
        "telegram": int(subs.get("telegram", 0)),
        "sent": int(deliveries.get("sent", 0)),
        "failed": int(deliveries.get("failed", 0)),
        "pending": int(deliveries.get("pending", 0)) + int(deliveries.get("sending", 0)),
        "calls": int(calls),
        "tokens": int(tokens),
        "questions": int(questions),
    }
