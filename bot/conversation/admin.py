"""The bot admins' actions: add a source (a preview, then a confirmation), remove, pause, resume, stats.

Only bot admins may run them; `Conversation.check` refuses anyone else and audits the attempt. Every
change goes through bot.ingest.catalog, which audits it; the actions that change no catalogue row (a preview,
which makes the server read an address, a cancelled preview, stats) are audited here.
"""

from __future__ import annotations

import secrets

from bot.conversation import store
from bot.conversation.core import Conversation, action, first_arg, text
from bot.conversation.model import Block, Button, Reply, Request
from bot.conversation.reader import usage
from bot.conversation.texts import t
from bot.ingest import catalog


def location_of(word: str) -> str:
    """The address in a pasted link (Slack sends `<url|label>`)."""
    return word.strip("<>").split("|", 1)[0]


async def _location(conv: Conversation, req: Request) -> str:
    return location_of(await first_arg(conv, req))


async def _pending(conv: Conversation, req: Request) -> str:
    return await conv.db(store.pending_location, conv.ctx, req.text)


async def _nothing(conv: Conversation, req: Request) -> str:
    return ""


async def _check_add(conv: Conversation, req: Request, lang: str) -> Reply | None:
    if not req.args:
        return usage(req, lang, "source_add")
    known = [th.id for th in await conv.db(store.threads, conv.ctx)]
    unknown = [th for th in req.args[1:] if th not in known]
    if unknown:
        return text(lang, t(lang, "unknown_thread", thread=unknown[0][:64], known=", ".join(known) or "—"))
    return None


@action("source_add", admin="source.add", target=_location, check=_check_add)
async def source_add(conv: Conversation, req: Request, lang: str) -> Reply:
    """`source add URL [thread …]`: read it once and show what it would bring; add it on confirmation."""
    location, pinned = location_of(req.args[0]), req.args[1:]
    # Audited before reading: the admin makes the server fetch an address, whether or not it answers.
    await conv.db(store.audit, conv.ctx, req.actor, "source.preview", location, threads=pinned)
    preview = await catalog.preview_source(conv.ctx, location)
    token = secrets.token_hex(6)
    pending = {"location": preview.location, "kind": preview.kind, "threads": pinned, "title": preview.title}
    await conv.db(store.save_pending, conv.ctx, token, pending)
    matched = ", ".join(f"{k} ({v})" for k, v in sorted(preview.threads.items())) or "—"
    body = t(lang, "preview", location=preview.location, kind=preview.kind, title=" ".join(preview.title.split())[:200],
             lang=preview.lang, items=preview.items, threads=matched)  # fmt: skip
    reply = Reply(lang, blocks=[Block(t(lang, "preview_title"), "title"), Block(body)])
    reply.buttons = [
        [
            Button(t(lang, "confirm"), f"add|{token}", primary=True),
            Button(t(lang, "cancel"), f"noadd|{token}"),
        ]
    ]
    return reply


@action("source_confirm", buttons=("add",), admin="source.add", target=_pending)
async def source_confirm(conv: Conversation, req: Request, lang: str) -> Reply:
    """The preview's confirm button (anyone in the chat may press it; only an admin gets through)."""
    pending = await conv.db(store.take_pending, conv.ctx, req.text)
    if pending is None:
        reply = text(lang, t(lang, "expired"))
    else:
        source_id, location = await conv.db(store.add_source, conv.ctx, pending, req.actor)
        reply = text(lang, t(lang, "added", id=source_id, location=location))
    reply.edit = True
    return reply


@action("source_cancel", buttons=("noadd",), admin="source.add", target=_pending)
async def source_cancel(conv: Conversation, req: Request, lang: str) -> Reply:
    """The preview's cancel button."""
    pending = await conv.db(store.take_pending, conv.ctx, req.text)
    if pending is not None:
        await conv.db(store.audit, conv.ctx, req.actor, "source.cancel", pending["location"])
    reply = text(lang, t(lang, "cancelled" if pending is not None else "expired"))
    reply.edit = True
    return reply


def _source_change(verb: str) -> None:
    name = f"source_{verb}"

    async def check(conv: Conversation, req: Request, lang: str) -> Reply | None:
        return None if req.args else usage(req, lang, name)

    async def change(conv: Conversation, req: Request, lang: str) -> Reply:
        source_id = await conv.db(store.change_source, conv.ctx, verb, req.args[0], req.actor)
        return text(lang, t(lang, f"source_{verb}d", id=source_id))

    change.__doc__ = f"`source {verb} ID` (bot.ingest.catalog audits it)."
    action(name, admin=f"source.{verb}", check=check)(change)


for _verb in ("remove", "pause", "resume"):
    _source_change(_verb)


@action("stats", admin="stats", target=_nothing)
async def stats(conv: Conversation, req: Request, lang: str) -> Reply:
    """Subscriptions by platform, deliveries, LLM calls and tokens and questions today: the same everywhere."""
    await conv.db(store.audit, conv.ctx, req.actor, "stats", "")
    figures = await conv.db(store.stats, conv.ctx)
    return text(lang, t(lang, "stats", **figures), title=t(lang, "stats_title"))
