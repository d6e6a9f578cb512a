"""Subscriptions: validation, local due times across daylight saving, and ending a chat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.context import Context
from bot.delivery.subscriptions import (
    SubscriptionError,
    end_chat,
    list_subscriptions,
    next_due_at,
    parse_hhmm,
    parse_zone,
    subscribe,
    unsubscribe,
)
from bot.threads.classify import load_threads
from storage.db import Database
from storage.models import Thread

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
NOW = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", embedder="none")
    db = Database(settings.effective_database_url)
    db.upgrade()
    with db.session() as session:
        for t in load_threads(SEEDS / "threads.toml"):
            session.add(Thread(id=t.id, name_en=t.name_en, name_ar=t.name_ar, definition=t.to_dict()))
    yield Context(settings=settings, db=db, clock=lambda: NOW)
    db.dispose()


def test_due_time_is_the_next_local_occurrence() -> None:
    # 07:00 in Riyadh (UTC+3) is 04:00 UTC; at 08:00 UTC today's has passed, so tomorrow's.
    assert next_due_at("07:00", "Asia/Riyadh", after=NOW) == datetime(2025, 7, 13, 4, 0, tzinfo=UTC)
    assert next_due_at("12:30", "Asia/Riyadh", after=NOW) == datetime(2025, 7, 12, 9, 30, tzinfo=UTC)


def test_local_hour_is_kept_across_daylight_saving() -> None:
    winter = next_due_at("07:00", "Europe/London", after=datetime(2025, 3, 29, 12, 0, tzinfo=UTC))
    summer = next_due_at("07:00", "Europe/London", after=winter)
    assert winter == datetime(2025, 3, 30, 6, 0, tzinfo=UTC)  # the change happened at 01:00 UTC that night
    assert summer == datetime(2025, 3, 31, 6, 0, tzinfo=UTC)
    autumn = next_due_at("07:00", "Europe/London", after=datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
    assert autumn == datetime(2025, 10, 26, 7, 0, tzinfo=UTC)


def test_repeated_hour_of_fall_back_is_delivered_once() -> None:
    first = next_due_at("01:30", "Europe/London", after=datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
    assert first == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 01:30 BST, the first of the two
    assert next_due_at("01:30", "Europe/London", after=first) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)


def test_missing_hour_of_spring_forward_is_still_delivered() -> None:
    due = next_due_at("01:30", "Europe/London", after=datetime(2025, 3, 29, 12, 0, tzinfo=UTC))
    assert due.date() == datetime(2025, 3, 30).date()


def test_times_and_zones_are_checked() -> None:
    assert parse_hhmm("7:05") == "07:05"
    assert parse_zone("Riyadh") == "Asia/Riyadh"
    assert parse_zone("America/New_York") == "America/New_York"
    for bad in ("25:00", "7", "07:60"):
        with pytest.raises(SubscriptionError, match="HH:MM"):
            parse_hhmm(bad)
    with pytest.raises(SubscriptionError, match="time zone"):
        parse_zone("Mars/Olympus")


def test_both_languages_make_two_subscriptions_and_resubscribing_updates(ctx: Context) -> None:
    with ctx.db.session() as session:
        rows = subscribe(
            session, platform="telegram", chat_id="42", thread_id="russia-dprk", lang="both",
            deliver_at="07:00", timezone="Asia/Seoul", now=NOW,
        )  # fmt: skip
        assert sorted(r.lang for r in rows) == ["ar", "en"]
        subscribe(
            session, platform="telegram", chat_id="42", thread_id="russia-dprk", lang="en",
            deliver_at="09:15", timezone="Europe/Moscow", now=NOW,
        )  # fmt: skip
        views = list_subscriptions(session, chat_id="42")
    assert [(v.lang, v.deliver_at, v.timezone) for v in views] == [
        ("ar", "07:00", "Asia/Seoul"),
        ("en", "09:15", "Europe/Moscow"),
    ]


def test_unknown_thread_or_language_is_refused(ctx: Context) -> None:
    with ctx.db.session() as session:
        with pytest.raises(SubscriptionError, match="no active thread"):
            subscribe(session, platform="telegram", chat_id="1", thread_id="mars", lang="en",
                      deliver_at="07:00", timezone="UTC", now=NOW)  # fmt: skip
        with pytest.raises(SubscriptionError, match="ar, en or both"):
            subscribe(session, platform="telegram", chat_id="1", thread_id="russia-dprk", lang="fr",
                      deliver_at="07:00", timezone="UTC", now=NOW)  # fmt: skip


def test_unsubscribe_and_end_chat_stop_only_that_chat(ctx: Context) -> None:
    with ctx.db.session() as session:
        for chat in ("1", "2"):
            subscribe(session, platform="telegram", chat_id=chat, thread_id="russia-dprk", lang="both",
                      deliver_at="07:00", timezone="UTC", now=NOW)  # fmt: skip
        assert unsubscribe(session, platform="telegram", chat_id="1", lang="ar") == 1
        assert end_chat(session, platform="telegram", chat_id="1", reason="blocked") == 1
        assert list_subscriptions(session, chat_id="1") == []
        assert len(list_subscriptions(session, chat_id="2")) == 2
