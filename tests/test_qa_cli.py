"""`newsbrief ask` as a user runs it, over the seeds ingested by `newsbrief ingest`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result


@pytest.fixture
def run(cli: Callable[..., Result]) -> Callable[..., Result]:
    return cli


def test_ask_prints_the_answer_its_sources_and_as_of(run: Callable[..., Result]) -> None:
    assert run("ingest").exit_code == 0
    result = run("ask", "كم بلغت التجارة غير النفطية بين السعودية وروسيا في 2024؟")
    assert result.exit_code == 0, result.output
    assert "3.28 مليار دولار" in result.stdout
    assert "المصادر:" in result.stdout and "حتى تاريخ" in result.stdout


def test_ask_json_carries_citations_and_follow_ups_use_the_conversation(run: Callable[..., Result]) -> None:
    run("ingest")
    first = json.loads(
        run("ask", "Where did Lavrov meet Kim Jong Un?", "--json", "--conversation", "c").stdout
    )
    assert first["covered"] and first["citations"][0]["title"]
    follow = json.loads(run("ask", "And what did he say?", "--json", "--conversation", "c").stdout)
    assert follow["entities"] == ["lavrov"]


def test_ask_with_a_bad_language_fails_with_a_message(run: Callable[..., Result]) -> None:
    result = run("ask", "Where did Lavrov meet Kim Jong Un?", "--lang", "fr")
    assert result.exit_code == 1 and "use ar or en" in result.stderr


def test_ask_on_an_empty_archive_refuses(run: Callable[..., Result]) -> None:
    result = run("ask", "Who won the 2022 World Cup?", "--lang", "en")
    assert result.exit_code == 0 and "don't cover" in result.stdout


async def test_ingestion_indexes_new_articles_for_questions(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from bot.app import build_context
    from bot.config import Settings
    from bot.runtime.ingest_cycle import ingest_due
    from storage.models import Passage

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none")
    ctx = build_context(settings)
    await ingest_due(ctx, force=True)
    with ctx.db.session() as session:
        assert (session.scalar(select(func.count(Passage.id))) or 0) > 20
    ctx.db.dispose()


def test_the_local_cli_is_not_held_to_the_chat_users_rate_limit(
    run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_RATE_LIMIT", "2")
    run("ingest")
    for _ in range(4):
        result = run("ask", "Where did Lavrov meet Kim Jong Un?")
        assert result.exit_code == 0, result.output
        assert "limit" not in result.output
