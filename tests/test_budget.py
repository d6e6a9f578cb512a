"""LLM_DAILY_TOKEN_BUDGET: past today's budget the bot works offline; yesterday's tokens do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_context
from bot.config import Settings
from storage.models import LLMCallLog

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _context(settings: Settings, tmp_path: Path, budget: int):
    empty = tmp_path / "sources.toml"
    empty.write_text("", encoding="utf-8")
    ctx = build_context(
        settings.model_copy(
            update={
                "sources_file": empty,
                "llm_base_url": "http://127.0.0.1:9/v1",
                "llm_daily_token_budget": budget,
            }
        )
    )
    ctx.clock = lambda: NOW
    return ctx


def _spend(ctx, tokens: int, at: datetime) -> None:
    with ctx.db.session() as session:
        session.add(
            LLMCallLog(
                at=at, purpose="summary", model="m", prompt_tokens=tokens, completion_tokens=0, outcome="ok"
            )
        )


def test_the_llm_is_used_until_todays_budget_is_spent(settings: Settings, tmp_path: Path) -> None:
    ctx = _context(settings, tmp_path, budget=1000)
    _spend(ctx, 5000, NOW - timedelta(days=1))  # yesterday's spending does not count
    _spend(ctx, 600, NOW - timedelta(hours=1))
    assert ctx.llm() is not None
    _spend(ctx, 400, NOW - timedelta(minutes=5))
    assert ctx.over_token_budget() and ctx.llm() is None


def test_no_budget_means_no_limit(settings: Settings, tmp_path: Path) -> None:
    ctx = _context(settings, tmp_path, budget=0)
    _spend(ctx, 10**9, NOW)
    assert ctx.llm() is not None
