"""Telegram handlers: short async functions that parse, call a use case and reply.

The use cases (subscriptions, briefs, questions, the catalogue) are synchronous and may call a model,
so they run in a worker thread. Every choice offers inline buttons, and every command also takes its
arguments as text. Callback data is short: `kind|field|field…` within Telegram's 64 bytes.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import catalog
from bot.briefing import build_brief
from bot.briefs import BriefError
from bot.chat.telegram.render import esc, render_answer, render_brief
from bot.chat.telegram.texts import LANG_NAMES, t
from bot.context import Context
from bot.delivery import outbox
from bot.qa.model import QAError
from bot.qa.service import answer_question
from bot.subscriptions import COMMON_ZONES, SubscriptionError, list_subscriptions, parse_hhmm, parse_zone
from bot.subscriptions import subscribe as subscribe_chat
from bot.subscriptions import unsubscribe as unsubscribe_chat
from storage import queries
from storage.models import ChatUser, LLMCallLog, Setting, Subscription

log = logging.getLogger(__name__)

PLATFORM = "telegram"
TIMES = ("06:00", "07:00", "08:00", "09:00", "12:00", "18:00")
BRIEF_SPAN = timedelta(days=1)
PENDING_TTL = timedelta(hours=1)
T = TypeVar("T")
Ctx = ContextTypes.DEFAULT_TYPE
USER_ERRORS = (SubscriptionError, catalog.CatalogError, BriefError, QAError)


# ---------------------------------------------------------------------------- plumbing


def app_ctx(context: Ctx) -> Context:
    """Our Context, stored in bot_data by the Application builder."""
    ctx: Context = context.application.bot_data["ctx"]
    return ctx


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A synchronous use case off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def ui_lang(ctx: Context, update: Update) -> str:
    """The user's interface language: chosen at /start, else from their Telegram language."""
    user = update.effective_user
    if user is None:
        return "en"
    with ctx.db.session() as session:
        row = session.get(ChatUser, (PLATFORM, str(user.id)))
        if row is not None:
            return row.ui_lang
    return "ar" if (user.language_code or "").startswith("ar") else "en"


def set_ui_lang(ctx: Context, user_id: int, lang: str) -> None:
    with ctx.db.session() as session:
        row = session.get(ChatUser, (PLATFORM, str(user_id)))
        if row is None:
            session.add(ChatUser(platform=PLATFORM, user_id=str(user_id), ui_lang=lang))
        else:
            row.ui_lang = lang


def is_admin(ctx: Context, update: Update) -> bool:
    user = update.effective_user
    return user is not None and str(user.id) in ctx.settings.telegram_admin_ids


def actor(update: Update) -> str:
    user = update.effective_user
    return f"telegram:{user.id if user else 'unknown'}"


