"""Admin subcommands: `source add|remove|pause|resume`, `stats`. Only SLACK_ADMIN_IDS may use them.

Anyone else gets an ephemeral refusal, nothing changes, and the attempt is audited as refused. Every
change goes through bot.catalog, which audits it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import catalog
from bot.chat.slack import state
from bot.chat.slack.command import USER_ERRORS, Command
from bot.chat.slack.render import buttons, escape, section
from bot.chat.slack.state import Services, actor
from bot.chat.slack.texts import t

SOURCE_CONFIRM = "source_confirm"
SOURCE_CANCEL = "source_cancel"
CONFIRM_VALUE_LIMIT = 2000
SOURCE_ACTIONS = {"remove", "pause", "resume"}


async def _refused(cmd: Command, action: str, target: str) -> None:
    await cmd.say("not_admin")
    await asyncio.to_thread(state.refuse, cmd.ctx, cmd.user, action, target)


async def source(cmd: Command) -> None:
    """`source add URL [thread …]` or `source remove|pause|resume ID`."""
    verb = cmd.args[0].lower() if cmd.args else ""
    target = cmd.args[1] if len(cmd.args) > 1 else ""
    if verb not in {"add", *SOURCE_ACTIONS} or not target:
        await cmd.say("usage", usage="source add URL [thread …] | source remove|pause|resume ID")
        return
    if not cmd.is_admin:
        await _refused(cmd, f"source.{verb}", target[:500])
        return
    await cmd.ack()
    if verb == "add":
        cmd.later(lambda: _preview(cmd, target.strip("<>"), cmd.args[2:]))
    else:
        cmd.later(lambda: _change(cmd, verb, target))


async def _preview(cmd: Command, location: str, threads: list[str]) -> None:
    """Read the source once and show what it would bring, with confirm and cancel buttons."""
    location = location.split("|", 1)[0]  # Slack sends a pasted link as <url|label>
    known = await asyncio.to_thread(state.active_threads, cmd.ctx)
    unknown = [th for th in threads if th not in known]
    if unknown:
        await cmd.reply_text("unknown_thread", thread=escape(unknown[0][:64]), known=", ".join(known))
        return
    preview = await catalog.preview_source(cmd.ctx, location)
    matched = ", ".join(f"{k} ({v})" for k, v in sorted(preview.threads.items())) or t(cmd.lang, "none")
    text = t(
        cmd.lang,
        "preview",
        location=escape(preview.location),
        kind=preview.kind,
        title=escape(" ".join(preview.title.split())[:200]),
        lang=preview.lang,
        items=preview.items,
        threads=escape(matched),
    )
    value = json.dumps({"u": preview.location, "k": preview.kind, "t": threads})
    if len(value) > CONFIRM_VALUE_LIMIT:
        raise catalog.CatalogError("the address is too long to confirm from Slack; add it from the CLI")
    blocks = [
        section(text),
        buttons(
            (SOURCE_CONFIRM, t(cmd.lang, "confirm"), value, "primary"),
            (SOURCE_CANCEL, t(cmd.lang, "cancel"), "cancel", None),
        ),
    ]
    await cmd.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


async def _change(cmd: Command, verb: str, ref: str) -> None:
    def apply() -> int:
        with cmd.ctx.db.session() as session:
            if verb == "remove":
                return catalog.remove_source(session, ref, actor=actor(cmd.user)).id
            return catalog.set_paused(session, ref, paused=verb == "pause", actor=actor(cmd.user)).id

    source_id = await asyncio.to_thread(apply)
    key = {"remove": "removed", "pause": "paused_done", "resume": "resumed"}[verb]
    await cmd.reply_text(key, id=source_id)


async def confirm_add(services: Services, user: str, value: str, respond: AsyncRespond) -> None:
    """The confirm button: add the previewed source, if the presser is an admin."""
    ctx = services.ctx
    lang = await asyncio.to_thread(state.ui_lang, ctx, user) or "en"
    try:
        spec: dict[str, Any] = json.loads(value)
        location, kind, threads = str(spec["u"]), str(spec["k"]), [str(x) for x in spec.get("t", [])]
    except (ValueError, KeyError, TypeError):
        await respond(text=t(lang, "failed", reason="malformed button"), replace_original=False)
        return
    if not services.is_admin(user):
        await asyncio.to_thread(state.refuse, ctx, user, "source.add", location[:500])
        await respond(text=t(lang, "not_admin"), response_type="ephemeral", replace_original=False)
        return

    def add() -> int:
        with ctx.db.session() as session:
            row = catalog.add_source(
                session,
                location=location,
                kind=kind,
                threads=threads,
                actor=actor(user),
                max_sources=ctx.settings.max_sources,
            )
            return row.id

    try:
        source_id = await asyncio.to_thread(add)
    except USER_ERRORS as error:
        await respond(text=t(lang, "failed", reason=escape(str(error)[:300])), replace_original=False)
        return
    await respond(text=t(lang, "added", id=source_id, location=escape(location)), replace_original=True)


async def stats(cmd: Command) -> None:
    """`stats`: subscribers, deliveries, LLM calls and tokens today."""
    if not cmd.is_admin:
        await _refused(cmd, "stats", "")
        return
    await cmd.ack()

    async def work() -> None:
        figures = await asyncio.to_thread(state.stats, cmd.ctx)
        await cmd.reply_text("stats", **figures)

    cmd.later(work)
