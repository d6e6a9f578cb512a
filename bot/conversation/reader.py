"""The readers' actions: language, help, subscriptions, briefs, questions, sources, feedback."""

from __future__ import annotations

from datetime import timedelta

from bot.briefs.build import build_brief
from bot.conversation import store
from bot.conversation.core import Conversation, action, text
from bot.conversation.model import Block, Button, Reply, Request
from bot.conversation.texts import LANGS, lang_name, nt, t
from bot.delivery.subscriptions import COMMON_ZONES, SubscriptionError, parse_hhmm, parse_zone

TIMES = ("06:00", "07:00", "08:00", "09:00", "12:00", "18:00")
BRIEF_SPAN = timedelta(days=1)
LANG_BUTTONS = [Button("العربية", "lang|ar"), Button("English", "lang|en")]
# The commands help lists, in order, and how a platform spells them when it says nothing else.
READER_HELP = ("subscribe", "settings", "unsubscribe", "brief", "ask", "sources", "lang")
ADMIN_HELP = ("source_add", "source_remove", "source_pause", "source_resume", "stats")
# The slash commands Telegram and the terminal take, and the core actions they name.
DEFAULT_COMMANDS = {
    "start": "start", "help": "help", "lang": "lang", "subscribe": "subscribe", "settings": "settings",
    "unsubscribe": "unsubscribe", "brief": "brief", "ask": "ask", "sources": "sources",
    "addsource": "source_add", "removesource": "source_remove", "pausesource": "source_pause",
    "resumesource": "source_resume", "stats": "stats",
}  # fmt: skip
DEFAULT_SYNTAX = {
    "help": "/help", "lang": "/lang ar|en", "subscribe": "/subscribe [thread] [ar|en|both] [HH:MM] [time zone]",
    "settings": "/settings", "unsubscribe": "/unsubscribe [thread|all]", "brief": "/brief [thread] [ar|en]",
    "ask": "/ask QUESTION", "sources": "/sources", "source_add": "/addsource URL [thread …]",
    "source_remove": "/removesource ID", "source_pause": "/pausesource ID", "source_resume": "/resumesource ID",
    "stats": "/stats",
}  # fmt: skip


def usage(req: Request, lang: str, name: str) -> Reply:
    return text(lang, t(lang, "usage", usage=req.syntax.get(name) or DEFAULT_SYNTAX[name]))


def help_reply(req: Request, lang: str) -> Reply:
    syntax = req.syntax or DEFAULT_SYNTAX
    lines = [f"{syntax[name]} — {t(lang, 'about.' + name)}" for name in READER_HELP if name in syntax]
    blocks = [Block(t(lang, "help_title"), "title"), Block(t(lang, "help_intro")), Block("\n".join(lines))]
    if req.is_admin:
        admin = [f"{syntax[name]} — {t(lang, 'about.' + name)}" for name in ADMIN_HELP if name in syntax]
        blocks += [Block(t(lang, "help_admin"), "title"), Block("\n".join(admin))]
    return Reply(lang, blocks=blocks)


@action("start")
async def start(conv: Conversation, req: Request, lang: str) -> Reply:
    """What the bot does, and the language buttons."""
    reply = text(lang, t(lang, "welcome"))
    reply.buttons = [LANG_BUTTONS]
    return reply


@action("help", quick=True)
async def help_(conv: Conversation, req: Request, lang: str) -> Reply:
    """The commands (the admin ones for admins)."""
    return help_reply(req, lang)


@action("lang", buttons=("lang",), quick=True)
async def choose_lang(conv: Conversation, req: Request, lang: str) -> Reply:
    """`lang ar|en` or a language button: remember it; a button also shows the help in that language."""
    choice = (req.args or [""])[0].lower()
    if choice not in LANGS:
        return usage(req, lang, "lang")
    await conv.db(store.set_ui_lang, conv.ctx, req.platform, req.user, choice)
    if not req.button:
        return text(choice, t(choice, "lang_set"))
    reply = help_reply(req, choice)
    reply.blocks.insert(0, Block(t(choice, "lang_set")))
    reply.edit = True
    return reply


# ---------------------------------------------------------------- subscriptions


def parse_subscription(words: list[str], known: list[str]) -> dict[str, str]:
    """Thread, language, time and zone from free-form words, in any order."""
    found: dict[str, str] = {}
    rest: list[str] = []
    for word in words:
        if word in known and "thread" not in found:
            found["thread"] = word
        elif word.lower() in ("ar", "en", "both") and "lang" not in found:
            found["lang"] = word.lower()
        elif ":" in word and "time" not in found and word.replace(":", "").isdigit():
            found["time"] = parse_hhmm(word)
        else:
            rest.append(word)
    if rest:
        found["zone"] = parse_zone(" ".join(rest))
    return found


def _button_choice(req: Request) -> dict[str, str]:
    names = ("thread", "lang", "time", "zone")
    return {k: v for k, v in zip(names, req.text.split("|"), strict=False) if v}


