"""Every subscription setting from the chat: `/settings ARGS` goes through the core to the reader's settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.app import build_context
from bot.config import Settings
from bot.conversation import Conversation
from bot.conversation.model import Request
from storage.models import Subscription


def _conversation(tmp_path: Path) -> Conversation:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none")
    return Conversation(build_context(settings))


async def _say(conv: Conversation, text: str, *, action: str = "", chat_admin: bool = True) -> str:
    reply = await conv.handle(
        Request(platform="terminal", user="u1", chat="c1", action=action, text=text, chat_admin=chat_admin)
    )
    return "\n".join(block.text for block in reply.blocks)


async def test_settings_arguments_change_cadence_quiet_hours_and_an_arabic_alias_filter(tmp_path: Path) -> None:
    conv = _conversation(tmp_path)
    with conv.ctx.db.session() as session:  # the terminal delivers nothing, so the row is made directly
        session.add(Subscription(platform="terminal", chat_id="c1", thread_id="russia-dprk", lang="en",
                                 deliver_at="07:00", timezone="Europe/Moscow"))  # fmt: skip
    said = await _say(conv, "cadence weekly friday", action="settings")
    assert "Set cadence on 1 subscription." in said and "weekly" in said
    said = await _say(conv, "هدوء 22:00-07:00", action="settings")
    assert "quiet 22:00-07:00" in said
    said = await _say(conv, "include Shoigu", action="settings")
    assert "include: Shoigu" in said
    with conv.ctx.db.session() as session:
        row = session.scalars(select(Subscription)).one()
        assert (row.cadence, row.quiet_start, row.quiet_end) == ("weekly", "22:00", "07:00")
        assert list(row.include_terms) == ["Shoigu"]
    conv.ctx.db.dispose()


async def test_a_bad_setting_is_explained_and_a_group_member_who_is_no_admin_is_refused(tmp_path: Path) -> None:
    conv = _conversation(tmp_path)
    said = await _say(conv, "cadence hourly", action="settings")
    assert "hourly" in said.lower() or "cadence" in said.lower()
    said = await _say(conv, "cadence weekly", action="settings", chat_admin=False)
    assert "admin" in said.lower()
    conv.ctx.db.dispose()
