"""Briefs, `stories show` and answers carry outlets, corroboration and kinds, end to end on a database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.briefs.build import build_brief, story_overview
from bot.briefs.compose import render_text
from bot.config import Settings
from bot.context import Context
from bot.threads.classify import load_threads
from storage.db import Database
from storage.models import Article, ArticleThread, Story, StoryArticle, Thread

T0 = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)
THREADS = load_threads(Path(__file__).resolve().parents[1] / "seeds" / "threads.toml")
WIRE = (
    "Lavrov meets Kim Jong Un in Wonsan",
    "Russian Foreign Minister Sergei Lavrov said on July 12, 2025 that his talks with North Korean leader "
    "Kim Jong Un in Wonsan were productive and that the strategic partnership between Moscow and "
    "Pyongyang would deepen in every field, from trade and tourism to security and culture.",
)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none")
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        for t in THREADS:
            session.add(Thread(id=t.id, name_en=t.name_en, name_ar=t.name_ar, definition=t.to_dict()))
    yield Context(settings=settings, db=db, clock=lambda: T0)
    db.dispose()


def _story(ctx: Context, rows: list[tuple[str, str, str, int | None]]) -> int:
    """One story of articles (url, outlet, text, index of the article it duplicates)."""
    with ctx.db.session() as session:
        story = Story(thread_id="russia-dprk", first_report_at=T0, last_report_at=T0, title=WIRE[0])
        session.add(story)
        session.flush()
        ids: list[int] = []
        for url, outlet, text, dup in rows:
            article = Article(
                title=WIRE[0],
                text=text,
                lang="en",
                outlet=outlet,
                url=url,
                published_at=T0,
                fetched_at=T0,
                content_hash=hashlib.sha256(f"{url}{text}".encode()).hexdigest(),
                duplicate_of=ids[dup] if dup is not None else None,
            )
            session.add(article)
            session.flush()
            ids.append(article.id)
            session.add(ArticleThread(article_id=article.id, thread_id="russia-dprk", score=1.0))
            session.add(StoryArticle(story_id=story.id, article_id=article.id, thread_id="russia-dprk"))
        story.member_count = len(ids)
        return story.id


def test_a_brief_labels_outlets_counts_a_wire_copy_once_and_marks_kinds(ctx: Context) -> None:
    _story(
        ctx,
        [
            ("https://tass.com/politics/1", "TASS", WIRE[1], None),
            ("https://sputnikglobe.com/x", "Sputnik", WIRE[1] + " Sputnik", 0),  # stored as TASS's copy
            (
                "https://kcna.kp/en/article/1",
                "",
                "Kim Jong Un said the visit strengthened the alliance. " * 3,
                None,
            ),
        ],
    )
    payload = build_brief(ctx, thread_id="russia-dprk", lang="en").payload
    story = payload["stories"][0]
    assert story["corroboration"]["outlets"] == 2 and story["corroboration"]["state"] == 2
    assert story["corroboration"]["party_state_only"] and story["outlet_count"] == 2
    assert story["bullets"][0]["kind"] == "official" and story["bullets"][0]["kind_evidence"]
    text = render_text(payload)
    assert "TASS (Russia, state media, wire)" in text and "KCNA (North Korea, state media, wire)" in text
    assert "2 outlets in 2 countries, all of them state media." in text
    assert "Only state media of the countries involved report this." in text
    assert "• Official: " in text
    json.dumps(payload)  # stored as JSON


def test_stories_show_gives_each_member_its_outlet_and_the_corroboration(ctx: Context) -> None:
    story_id = _story(
        ctx,
        [
            ("https://www.reuters.com/world/x", "Reuters", WIRE[1], None),
            ("https://unknown.example.net/y", "Some Blog", "A different account of the meeting. " * 5, None),
        ],
    )
    with ctx.db.session() as session:
        story = session.get(Story, story_id)
        assert story is not None
        overview = story_overview(session, story)
    assert overview["members"][0]["outlet_info"]["id"] == "reuters"
    assert overview["members"][1]["outlet_info"]["known"] is False
    assert overview["corroboration"]["outlets"] == 2 and not overview["corroboration"]["party_state_only"]
