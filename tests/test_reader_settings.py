"""Every subscription setting from chat arguments, in English and Arabic; filters; cadence and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.delivery.subscriptions import subscribe
from bot.reader.chat_settings import SettingsError, change_setting, describe, parse_setting
from bot.reader.filters import AliasTable, StoryText, check_term, passes, term_matches
from bot.reader.gate import corroborated, independent_outlets
from bot.reader.schedule import next_due, quiet_until
from bot.reader.words import contains, phrase
from bot.threads.classify import load_threads
from storage.db import Database
from storage.models import Subscription
from tests.harness import SEEDS, seed_threads

NOW = datetime(2025, 7, 12, 3, 0, tzinfo=UTC)  # Saturday 06:00 in Moscow
ALIASES = AliasTable.from_threads(load_threads(SEEDS / "threads.toml"))


@pytest.mark.parametrize(
    ("args", "values"),
    [
        ("cadence daily", {"cadence": "daily"}),
        ("cadence alerts", {"cadence": "daily", "alerts": True}),
        ("cadence weekly fri", {"cadence": "weekly", "weekday": 4}),
        ("الوتيرة أسبوعي الجمعة", {"cadence": "weekly", "weekday": 4}),
        ("الوتيرة فوري", {"cadence": "daily", "alerts": True}),
        ("alerts off", {"alerts": False}),
        ("تنبيهات تشغيل", {"alerts": True}),
        ("quiet 22:00-7:00", {"quiet_start": "22:00", "quiet_end": "07:00"}),
        ("هدوء إيقاف", {"quiet_start": None, "quiet_end": None}),
        ("lang ar", {"lang": "ar"}),
        ("لغة English", {"lang": "en"}),
        ("time 7:30", {"deliver_at": "07:30"}),
        ("tz Riyadh", {"timezone": "Asia/Riyadh"}),
        ("منطقة Asia/Seoul", {"timezone": "Asia/Seoul"}),
        ("filters clear", {"include_terms": [], "exclude_terms": []}),
    ],
)
def test_each_setting_is_read_from_english_or_arabic_arguments(args: str, values: dict[str, object]) -> None:
    assert parse_setting(args).values == values


def test_filter_terms_are_split_on_latin_and_arabic_commas() -> None:
    assert parse_setting("include Shoigu, Wonsan port").add_include == ("Shoigu", "Wonsan port")
    assert parse_setting("استبعاد شويغو، ميناء وونسان").add_exclude == ("شويغو", "ميناء وونسان")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("colour blue", "unknown setting"),
        ("cadence hourly", "daily, weekly or alerts"),
        ("quiet 22:00", "HH:MM-HH:MM"),
        ("quiet 22:00-22:00", "different times"),
        ("time 25:00", "not a time of day"),
        ("tz Mars/Olympus", "unknown time zone"),
        ("lang fr", "ar or en"),
        ("include one two three four five six", "at most 5"),
        ("include ,,", "one or more words"),
        ("cadence weekly someday", "day of the week"),
    ],
)
def test_a_bad_setting_gets_a_clear_error(args: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_setting(args)


def test_settings_apply_to_the_chats_subscriptions_and_move_the_next_brief(db: Database) -> None:
    with db.session() as session:
        seed_threads(session)
    with db.session() as session:
        subscribe(session, platform="slack", chat_id="C1", thread_id="russia-dprk", lang="both",
                  deliver_at="07:00", timezone="Europe/Moscow", now=NOW)  # fmt: skip
    with db.session() as session:
        applied = change_setting(session, "cadence weekly mon", platform="slack", chat_id="C1", now=NOW)
        assert len(applied.changed) == 2
        change_setting(session, "include Shoigu", platform="slack", chat_id="C1", now=NOW, lang="ar")
        change_setting(session, "include Wonsan, Shoigu", platform="slack", chat_id="C1", now=NOW, lang="ar")
        again = change_setting(session, "cadence weekly mon", platform="slack", chat_id="C1", now=NOW)
        assert again.changed == {}  # nothing new
        with pytest.raises(SettingsError, match="already has a en subscription"):
            change_setting(session, "lang en", platform="slack", chat_id="C1", now=NOW, lang="ar")
        with pytest.raises(SettingsError, match="subscribe first"):
            change_setting(session, "alerts on", platform="slack", chat_id="C2", now=NOW)
        with pytest.raises(SettingsError, match="at most 3 filter terms"):
            change_setting(session, "exclude a, b", platform="slack", chat_id="C1", now=NOW, max_terms=3)
    with db.session() as session:
        rows = {r.lang: r for r in session.scalars(select(Subscription))}
        assert rows["ar"].include_terms == ["Shoigu", "Wonsan"] and rows["en"].include_terms == []
        assert rows["ar"].next_due_at == datetime(2025, 7, 14, 4, 0, tzinfo=UTC)  # Monday 07:00 Moscow
        assert describe(rows["ar"])["weekday"] == "mon"


def test_the_next_weekly_brief_falls_on_its_weekday_in_the_readers_zone() -> None:
    assert next_due("weekly", 0, "07:00", "Asia/Riyadh", after=NOW) == datetime(2025, 7, 14, 4, 0, tzinfo=UTC)
    assert next_due("weekly", 5, "07:00", "Asia/Riyadh", after=NOW) == datetime(2025, 7, 12, 4, 0, tzinfo=UTC)
    assert next_due("daily", 0, "05:00", "Asia/Riyadh", after=NOW) == datetime(2025, 7, 13, 2, 0, tzinfo=UTC)


def test_quiet_hours_span_midnight_and_end_at_their_local_end() -> None:
    # 06:00 in Moscow
    assert quiet_until("22:00", "07:00", "Europe/Moscow", now=NOW) == datetime(2025, 7, 12, 4, 0, tzinfo=UTC)
    assert quiet_until("01:00", "05:00", "Europe/Moscow", now=NOW) is None
    assert quiet_until("05:00", "09:00", "Europe/Moscow", now=NOW) == datetime(2025, 7, 12, 6, 0, tzinfo=UTC)
    assert quiet_until(None, None, "Europe/Moscow", now=NOW) is None


def test_words_match_whole_words_in_a_row_with_arabic_clitics() -> None:
    words = phrase("وقالت وزارة الدفاع للرياض إن شويغو وصل")
    assert contains(words, phrase("قالت"))
    assert contains(words, phrase("الرياض"))  # ل + ال written لل
    assert contains(words, phrase("وزارة الدفاع"))
    assert not contains(words, phrase("الدفاع وزارة"))
    assert not contains(phrase("Belarusian"), phrase("Russia"))


def test_a_filter_on_an_entity_name_matches_its_aliases_in_either_language() -> None:
    arabic = StoryText.of(["وصل سيرجي شويجو إلى بيونغ يانغ"])
    assert term_matches("Shoigu", arabic, ALIASES)
    assert term_matches("شويغو", StoryText.of(["Shoigu lands in Pyongyang"]), ALIASES)
    assert term_matches("Shoigu", StoryText.of(["nothing here"], entities=["shoigu"]), ALIASES)
    assert not term_matches("Wonsan", arabic, ALIASES)
    assert passes(["Wonsan", "Shoigu"], [], arabic, ALIASES)
    assert not passes([], ["shoigu"], arabic, ALIASES)
    assert passes([], [], arabic, ALIASES)


def test_a_filter_term_is_words_not_a_pattern() -> None:
    assert check_term("  (a+)+$  ") == "(a+)+$"  # kept as words; never compiled
    assert not term_matches("(a+)+$", StoryText.of(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"]), ALIASES)


class _Member:
    def __init__(
        self, n: int, outlet: str, *, dup: int | None = None, title: str = "t", text: str = "x"
    ) -> None:
        self.id, self.outlet, self.url, self.duplicate_of = n, outlet, None, dup
        self.title, self.text, self.content_hash = title, text, f"h{n}"


def test_wire_copies_count_once_and_an_official_cue_corroborates() -> None:
    wire = [_Member(1, "AP"), _Member(2, "Daily", dup=1), _Member(3, "Other", dup=1)]
    assert independent_outlets(wire) == 1
    assert not corroborated(wire, min_outlets=2).ok
    assert corroborated([*wire, _Member(4, "Reuters")], min_outlets=2).reason == "outlets:2"
    ministry = _Member(5, "x", title="وزارة الخارجية الروسية: لافروف يزور بيونغ يانغ", text="وقالت الوزارة")
    assert corroborated([ministry], min_outlets=2).reason == "official:وزاره"
    assert not corroborated([_Member(6, "x", title="Ministry building renovated")], min_outlets=2).ok