@action("subscribe", buttons=("s",), chat_scoped=True)
async def subscribe(conv: Conversation, req: Request, lang: str) -> Reply:
    """`subscribe [thread] [ar|en|both] [HH:MM] [zone]`: buttons for whatever is left out."""
    if not req.deliveries:
        return text(lang, t(lang, "no_deliveries", brief=req.syntax.get("brief") or DEFAULT_SYNTAX["brief"]))
    known = await conv.db(store.threads, conv.ctx)
    try:
        choice = _button_choice(req) if req.button else parse_subscription(req.args, [th.id for th in known])
    except SubscriptionError as error:
        return text(lang, str(error))
    base = "|".join(["s", choice.get("thread", ""), choice.get("lang", ""), choice.get("time", "")])
    if "thread" not in choice:
        rows = [[Button(th.name(lang), f"s|{th.id}||")] for th in known]
        reply = text(lang, t(lang, "pick_thread") if rows else t(lang, "no_threads"))
    elif "lang" not in choice:
        codes = ("ar", "en", "both")
        rows = [[Button(lang_name(lang, code), f"s|{choice['thread']}|{code}|") for code in codes]]
        reply = text(lang, t(lang, "pick_lang"))
    elif "time" not in choice:
        rows = [
            [Button(hhmm, base + hhmm) for hhmm in TIMES[:3]],
            [Button(hhmm, base + hhmm) for hhmm in TIMES[3:]],
        ]
        reply = text(lang, t(lang, "pick_time", thread=choice["thread"], lang=choice["lang"]))
    elif "zone" not in choice:
        rows = [[Button(city, f"{base}|{zone}")] for city, zone in COMMON_ZONES.items()]
        reply = text(
            lang, t(lang, "pick_zone", thread=choice["thread"], lang=choice["lang"], time=choice["time"])
        )
    else:
        return await _subscribe(conv, req, lang, choice, {th.id: th.name(lang) for th in known})
    reply.buttons, reply.edit = rows, bool(req.button)
    return reply


async def _subscribe(
    conv: Conversation, req: Request, lang: str, choice: dict[str, str], names: dict[str, str]
) -> Reply:
    rows = await conv.db(store.subscribe, conv.ctx, req.platform, req.chat, choice, req.actor)
    due = rows[0][4]
    reply = text(lang, t(
        lang, "subscribed", thread=names.get(choice["thread"], choice["thread"]), lang=lang_name(lang, choice["lang"]),
        time=choice["time"], zone=choice["zone"], next=due.strftime("%Y-%m-%d %H:%M UTC") if due else "?",
    ))  # fmt: skip
    reply.public, reply.edit = True, bool(req.button)
    return reply


@action("settings")
async def settings(conv: Conversation, req: Request, lang: str) -> Reply:
    """This chat's subscriptions, with buttons to end them, and the interface language.

    With arguments (`/settings cadence weekly`, `/settings quiet 22:00-07:00`, `/settings include Shoigu`,
    in English or Arabic words: see `bot.reader.chat_settings`), one setting of every subscription of
    this chat changes first; in a group only its administrators may change it.
    """
    if req.text and not req.button:
        if not req.chat_admin:
            return text(lang, t(lang, "group_admins_only"))
        name, count, rows = await conv.db(store.change_settings, conv.ctx, req.platform, req.chat, req.text)
        reply = Reply(lang, blocks=[Block(nt(lang, "settings_changed", count, setting=name), "title")])
        reply.blocks += [Block(_describe(row)) for row in rows]
        return reply
    subs = await conv.db(store.chat_subscriptions, conv.ctx, req.platform, req.chat)
    names = {th.id: th.name(lang) for th in await conv.db(store.threads, conv.ctx)}
    lines = [
        f"#{s.id} {names.get(s.thread_id, s.thread_id)} ({s.lang}) {s.deliver_at} {s.timezone}" for s in subs
    ]
    reply = Reply(lang, blocks=[Block(t(lang, "subscriptions" if subs else "no_subscriptions"), "title")])
    reply.blocks += [Block("\n".join(lines))] if lines else []
    reply.blocks.append(Block(t(lang, "settings_lang")))
    reply.buttons = [[Button(f"✖ #{s.id} {s.thread_id} {s.lang}", f"u|{s.id}")] for s in subs] + [
        LANG_BUTTONS
    ]
    return reply


def _describe(row: dict[str, object]) -> str:
    """One subscription's settings on one line, as `/settings` shows them after a change."""
    parts = [f"{row['thread']} ({row['lang']})", f"{row['cadence']}", f"{row['time']} {row['timezone']}"]
    if row.get("weekday"):
        parts.append(str(row["weekday"]))
    parts.append(f"alerts {'on' if row['alerts'] else 'off'}")
    if row.get("quiet"):
        parts.append(f"quiet {row['quiet']}")
    for key in ("include", "exclude"):
        if row.get(key):
            parts.append(f"{key}: " + ", ".join(str(term) for term in row[key]))  # type: ignore[attr-defined]
    return " · ".join(parts)


