"""Counted nouns agree in number by CLDR rules, in Arabic and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.qa import RateLimited
from bot.qa.question_limit import check_rate
from bot.text.plural import QUESTIONS, SECONDS, counted, plural_category
from storage.db import Database
from storage.models import QALog


@pytest.mark.parametrize(
    ("n", "arabic", "english"),
    [
        (1, "ثانية واحدة", "1 second"),
        (2, "ثانيتين", "2 seconds"),
        (6, "6 ثوانٍ", "6 seconds"),
        (11, "11 ثانية", "11 seconds"),
        (100, "100 ثانية", "100 seconds"),
    ],
)
def test_seconds_take_the_form_their_count_requires(n: int, arabic: str, english: str) -> None:
    assert counted(n, SECONDS, "ar") == arabic
    assert counted(n, SECONDS, "en") == english


def test_arabic_has_the_six_cldr_categories() -> None:
    assert [plural_category(n, "ar") for n in (0, 1, 2, 3, 11, 100)] == [
        "zero",
        "one",
        "two",
        "few",
        "many",
        "other",
    ]


def test_the_arabic_wait_message_agrees_in_number(db: Database) -> None:
    now = datetime(2025, 7, 12, 8, 0, tzinfo=UTC)
    with db.session() as session:
        for _ in range(10):
            session.add(
                QALog(
                    at=now - timedelta(seconds=54),
                    user="telegram:7",
                    question="q",
                    lang="ar",
                    answer={},
                    method="offline",
                    latency_ms=1.0,
                )
            )
        session.flush()
        with pytest.raises(RateLimited) as caught:
            check_rate(session, "telegram:7", limit=10, now=now, lang="ar")
    assert "10 أسئلة في الدقيقة" in str(caught.value) and "بعد 6 ثوانٍ" in str(caught.value)
    assert "6 ثانية" not in str(caught.value)
    assert counted(10, QUESTIONS, "ar") == "10 أسئلة"
