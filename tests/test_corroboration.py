"""Corroboration per story: outlets, countries, state media; wire copies once; the flags; the line."""

from __future__ import annotations

import pytest

from bot.attribution.corroboration import Report, corroborate, line, summary_line
from bot.attribution.outlets import UNKNOWN, catalogue

WIRE_TEXT = " ".join(f"word{i}" for i in range(60))


def _report(
    article_id: int, url: str, *, duplicate_of: int | None = None, text: str = "", name: str = ""
) -> Report:
    info = catalogue().info(url, name)
    return Report(article_id, info, name or url, duplicate_of, text)


def test_wire_copies_count_once_as_the_wire() -> None:
    reports = [
        _report(1, "https://tass.com/politics/1", text=WIRE_TEXT),
        _report(2, "https://sputnikglobe.com/x", duplicate_of=1),  # stored as TASS's duplicate
        _report(3, "https://www.aljazeera.net/news/x", text=WIRE_TEXT + " extra words here"),  # near copy
        _report(4, "https://www.reuters.com/world/x", text="an independent report of the same event " * 5),
    ]
    result = corroborate(reports)
    assert (result.outlets, result.countries, result.state) == (2, 2, 1)
    assert result.voices == [[1, 2, 3]]


def test_a_single_outlet_is_flagged() -> None:
    result = corroborate([_report(1, "https://www.reuters.com/x"), _report(2, "https://www.reuters.com/y")])
    assert result.single and result.outlets == 1


def test_only_state_media_of_the_parties_is_flagged_and_a_third_voice_clears_it() -> None:
    party_state = [_report(1, "https://kcna.kp/x"), _report(2, "https://tass.ru/x")]
    assert corroborate(party_state, parties={"RU", "KP"}).party_state_only
    with_yonhap = [*party_state, _report(3, "https://en.yna.co.kr/x")]
    assert not corroborate(with_yonhap, parties={"RU", "KP"}).party_state_only
    unknown = [*party_state, Report(3, UNKNOWN, "Some Blog")]
    assert not corroborate(unknown, parties={"RU", "KP"}).party_state_only


def test_the_line_reads_as_the_issue_asks_in_both_languages() -> None:
    data = {"outlets": 5, "countries": 4, "state": 2, "unknown": 0}
    assert line(data, "en") == "5 outlets in 4 countries, 2 of them state media"
    assert line(data, "ar") == "5 وسائل إعلام من 4 دول، منها اثنتان حكوميتان"


@pytest.mark.parametrize(
    ("n", "countries", "expected"),
    [
        (1, 1, "وسيلة إعلام واحدة من دولة واحدة"),
        (2, 2, "وسيلتا إعلام من دولتين"),
        (3, 3, "3 وسائل إعلام من 3 دول"),
        (11, 11, "11 وسيلة إعلام من 11 دولة"),
        (103, 12, "103 وسائل إعلام من 12 دولة"),
    ],
)
def test_arabic_counts_agree_with_their_number(n: int, countries: int, expected: str) -> None:
    assert line({"outlets": n, "countries": countries, "state": 0, "unknown": 0}, "ar") == expected


def test_english_singulars_and_the_flags_follow_the_counts() -> None:
    single = {
        "outlets": 1,
        "countries": 1,
        "state": 1,
        "unknown": 0,
        "single": True,
        "party_state_only": True,
    }
    assert summary_line(single, "en") == (
        "1 outlet in 1 country, state media. Single source: only one outlet reports this. "
        "Only state media of the countries involved report this."
    )
    assert "مصدر واحد" in summary_line(single, "ar")
    assert line({"outlets": 3, "countries": 2, "state": 0, "unknown": 1}, "en") == (
        "3 outlets in 2 countries, 1 of them unidentified"
    )
    assert line({"outlets": 1, "countries": 0, "state": 0, "unknown": 1}, "en") == "1 outlet, not identified"
    assert (
        line({"outlets": 1, "countries": 0, "state": 0, "unknown": 1}, "ar") == "وسيلة إعلام واحدة، غير مصنفة"
    )
    assert line({"outlets": 3, "countries": 1, "state": 0, "unknown": 2}, "ar") == (
        "3 وسائل إعلام من دولة واحدة، منها اثنتان غير مصنفتين"
    )
    assert line(None, "en") == "" and summary_line({}, "ar") == ""


def test_the_signature_dedupe_stored_is_used_rather_than_computed_again() -> None:
    from bot.ingest.dedupe import fingerprint

    stored = fingerprint(WIRE_TEXT).to_bytes()
    # Different texts, but the stored signatures say they are one text: the stored ones decide.
    reports = [
        Report(1, catalogue().info("https://tass.com/a"), "TASS", None, "alpha beta " * 20, stored),
        Report(
            2, catalogue().info("https://www.reuters.com/b"), "Reuters", None, "gamma delta " * 20, stored
        ),
    ]
    assert corroborate(reports).outlets == 1
