"""The `/newsbrief` subcommands for everyone: help, brief, ask, subscribe, unsubscribe, sources, lang.

Each acknowledges at once; anything that reads or writes more than a row runs after the
acknowledgement and replies through the command's response_url.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot import catalog, subscriptions
from bot.briefing import build_brief
from bot.chat.slack import admin, state
from bot.chat.slack.command import Command
from bot.chat.slack.questions import answer_parts
from bot.chat.slack.render import brief_messages, escape, text_messages
from bot.chat.slack.state import PLATFORM, actor
from bot.chat.slack.texts import LANG_NAMES, LANGS, t

DEFAULT_TIME = "08:00"
DEFAULT_ZONE = "UTC"

Subcommand = Callable[[Command], Awaitable[None]]


async def help_(cmd: Command) -> None:
    """What the bot does and its commands."""
    await cmd.say("help")


async def lang(cmd: Command) -> None:
    """`lang ar|en`: the interface language for this user."""
    choice = cmd.args[0].lower() if cmd.args else ""
    if choice not in LANGS:
        await cmd.say("usage", usage="lang ar|en")
        return
    await asyncio.to_thread(state.set_ui_lang, cmd.ctx, cmd.user, choice)
    await cmd.ack(text=t(choice, "lang_set"))


async def brief(cmd: Command) -> None:
    """`brief [thread …] [ar|en]`: the latest brief now, shared in the channel."""
    langs = [w.lower() for w in cmd.args if w.lower() in LANGS]
    wanted = [w for w in cmd.args if w.lower() not in LANGS]
    known = await asyncio.to_thread(state.active_threads, cmd.ctx)
    unknown = [w for w in wanted if w not in known]
    if unknown:
        await cmd.say("unknown_thread", thread=escape(unknown[0][:64]), known=", ".join(known) or "—")
        return
    content_lang = langs[0] if langs else cmd.lang
    await cmd.say("working")

    async def work() -> None:
        for thread_id in wanted or known:
            built = await asyncio.to_thread(build_brief, cmd.ctx, thread_id=thread_id, lang=content_lang)
            await cmd.reply(brief_messages(built.payload), in_channel=True)

    cmd.later(work)


async def ask(cmd: Command) -> None:
    """`ask QUESTION`: the answer, shared in the channel, with its sources."""
    question = " ".join(cmd.args)
    if not question:
        await cmd.say("usage", usage="ask QUESTION")
        return
    await cmd.say("working")

    async def work() -> None:
        parts = await cmd.services.run(
            answer_parts,
            cmd.ctx,
            question,
            conversation_id=f"{cmd.channel}:{cmd.user}",
            user=cmd.user,
            answerer=cmd.services.answerer,
        )
        await cmd.reply(parts, in_channel=True)

    cmd.later(work)


async def subscribe(cmd: Command) -> None:
    """`subscribe [thread …] [ar|en|both] [HH:MM] [TIMEZONE]`: this channel's daily brief."""
    await cmd.ack()

    async def work() -> None:
        known = await asyncio.to_thread(state.active_threads, cmd.ctx)
        choice = _subscription_args(cmd.args, known, default_lang=cmd.lang)
        lines = await asyncio.to_thread(_subscribe, cmd, choice)
        await cmd.respond(text="\n".join(lines), response_type="in_channel", replace_original=False)

    cmd.later(work)


class _Choice:
    def __init__(self, threads: list[str], lang: str, at: str, zone: str) -> None:
        self.threads, self.lang, self.at, self.zone = threads, lang, at, zone


def _subscription_args(args: list[str], known: list[str], *, default_lang: str) -> _Choice:
    """Threads, language, time and zone from the words, in any order; defaults for what is missing."""
    threads, lang, at, rest = [], "", "", []
    for word in args:
        if word.lower() in (*subscriptions.LANG_CHOICES,):
            lang = word.lower()
        elif word in known:
            threads.append(word)
        elif not at and ":" in word and word.replace(":", "").isdigit():
            at = subscriptions.parse_hhmm(word)
        else:
            rest.append(word)
    zone = subscriptions.parse_zone(" ".join(rest)) if rest else DEFAULT_ZONE
    if not threads and not known:
        raise subscriptions.SubscriptionError("no threads are followed yet")
    return _Choice(threads or known, lang or default_lang, at or DEFAULT_TIME, zone)


def _subscribe(cmd: Command, choice: _Choice) -> list[str]:
    lines = []
    with cmd.ctx.db.session() as session:
        for thread_id in choice.threads:
            rows = subscriptions.subscribe(
                session,
                platform=PLATFORM,
                chat_id=cmd.channel,
                thread_id=thread_id,
                lang=choice.lang,
                deliver_at=choice.at,
                timezone=choice.zone,
                now=cmd.ctx.now(),
                created_by=actor(cmd.user),
            )
            for row in rows:
                names = LANG_NAMES.get(cmd.lang, LANG_NAMES["en"])
                lines.append(
                    t(
                        cmd.lang,
                        "subscribed",
                        thread=thread_id,
                        lang=names[row.lang],
                        time=row.deliver_at,
                        tz=row.timezone,
                    )
                )
    return lines


async def unsubscribe(cmd: Command) -> None:
    """`unsubscribe [thread]`: stop this channel's daily briefs (of one thread, or all)."""
    await cmd.ack()

    def end() -> int:
        with cmd.ctx.db.session() as session:
            thread = cmd.args[0] if cmd.args else None
            return subscriptions.unsubscribe(
                session, platform=PLATFORM, chat_id=cmd.channel, thread_id=thread
            )

    async def work() -> None:
        ended = await asyncio.to_thread(end)
        key = "unsubscribed" if ended else "no_subscriptions"
        await cmd.respond(text=t(cmd.lang, key, n=ended), response_type="in_channel", replace_original=False)

    cmd.later(work)


async def sources(cmd: Command) -> None:
    """`sources`: the sources followed; admins also see their health."""
    await cmd.ack()

    def listing() -> str:
        with cmd.ctx.db.session() as session:
            rows = catalog.source_health(session)
        if not rows:
            return t(cmd.lang, "no_sources")
        lines = [f"*{t(cmd.lang, 'sources_title')}*"]
        for row in rows:
            name = escape(row.name or row.location)
            flag = f" · _{t(cmd.lang, 'paused')}_" if row.paused else ""
            line = f"• #{row.id} {name} ({row.kind}, {row.articles}){flag}"
            if cmd.is_admin:
                line += f" · ok {row.last_success_at or '—'} · errors {row.error_count}"
                if row.last_error:
                    line += f" · {escape(row.last_error[:200])}"
            lines.append(line)
        return "\n".join(lines)

    async def work() -> None:
        await cmd.reply(text_messages(await asyncio.to_thread(listing)))

    cmd.later(work)


SUBCOMMANDS: dict[str, Subcommand] = {
    "help": help_,
    "lang": lang,
    "brief": brief,
    "ask": ask,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "sources": sources,
    **admin.SUBCOMMANDS,
}
