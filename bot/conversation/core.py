"""The conversation core: one function per reader or admin action, Request in, Reply out.

Authorization (bot admins, chat administrators), auditing of admin actions (allowed or refused),
the interface language and the questions' rate limit are decided here, once, for every platform.
Database work runs in worker threads, never on the event loop; answers and briefs, which are heavy,
may get an executor of their own (`workers`), so an adapter's acknowledgements are not kept waiting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from bot.briefs.compose import BriefError
from bot.context import Context
from bot.conversation import store
from bot.conversation.model import Block, Reply, Request
from bot.conversation.texts import t
from bot.delivery.subscriptions import SubscriptionError
from bot.ingest.catalog import CatalogError
from bot.ingest.fetch import FetchError
from bot.ingest.pipeline import READ_ERRORS
from bot.qa import Answer, QAError, answer_question

log = logging.getLogger(__name__)

T = TypeVar("T")
# Errors whose message is meant for the person who asked; anything else gets an apology and a log line.
USER_ERRORS: tuple[type[Exception], ...] = (
    CatalogError, SubscriptionError, BriefError, QAError, FetchError, *READ_ERRORS,
)  # fmt: skip

Handler = Callable[["Conversation", Request, str], Awaitable[Reply]]
Check = Callable[["Conversation", Request, str], Awaitable[Reply | None]]
Target = Callable[["Conversation", Request], Awaitable[str]]


async def first_arg(conv: Conversation, req: Request) -> str:
    return req.args[0] if req.args else ""


@dataclass(frozen=True, slots=True)
class Action:
    """A reader or admin action and the rules it is served under."""

    name: str
    run: Handler
    admin: str = ""  # bot admins only; refusals are audited under this action name
    target: Target = first_arg  # what a refusal's audit row names
    check: Check | None = None  # quick validation, answered before any slow work starts
    quick: bool = False  # the whole action is quick (an adapter may answer it in its acknowledgement)
    chat_scoped: bool = False  # changes the chat's subscriptions: in a group, its administrators only
    slow: bool = False  # may take seconds (a brief, an answer): an adapter says it is working on it


ACTIONS: dict[str, Action] = {}
# Button data `kind|…` → the action it continues.
BUTTONS: dict[str, str] = {}


def action(name: str, *, buttons: tuple[str, ...] = (), **rules: Any) -> Callable[[Handler], Handler]:
    """Register `handler` as the action `name` (and as the target of `buttons` kinds)."""

    def register(handler: Handler) -> Handler:
        ACTIONS[name] = Action(name, handler, **rules)
        for kind in buttons:
            BUTTONS[kind] = name
        return handler

    return register


def is_admin(ctx: Context, platform: str, user: str) -> bool:
    """Whether `user` is a bot admin on `platform` (TELEGRAM_ADMIN_IDS, SLACK_ADMIN_IDS)."""
    return user in ctx.settings.admin_ids(platform)


def resolve(req: Request) -> tuple[Action | None, Request]:
    """The action a request asks for: a command, a button's kind, or (plain text) a question."""
    if req.button:
        kind, _, rest = req.button.partition("|")
        name = BUTTONS.get(kind, "")
        return ACTIONS.get(name), replace(req, action=name, text=rest)
    return ACTIONS.get(req.action or "ask"), req


class Conversation:
    """The core for one process: the context, the answerer, and the threads heavy work runs in."""

    def __init__(
        self, ctx: Context, *, answerer: Callable[..., Answer] = answer_question, workers: int | None = None
    ) -> None:
        self.ctx = ctx
        self.answerer = answerer
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    async def db(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Database work in a worker thread: the event loop keeps serving while it waits."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def heavy(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """An answer or a brief: in the core's own threads when it has some, else a worker thread."""
        if self._workers is None:
            return await asyncio.to_thread(function, *args, **kwargs)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="conversation")
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def lang(self, req: Request) -> str:
        """The interface language: the user's choice, else the platform's hint, else English."""
        try:
            chosen = await self.db(store.ui_lang, self.ctx, req.platform, req.user)
        except Exception:  # the database is away: still answer (an apology) in the user's language
            log.warning("could not read the interface language of %s", req.actor, exc_info=True)
            chosen = None
        return chosen or ("ar" if req.language.lower().startswith("ar") else "en")

    async def check(self, req: Request) -> Reply | None:
        """A refusal or a usage hint, decided quickly; None when the action should run."""
        found, req = resolve(req)
        lang = await self.lang(req)
        if found is None and req.button:  # a button from an older release, or forged
            return text(lang, t(lang, "expired"))
        if found is None:
            return text(
                lang,
                t(lang, "unknown", word=req.action.lstrip("?")[:50], help=req.syntax.get("help", "help")),
            )
        if found.admin and not req.is_admin:
            # Audited before the refusal is shown: once the user sees it, the record exists.
            target = await found.target(self, req)
            await self.db(store.audit, self.ctx, req.actor, found.admin, target, allowed=False,
                          reason="not an admin")  # fmt: skip
            return text(lang, t(lang, "admins_only"))
        if found.chat_scoped and not req.chat_admin:
            reply = text(lang, t(lang, "group_admins_only"))
            reply.alert = bool(req.button)
            return reply
        return await found.check(self, req, lang) if found.check else None

    async def run(self, req: Request) -> Reply:
        """The action itself (after `check` let it through)."""
        found, req = resolve(req)
        assert found is not None
        lang = await self.lang(req)
        try:
            return await found.run(self, req, lang)
        except USER_ERRORS as error:
            return text(lang, t(lang, "failed", reason=str(error)[:300]))
        except Exception:
            log.exception("%s failed for %s", found.name, req.actor)
            return text(lang, t(lang, "apology"))

    async def handle(self, req: Request) -> Reply:
        """Check, then run: the whole action."""
        try:
            early = await self.check(req)
        except Exception:
            log.exception("checking a request of %s failed", req.actor)
            return text(await self.lang(req), t(await self.lang(req), "apology"))
        return early or await self.run(req)

    async def posted(self, req: Request, reply: Reply, message: str) -> None:
        """The adapter posted `reply` as `message`: a reply to it continues its conversation."""
        if reply.conversation:
            await self.db(
                store.remember_answer, self.ctx, req.platform, req.chat, message, reply.conversation
            )


def text(lang: str, *lines: str, title: str = "") -> Reply:
    """A reply of interface text: an optional title, then lines."""
    blocks = [Block(title, "title")] if title else []
    return Reply(lang, blocks=[*blocks, Block("\n".join(lines))] if lines else blocks)