@action("unsubscribe", buttons=("u",), chat_scoped=True)
async def unsubscribe(conv: Conversation, req: Request, lang: str) -> Reply:
    """`unsubscribe [thread|all]`; with nothing named, buttons (or the chat's only subscription ends)."""
    target = req.text if req.button else (req.args or [""])[0]
    if not target:
        subs = await conv.db(store.chat_subscriptions, conv.ctx, req.platform, req.chat)
        if len(subs) > 1:
            reply = text(lang, t(lang, "pick_unsubscribe"))
            reply.buttons = [
                [Button(f"#{s.id} {s.thread_id} {s.lang} {s.deliver_at}", f"u|{s.id}")] for s in subs
            ]
            reply.buttons.append([Button(t(lang, "all"), "u|all")])
            return reply
        target = "all"
    if req.button:
        thread, sub = None, (None if target == "all" else int(target))
    else:
        thread, sub = (None if target.lower() == "all" else target), None
    ended = await conv.db(store.unsubscribe, conv.ctx, req.platform, req.chat, thread, sub)
    reply = text(lang, nt(lang, "unsubscribed", ended) if ended else t(lang, "no_subscriptions"))
    reply.public, reply.edit = True, bool(req.button)
    return reply


# ---------------------------------------------------------------- briefs and questions


async def _check_brief(conv: Conversation, req: Request, lang: str) -> Reply | None:
    known = await conv.db(store.threads, conv.ctx)
    ids = [th.id for th in known]
    wanted = [w for w in (req.text.split("|")[:1] if req.button else req.args) if w.lower() not in LANGS]
    unknown = [w for w in wanted if w not in ids]
    if unknown:
        return text(lang, t(lang, "unknown_thread", thread=unknown[0][:64], known=", ".join(ids) or "—"))
    if not wanted and len(ids) != 1:
        reply = text(lang, t(lang, "pick_thread") if ids else t(lang, "no_threads"))
        reply.buttons = [[Button(th.name(lang), f"b|{th.id}")] for th in known]
        return reply
    return None


@action("brief", buttons=("b",), check=_check_brief, slow=True)
async def brief(conv: Conversation, req: Request, lang: str) -> Reply:
    """`brief [thread …] [ar|en]`: the latest brief now (the last day's news), for the whole chat."""
    words = req.text.split("|")[:1] if req.button else req.args
    langs = [w.lower() for w in words if w.lower() in LANGS]
    wanted = [w for w in words if w.lower() not in LANGS] or [
        th.id for th in await conv.db(store.threads, conv.ctx)
    ]
    content = langs[0] if langs else lang
    since = conv.ctx.now() - BRIEF_SPAN
    reply = Reply(lang, public=True)
    for thread_id in wanted:
        built = await conv.heavy(build_brief, conv.ctx, thread_id=thread_id, lang=content, since=since)
        reply.briefs.append(built.payload)
    return reply


async def _check_ask(conv: Conversation, req: Request, lang: str) -> Reply | None:
    return (
        None
        if req.text.strip()
        else text(lang, t(lang, "ask_usage", usage=req.syntax.get("ask") or "/ask QUESTION"))
    )


@action("ask", check=_check_ask, slow=True)
async def ask(conv: Conversation, req: Request, lang: str) -> Reply:
    """A question: answered from the archive with citations; a reply to an answer is a follow-up."""
    found = req.conversation or None
    if req.reply_to and not found:
        found = await conv.db(store.conversation_of, conv.ctx, req.platform, req.chat, req.reply_to)
    conversation = found or f"{req.platform}:{req.chat}:{req.message}"
    if req.follow_up_only and not await conv.db(store.has_conversation, conv.ctx, conversation):
        return Reply(lang, silent=True)  # a thread the bot is not part of
    if req.event and not await conv.db(store.first_time, conv.ctx, f"{req.platform}:{req.event}"):
        return Reply(lang, silent=True)  # the platform retried an event already answered
    answer = await conv.heavy(conv.answerer, conv.ctx, req.text, conversation_id=conversation, user=req.actor)
    return Reply(lang, answer=answer, public=True, conversation=conversation)


@action("feedback", buttons=("fb",))
async def feedback(conv: Conversation, req: Request, lang: str) -> Reply:
    """👍 (`fb|up|ID`) or 👎 (`fb|down|ID`) on an answer."""
    verdict, _, log_id = req.text.partition("|")
    if not log_id.isdigit():
        return Reply(lang, silent=True)
    stored = await conv.db(store.set_feedback, conv.ctx, int(log_id), 1 if verdict == "up" else -1, req.actor)
    return text(lang, t(lang, "thanks")) if stored else Reply(lang, silent=True)


@action("sources")
async def sources(conv: Conversation, req: Request, lang: str) -> Reply:
    """The sources followed; admins also see their health."""
    rows = await conv.db(store.source_health, conv.ctx)
    if not rows:
        return text(lang, t(lang, "no_sources"))
    lines = []
    for s in rows:
        line = f"#{s.id} {s.name or s.location} ({s.kind}, {s.articles})" + (
            f" · {t(lang, 'paused_flag')}" if s.paused else ""
        )
        if req.is_admin:
            line += f" · ✓ {s.last_success_at or '—'} · errors {s.error_count}"
            line += f" · {s.last_error[:200]}" if s.last_error else ""
        lines.append(line)
    return text(lang, *lines, title=t(lang, "sources"))
