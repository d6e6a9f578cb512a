"""`newsbrief chat`: the terminal adapter as an operator types into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app, common
from storage.models import AuditLog


def chat(*args: str, lines: str) -> str:
    common.reset()
    try:
        result = CliRunner().invoke(app, ["chat", *args], input=lines)
    finally:
        common.reset()
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMBEDDER", "none")
    for name in ("LLM_BASE_URL", "EMBEDDING_MODEL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_reader_picks_a_language_with_a_numbered_button_and_is_refused_admin_commands(folder: Path) -> None:
    output = chat("--user", "rana", lines="1\n/stats\n/dance\n")
    assert "Choose your language" in output and "[1] العربية" in output
    assert "لغة الواجهة: العربية" in output  # button 1 pressed
    assert "لمشرفي newsbrief فقط" in output and "«dance»" in output
    common.reset()
    with common.context().db.session() as session:
        refusal = session.scalars(select(AuditLog).where(AuditLog.allowed.is_(False))).one()
    assert (refusal.actor, refusal.action) == ("terminal:rana", "stats")


def test_an_admin_sees_stats_and_source_health(folder: Path) -> None:
    output = chat("--admin", "--user", "ops", lines="/stats\n/sources\n")
    assert "Subscriptions: 0 (Slack 0, Telegram 0)" in output and "errors 0" in output