async def reply(update: Update, text: str, *, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Answer in the same chat, as HTML."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_html(
        text, reply_markup=markup, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


async def reply_parts(update: Update, parts: Sequence[str]) -> Message | None:
    """Several pre-rendered messages in order; the last one sent."""
    last = None
    for part in parts:
        last = await reply(update, part)
    return last


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def may_change_chat(update: Update, context: Ctx) -> bool:
    """In a group only its administrators change its subscriptions; in a private chat, its user."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def threads(ctx: Context) -> list[tuple[str, str, str]]:
    """(id, English name, Arabic name) of the active threads."""
    with ctx.db.session() as session:
        return [(row.id, row.name_en, row.name_ar) for row in queries.active_threads(session)]


def thread_name(ctx: Context, thread_id: str, lang: str) -> str:
    for tid, en, ar in threads(ctx):
        if tid == thread_id:
            return ar if lang == "ar" else en
    return thread_id


# ---------------------------------------------------------------------------- reader commands


async def start(update: Update, context: Ctx) -> None:
    """/start: what the bot does, and the language buttons."""
    lang = ui_lang(app_ctx(context), update)
    await reply(
        update, t(lang, "welcome"), markup=keyboard([[("العربية", "lang|ar"), ("English", "lang|en")]])
    )


async def choose_lang(update: Update, context: Ctx) -> None:
    """A language button: remember it and show the help in that language."""
    query, ctx = update.callback_query, app_ctx(context)
    assert query is not None and query.data is not None and update.effective_user is not None
    lang = query.data.split("|")[1]
    await run(set_ui_lang, ctx, update.effective_user.id, lang)
    await query.answer()
    await query.edit_message_text(
        t(lang, "lang_set") + "\n\n" + help_text(ctx, update, lang), parse_mode=ParseMode.HTML
    )


def help_text(ctx: Context, update: Update, lang: str) -> str:
    text = t(lang, "help")
    return text + "\n\n" + t(lang, "help_admin") if is_admin(ctx, update) else text


async def help_command(update: Update, context: Ctx) -> None:
    """/help: the commands."""
    ctx = app_ctx(context)
    await reply(update, help_text(ctx, update, ui_lang(ctx, update)))


def parse_subscribe_args(args: Sequence[str], known: Sequence[str]) -> dict[str, str]:
    """Thread, language, time and zone from free-form arguments, in any order."""
    found: dict[str, str] = {}
    rest: list[str] = []
    for arg in args:
        if arg in known and "thread" not in found:
            found["thread"] = arg
        elif arg.lower() in ("ar", "en", "both") and "lang" not in found:
            found["lang"] = arg.lower()
        elif ":" in arg and "time" not in found and arg.replace(":", "").isdigit():
            found["time"] = parse_hhmm(arg)
        else:
            rest.append(arg)
    if rest:
        found["zone"] = parse_zone(" ".join(rest))
    return found


async def subscribe(update: Update, context: Ctx) -> None:
    """/subscribe [thread] [ar|en|both] [HH:MM] [zone]: buttons for whatever is left out."""
    ctx = app_ctx(context)
    lang = ui_lang(ctx, update)
    if not await may_change_chat(update, context):
        await reply(update, t(lang, "group_admins_only"))
        return
    known = [tid for tid, _, _ in threads(ctx)]
    try:
        choice = parse_subscribe_args(context.args or [], known)
    except SubscriptionError as error:
        await reply(update, esc(error))
        return
    await continue_subscribe(update, context, choice)


async def continue_subscribe(update: Update, context: Ctx, choice: dict[str, str]) -> None:
    """Ask for the next missing piece, or subscribe when everything is known."""
    ctx = app_ctx(context)
    lang = ui_lang(ctx, update)
    base = "|".join(["s", choice.get("thread", ""), choice.get("lang", ""), choice.get("time", "")])
    if "thread" not in choice:
        rows = [[(ar if lang == "ar" else en, f"s|{tid}||")] for tid, en, ar in threads(ctx)]
        await ask_choice(update, t(lang, "no_threads") if not rows else t(lang, "pick_thread"), rows)
    elif "lang" not in choice:
        names = LANG_NAMES[lang]
        rows = [[(names[code], f"s|{choice['thread']}|{code}|") for code in ("ar", "en", "both")]]
        await ask_choice(update, t(lang, "pick_lang"), rows)
    elif "time" not in choice:
        rows = [
            [(hhmm, f"{base}{hhmm}") for hhmm in TIMES[:3]],
            [(hhmm, f"{base}{hhmm}") for hhmm in TIMES[3:]],
        ]
        await ask_choice(update, t(lang, "pick_time", thread=choice["thread"], lang=choice["lang"]), rows)
    elif "zone" not in choice:
        rows = [[(city, f"{base}|{zone}")] for city, zone in COMMON_ZONES.items()]
        text = t(lang, "pick_zone", thread=choice["thread"], lang=choice["lang"], time=choice["time"])
        await ask_choice(update, text, rows)
    else:
        await finish_subscribe(update, context, choice)


async def ask_choice(update: Update, text: str, rows: list[list[tuple[str, str]]]) -> None:
    """Show a choice: edit the message with the buttons just pressed, or send a new one."""
    query = update.callback_query
    if query is not None:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rows))
    else:
        await reply(update, text, markup=keyboard(rows))


async def finish_subscribe(update: Update, context: Ctx, choice: dict[str, str]) -> None:
    ctx, chat, user = app_ctx(context), update.effective_chat, update.effective_user
    assert chat is not None
    lang = ui_lang(ctx, update)

    def save() -> datetime | None:
        with ctx.db.session() as session:
            rows = subscribe_chat(
                session, platform=PLATFORM, chat_id=str(chat.id), thread_id=choice["thread"], lang=choice["lang"],
                deliver_at=choice["time"], timezone=choice["zone"], now=ctx.now(), created_by=str(user.id if user else ""),
            )  # fmt: skip
            return rows[0].next_due_at

    try:
        due = await run(save)
    except SubscriptionError as error:
        await reply(update, esc(error))
        return
    text = t(
        lang, "subscribed", thread=esc(thread_name(ctx, choice["thread"], lang)), lang=LANG_NAMES[lang][choice["lang"]],
        time=choice["time"], zone=esc(choice["zone"]), next=due.strftime("%Y-%m-%d %H:%M UTC") if due else "?",
    )  # fmt: skip
    query = update.callback_query
    if query is not None:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)
    else:
        await reply(update, text)


async def subscribe_button(update: Update, context: Ctx) -> None:
    """A /subscribe button: `s|thread|lang|time[|zone]`."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await may_change_chat(update, context):
        await query.answer(t(ui_lang(app_ctx(context), update), "group_admins_only"), show_alert=True)
        return
    await query.answer()
    fields = query.data.split("|")[1:]
    names = ("thread", "lang", "time", "zone")
    await continue_subscribe(update, context, {k: v for k, v in zip(names, fields, strict=False) if v})


async def settings_command(update: Update, context: Ctx) -> None:
    """/settings: this chat's subscriptions, with buttons to end them, and the interface language."""
    ctx, chat = app_ctx(context), update.effective_chat
    assert chat is not None
    lang = ui_lang(ctx, update)
    with ctx.db.session() as session:
        subs = list_subscriptions(session, platform=PLATFORM, chat_id=str(chat.id))
    lines = [t(lang, "subscriptions")] if subs else [t(lang, "no_subscriptions")]
    lines += [
        f"#{s.id} {esc(thread_name(ctx, s.thread_id, lang))} ({s.lang}) {s.deliver_at} {esc(s.timezone)}"
        for s in subs
    ]
    rows = [[(f"✖ #{s.id} {s.thread_id} {s.lang}", f"u|{s.id}")] for s in subs]
    rows.append([("العربية", "lang|ar"), ("English", "lang|en")])
    await reply(update, "\n".join([*lines, "", t(lang, "settings_lang")]), markup=keyboard(rows))


async def unsubscribe(update: Update, context: Ctx) -> None:
    """/unsubscribe [thread|all]: end subscriptions; buttons when nothing is named."""
    ctx, chat = app_ctx(context), update.effective_chat
    assert chat is not None
    lang = ui_lang(ctx, update)
    if not await may_change_chat(update, context):
        await reply(update, t(lang, "group_admins_only"))
        return
    args = context.args or []
    if args:
        thread_id = None if args[0].lower() == "all" else args[0]
        n = await run(_unsubscribe, ctx, chat.id, thread_id, None)
        await reply(update, t(lang, "unsubscribed", n=n))
        return
    with ctx.db.session() as session:
        subs = list_subscriptions(session, platform=PLATFORM, chat_id=str(chat.id))
    if not subs:
        await reply(update, t(lang, "no_subscriptions"))
        return
    rows = [[(f"#{s.id} {s.thread_id} {s.lang} {s.deliver_at}", f"u|{s.id}")] for s in subs]
    rows.append([(t(lang, "all"), "u|all")])
    await reply(update, t(lang, "pick_unsubscribe"), markup=keyboard(rows))


def _unsubscribe(ctx: Context, chat_id: int, thread_id: str | None, subscription_id: int | None) -> int:
    with ctx.db.session() as session:
        return unsubscribe_chat(
            session,
            platform=PLATFORM,
            chat_id=str(chat_id),
            thread_id=thread_id,
            subscription_id=subscription_id,
        )


async def unsubscribe_button(update: Update, context: Ctx) -> None:
    """An /unsubscribe or /settings button: `u|ID` or `u|all`."""
    query, ctx, chat = update.callback_query, app_ctx(context), update.effective_chat
    assert query is not None and query.data is not None and chat is not None
    lang = ui_lang(ctx, update)
    if not await may_change_chat(update, context):
        await query.answer(t(lang, "group_admins_only"), show_alert=True)
        return
    await query.answer()
    target = query.data.split("|")[1]
    n = await run(_unsubscribe, ctx, chat.id, None, None if target == "all" else int(target))
    await query.edit_message_text(t(lang, "unsubscribed", n=n), parse_mode=ParseMode.HTML)


async def brief(update: Update, context: Ctx) -> None:
    """/brief [thread]: the latest brief now, in the reader's language."""
    ctx = app_ctx(context)
    lang = ui_lang(ctx, update)
    known = threads(ctx)
    args = context.args or []
    thread_id = args[0] if args else (known[0][0] if len(known) == 1 else None)
    if thread_id is None:
        rows = [[(ar if lang == "ar" else en, f"b|{tid}")] for tid, en, ar in known]
        await reply(
            update,
            t(lang, "pick_thread") if rows else t(lang, "no_threads"),
            markup=keyboard(rows) if rows else None,
        )
        return
    await send_brief(update, ctx, thread_id, lang)


async def brief_button(update: Update, context: Ctx) -> None:
    """A /brief thread button: `b|thread`."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    ctx = app_ctx(context)
    await send_brief(update, ctx, query.data.split("|")[1], ui_lang(ctx, update))


async def send_brief(update: Update, ctx: Context, thread_id: str, lang: str) -> None:
    try:
        built = await run(build_brief, ctx, thread_id=thread_id, lang=lang, since=ctx.now() - BRIEF_SPAN)
    except BriefError as error:
        await reply(update, esc(error))
        return
    await reply_parts(update, render_brief(built.payload))


# ---------------------------------------------------------------------------- questions


def conversation_key(chat_id: int, message_id: int) -> str:
    return f"tg-conversation:{chat_id}:{message_id}"


def conversation_of(ctx: Context, message: Message) -> str:
    """A reply to one of our answers continues its conversation; anything else starts one."""
    replied = message.reply_to_message
    if replied is not None:
        with ctx.db.session() as session:
            row = session.get(Setting, conversation_key(message.chat_id, replied.message_id))
            if row is not None:
                return str(row.value["conversation"])
    return f"telegram:{message.chat_id}:{message.message_id}"


def remember_answer(ctx: Context, chat_id: int, message_id: int, conversation: str) -> None:
    with ctx.db.session() as session:
        session.merge(
            Setting(key=conversation_key(chat_id, message_id), value={"conversation": conversation})
        )


async def answer(update: Update, context: Ctx, question: str) -> None:
    """Answer with the questions engine, citations linked; remember the answer for follow-ups."""
    ctx, message = app_ctx(context), update.effective_message
    assert message is not None
    conversation = await run(conversation_of, ctx, message)
    try:
        result = await run(answer_question, ctx, question, conversation_id=conversation, user=actor(update))
    except QAError as error:
        await reply(update, esc(error))
        return
    sent = await reply_parts(update, render_answer(result))
    if sent is not None:
        await run(remember_answer, ctx, sent.chat_id, sent.message_id, conversation)


async def ask(update: Update, context: Ctx) -> None:
    """/ask QUESTION, in any chat."""
    ctx = app_ctx(context)
    question = " ".join(context.args or [])
    if not question.strip():
        await reply(update, t(ui_lang(ctx, update), "ask_usage"))
        return
    await answer(update, context, question)


async def plain_text(update: Update, context: Ctx) -> None:
    """Plain text in a private chat is a question (a reply to an answer is a follow-up)."""
    message = update.effective_message
    if message is not None and message.text:
        await answer(update, context, message.text)


# ---------------------------------------------------------------------------- sources and admin


async def sources(update: Update, context: Ctx) -> None:
    """/sources: the sources followed; admins also see their health."""
    ctx = app_ctx(context)
    lang, admin = ui_lang(ctx, update), is_admin(ctx, update)
    with ctx.db.session() as session:
        health = catalog.source_health(session)
    if not health:
        await reply(update, t(lang, "no_sources"))
        return
    lines = [t(lang, "sources")]
    for s in health:
        line = f"#{s.id} {esc(s.name or s.location)} ({s.kind}){' ⏸' if s.paused else ''}"
        if admin:
            line += (
                f"\n   ✓ {s.last_success_at or '—'} · ✗ {s.error_count} {esc(s.last_error or '')}".rstrip()
            )
        lines.append(line)
    await reply_parts(update, render_lines_html(lines, lang))


def render_lines_html(lines: list[str], lang: str) -> list[str]:
    from bot.chat.telegram.render import render_lines

    return render_lines(lines, lang)


async def refuse(update: Update, ctx: Context, action: str, target: str) -> None:
    """A non-admin tried an admin command: refuse clearly, change nothing, audit the attempt."""

    def record() -> None:
        with ctx.db.session() as session:
            queries.audit(session, actor=actor(update), action=action, target=target, allowed=False,
                          details={"reason": "not an admin"})  # fmt: skip

    await run(record)
    await reply(update, t(ui_lang(ctx, update), "admins_only"))


def audit_allowed(ctx: Context, update: Update, action: str, target: str, **details: Any) -> None:
    """Record an admin action that changes nothing in the catalogue (catalog audits its own changes)."""
    with ctx.db.session() as session:
        queries.audit(session, actor=actor(update), action=action, target=target, details=details)


Handler = Callable[[Update, Ctx], Any]
# Every bot-admin handler, with the action its refusals are audited under. Built by `admin_only`, which
# is also the check, so a handler registered in app.py is admin-only exactly when it is listed here.
ADMIN_ONLY: dict[Handler, str] = {}


def first_arg(update: Update, context: Ctx) -> str:
    return (context.args or [""])[0]


def pending_location(update: Update, context: Ctx) -> str:
    """What a preview button would add (its token when the preview is gone), for the audit log."""
    query = update.callback_query
    token = (query.data or "").partition("|")[2] if query else ""
    with app_ctx(context).db.session() as session:
        row = session.get(Setting, f"tg-add:{token}")
        return str(row.value.get("location", token)) if row is not None else token


def admin_only(action: str, target: Handler = first_arg) -> Callable[[Handler], Handler]:
    """Run the handler for bot admins (TELEGRAM_ADMIN_IDS) only; refuse and audit anyone else."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(update: Update, context: Ctx) -> None:
            ctx = app_ctx(context)
            if is_admin(ctx, update):
                await handler(update, context)
                return
            if update.callback_query is not None:
                await update.callback_query.answer()
            await refuse(update, ctx, action, str(target(update, context))[:500])

        ADMIN_ONLY[checked] = action
        return checked

    return wrap


@admin_only("source.add")
async def addsource(update: Update, context: Ctx) -> None:
    """/addsource URL [thread …]: read it once, show a preview, add it only on the admin's confirmation."""
    ctx, args = app_ctx(context), context.args or []
    lang = ui_lang(ctx, update)
    if not args:
        await reply(update, t(lang, "addsource_usage"))
        return
    location, pinned = args[0], args[1:]
    # Audited before reading: the admin makes the server fetch an address, whether or not it answers.
    await run(audit_allowed, ctx, update, "source.preview", location[:500], threads=pinned)
    try:
        preview = await catalog.preview_source(ctx, location)
    except Exception as error:  # any read failure is the admin's answer, in words
        await reply(update, esc(f"{type(error).__name__}: {error}"))
        return
    token = secrets.token_hex(6)
    pending = {"location": preview.location, "kind": preview.kind, "threads": pinned, "title": preview.title,
               "at": ctx.now().isoformat()}  # fmt: skip
    with ctx.db.session() as session:
        session.merge(Setting(key=f"tg-add:{token}", value=pending))
    matched = ", ".join(f"{k} ({v})" for k, v in preview.threads.items()) or "—"
    text = t(lang, "preview", kind=preview.kind, title=esc(preview.title), lang=preview.lang, items=preview.items,
             threads=esc(matched))  # fmt: skip
    await reply(
        update,
        text,
        markup=keyboard([[(t(lang, "confirm"), f"add|{token}"), (t(lang, "cancel"), f"noadd|{token}")]]),
    )


@admin_only("source.add", target=pending_location)
async def addsource_button(update: Update, context: Ctx) -> None:
    """The preview's confirm or cancel button (a non-admin in the same group may press it too)."""
    query, ctx = update.callback_query, app_ctx(context)
    assert query is not None and query.data is not None
    lang = ui_lang(ctx, update)
    kind, token = query.data.split("|")
    await query.answer()
    try:
        text = await run(_confirm_add, ctx, token, actor(update), lang, kind == "add")
    except catalog.CatalogError as error:
        text = esc(error)
    await query.edit_message_text(text, parse_mode=ParseMode.HTML)


def _confirm_add(ctx: Context, token: str, who: str, lang: str, confirmed: bool) -> str:
    with ctx.db.session() as session:
        row = session.get(Setting, f"tg-add:{token}")
        if row is None or datetime.fromisoformat(row.value["at"]) < ctx.now() - PENDING_TTL:
            return t(lang, "expired")
        pending = dict(row.value)
        session.delete(row)
        if not confirmed:
            queries.audit(session, actor=who, action="source.cancel", target=pending["location"])
            return t(lang, "cancelled")
        source = catalog.add_source(
            session, location=pending["location"], kind=pending["kind"], actor=who, threads=pending["threads"],
            name=pending.get("title", ""), max_sources=ctx.settings.max_sources,
        )  # fmt: skip
        return t(lang, "added", id=source.id, location=esc(source.location))


def _source_command(action: str, key: str) -> Handler:
    async def handler(update: Update, context: Ctx) -> None:
        ctx, args = app_ctx(context), context.args or []
        lang = ui_lang(ctx, update)
        if not args:
            await reply(update, t(lang, "id_usage", command=f"/{action.split('.')[1]}source"))
            return
        try:
            source_id = await run(_change_source, ctx, action, args[0], actor(update))
        except catalog.CatalogError as error:
            await reply(update, esc(error))
            return
        await reply(update, t(lang, key, id=source_id))

    handler.__doc__ = f"/{action.split('.')[1]}source ID (admins only)."
    return admin_only(action)(handler)


def _change_source(ctx: Context, action: str, ref: str, who: str) -> int:
    with ctx.db.session() as session:
        if action == "source.remove":
            return catalog.remove_source(session, ref, actor=who).id
        return catalog.set_paused(session, ref, paused=action == "source.pause", actor=who).id


removesource = _source_command("source.remove", "removed")
pausesource = _source_command("source.pause", "paused")
resumesource = _source_command("source.resume", "resumed")


@admin_only("stats")
async def stats(update: Update, context: Ctx) -> None:
    """/stats (admins only): subscribers, deliveries, LLM use today."""
    ctx = app_ctx(context)
    await run(audit_allowed, ctx, update, "stats", "")
    values = await run(collect_stats, ctx)
    await reply(update, t(ui_lang(ctx, update), "stats", **values))


def collect_stats(ctx: Context) -> dict[str, int]:
    """The numbers /stats shows."""
    midnight = ctx.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with ctx.db.session() as session:
        active = select(Subscription).where(Subscription.active.is_(True)).subquery()
        chats = session.scalar(select(func.count(func.distinct(active.c.chat_id)))) or 0
        subs = session.scalar(select(func.count()).select_from(active)) or 0
        counts = outbox.counts(session)
        calls, tokens = session.execute(
            select(
                func.count(LLMCallLog.id),
                func.coalesce(func.sum(LLMCallLog.prompt_tokens + LLMCallLog.completion_tokens), 0),
            ).where(LLMCallLog.at >= midnight)
        ).one()
    return {
        "chats": int(chats), "subs": int(subs), "sent": counts.get("sent", 0), "failed": counts.get("failed", 0),
        "waiting": counts.get("pending", 0) + counts.get("sending", 0), "calls": int(calls), "tokens": int(tokens),
    }  # fmt: skip


async def report_paused_sources(ctx: Context, bot: Any) -> int:
    """Tell the admins, once, about each source that paused itself after repeated failures."""
    from storage.models import Source

    with ctx.db.session() as session:
        rows = session.scalars(
            select(Source).where(Source.paused.is_(True), Source.pause_reported.is_(False))
        ).all()
        news = [
            (s.id, s.name or s.location, s.paused_reason or "")
            for s in rows
            if s.paused_reason != "paused by an admin"
        ]
        for s in rows:
            s.pause_reported = True
    for admin in ctx.settings.telegram_admin_ids:
        for source_id, name, reason in news:
            text = t("en", "source_paused", id=source_id, name=html.escape(name), reason=html.escape(reason))
            try:
                await bot.send_message(chat_id=int(admin), text=text, parse_mode=ParseMode.HTML)
            except (TelegramError, ValueError) as error:  # one unreachable admin must not silence the rest
                log.warning("could not tell admin %s that source %s paused: %s", admin, source_id, error)
    return len(news)
