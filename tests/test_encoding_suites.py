"""The peers' own encoding suites (feedparser, Miniflux) and their neighbours, run in CI as floors.

The same cases and scoring as `python bench/encoding.py`, which prints the figures.
"""

from __future__ import annotations

import pytest

from bench.encoding import KNOWN_DISAGREEMENTS, SCRIPTS, Outcome, all_cases, evaluate, summary


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return evaluate(all_cases())


def test_every_suite_is_read_at_least_as_well_as_feedparser_reads_it(outcomes: list[Outcome]) -> None:
    for suite, (cases, ours, feedparsers) in summary(outcomes).items():
        assert ours >= feedparsers, f"{suite}: newsbrief {ours}/{cases}, feedparser {feedparsers}/{cases}"


def test_every_case_in_a_script_newsbrief_follows_is_right(outcomes: list[Outcome]) -> None:
    scripted = [o for o in outcomes if o.case.script in SCRIPTS]
    wrong = [
        f"{o.case.suite}/{o.case.name}: {o.our_rule}"
        for o in scripted
        if not o.ours and f"{o.case.suite}/{o.case.name}" not in KNOWN_DISAGREEMENTS
    ]
    assert not wrong
    assert {o.case.script for o in scripted} >= {"latin", "arabic", "cyrillic", "cjk"}


def test_only_the_documented_disagreements_fail(outcomes: list[Outcome]) -> None:
    failed = {f"{o.case.suite}/{o.case.name}" for o in outcomes if not o.ours}
    assert failed == set(KNOWN_DISAGREEMENTS)


def test_the_suites_hold_every_case_they_claim(outcomes: list[Outcome]) -> None:
    counts = {suite: cases for suite, (cases, _, _) in summary(outcomes).items()}
    assert counts == {"feedparser": 82, "miniflux": 17, "neighbours": 7, "all": 106}
