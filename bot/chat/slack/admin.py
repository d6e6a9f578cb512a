"""Admin subcommands: `source add|remove|pause|resume`, `stats`. Only SLACK_ADMIN_IDS may use them.

Anyone else gets an ephemeral refusal, nothing changes, and the attempt is audited as refused. Every
change goes through bot.catalog, which audits it; the admin actions that change no row (a preview,
a cancelled preview, stats) are audited here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
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
SOURCE_VERBS = ("add", *sorted(SOURCE_ACTIONS))


async def _refused(cmd: Command, action: str, target: str) -> None:
    # Audited before the refusal is acknowledged: once Slack has the answer, the record exists.
    await asyncio.to_thread(state.refuse, cmd.ctx, cmd.user, action, target)
    await cmd.say("not_admin")


async def source(cmd: Command) -> None:
    """`source add URL [thread …]` or `source remove|pause|resume ID`."""
    verb = cmd.args[0].lower() if cmd.args else ""
    target = cmd.args[1] if len(cmd.args) > 1 else ""
    if verb not in SOURCE_VERBS or not target:
        await cmd.say("usage", usage="source add URL [thread …] | source remove|pause|resume ID")
        return
    if not cmd.is_admin:
        await _refused(cmd, f"source.{verb}", target[:500])
        return
    await cmd.ack()
    if verb == "add":
        location = target.strip("<>").split("|", 1)[0]  # Slack sends a pasted link as <url|label>
        cmd.later(lambda: _preview(cmd, location, cmd.args[2:]))
    else:
        cmd.later(lambda: _change(cmd, verb, target))


async def _preview(cmd: Command, location: str, threads: list[str]) -> None:
    """Read the source once and show what it would bring, with confirm and cancel buttons."""
    # Audited before reading: the admin makes the server fetch an address, whether or not it answers.
    await asyncio.to_thread(state.allowed, cmd.ctx, cmd.user, "source.preview", location[:500])
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
            (SOURCE_CANCEL, t(cmd.lang, "cancel"), value, None),
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


def _spec(value: str) -> tuple[str, str, list[str]] | None:
    """(location, kind, threads) from a preview button's value; None when it is not one."""
    try:
        spec: dict[str, Any] = json.loads(value)
        return str(spec["u"]), str(spec["k"]), [str(x) for x in spec.get("t", [])]
    except (ValueError, KeyError, TypeError):
        return None


async def _admin_presses(services: Services, user: str, target: str, respond: AsyncRespond) -> bool:
    """Whether the presser is an admin; anyone else is refused and audited, whatever the button says."""
    if services.is_admin(user):
        return True
    lang = await asyncio.to_thread(state.ui_lang, services.ctx, user) or "en"
    await asyncio.to_thread(state.refuse, services.ctx, user, "source.add", target[:500])
    await respond(text=t(lang, "not_admin"), response_type="ephemeral", replace_original=False)
    return False


async def confirm_add(services: Services, user: str, value: str, respond: AsyncRespond) -> None:
    """The confirm button: add the previewed source, if the presser is an admin."""
    ctx = services.ctx
    spec = _spec(value)
    if not await _admin_presses(services, user, spec[0] if spec else "", respond):
        return
    lang = await asyncio.to_thread(state.ui_lang, ctx, user) or "en"
    if spec is None:
        await respond(text=t(lang, "failed", reason="malformed button"), replace_original=False)
        return
    location, kind, threads = spec

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


async def cancel_add(services: Services, user: str, value: str, respond: AsyncRespond) -> None:
    """The cancel button: drop the preview, if the presser is an admin (audited either way)."""
    spec = _spec(value)
    location = spec[0] if spec else ""
    if not await _admin_presses(services, user, location, respond):
        return
    await asyncio.to_thread(state.allowed, services.ctx, user, "source.cancel", location[:500])
    lang = await asyncio.to_thread(state.ui_lang, services.ctx, user) or "en"
    await respond(text=t(lang, "cancelled"), replace_original=True)


async def stats(cmd: Command) -> None:
    """`stats`: subscribers, deliveries, LLM calls and tokens today."""
    if not cmd.is_admin:
        await _refused(cmd, "stats", "")
        return
    await cmd.ack()

    async def work() -> None:
        await asyncio.to_thread(state.allowed, cmd.ctx, cmd.user, "stats", "")
        figures = await asyncio.to_thread(state.stats, cmd.ctx)
        await cmd.reply_text("stats", **figures)

    cmd.later(work)


# The admin subcommands (commands.SUBCOMMANDS includes them) and the verbs each takes, so
# tests/test_authz_matrix.py can check it covers every admin entry point.
SUBCOMMANDS: dict[str, Callable[[Command], Awaitable[None]]] = {"source": source, "stats": stats}
VERBS: dict[str, tuple[str, ...]] = {"source": SOURCE_VERBS}
