"""The offline summarizer and the key-facts card, on the real seed texts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.summarize import SourceArticle, StoryInput
from bot.summarize.offline import OfflineSummarizer
from bot.text.figures import number_keys
from bot.text.glossary import default_glossary
from bot.text.normalize import normalize
from bot.text.stem import terms
from bot.threads.classify import ThreadClassifier, load_threads

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
THREADS = {t.id: t for t in load_threads(SEEDS / "threads.toml")}
CLASSIFIER = ThreadClassifier(THREADS.values())
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def seed(number: str, article_id: int) -> SourceArticle:
    """A seed file as an article: first non-empty line as title, the rest as paragraphs."""
    path = next(SEEDS.glob(f"{number}_*.txt"))
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return SourceArticle(article_id, lines[0], "\n\n".join(lines[1:]), "ar")


ENGLISH = SourceArticle(
    9,
    "Lavrov meets Kim Jong Un in Wonsan",
    "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in the coastal city of Wonsan. "
    "Lavrov conveyed greetings from President Vladimir Putin and said Moscow would honour its agreements.\n\n"
    "North Korea has sent thousands of troops to help Russia in the Kursk region, officials in Seoul said. "
    "Related coverage: https://example.com/more",
    "en",
)


@pytest.fixture
def summarizer() -> OfflineSummarizer:
    return OfflineSummarizer(entities=CLASSIFIER.entities_in, glossary=default_glossary())


def lavrov_story(*extra: SourceArticle) -> StoryInput:
    members = [seed("000", 1), seed("001", 2), seed("003", 4), seed("004", 5), *extra]
    return StoryInput(1, THREADS["russia-dprk"], members)


def test_arabic_bullets_are_arabic_sentences_copied_word_for_word(summarizer: OfflineSummarizer) -> None:
    story = lavrov_story()
    summary = summarizer.summarize(story)["ar"]
    assert summary.method == "offline"
    assert 1 <= len(summary.bullets) <= 3
    for bullet in summary.bullets:
        assert ARABIC_LETTER.search(bullet.text)
        assert any(bullet.text in a.text for a in story.articles if a.id in bullet.cites)


def test_three_bullets_say_three_things(summarizer: OfflineSummarizer) -> None:
    bullets = summarizer.summarize(lavrov_story())["ar"].bullets
    stems = [set(terms(b.text, "ar")) for b in bullets]
    for i, a in enumerate(stems):
        for b in stems[i + 1 :]:
            assert len(a & b) / len(a | b) < 0.5


def test_bullets_cite_every_member_that_carries_them_and_only_those(summarizer: OfflineSummarizer) -> None:
    story = lavrov_story()
    texts = {a.id: a.text for a in story.articles}
    for bullet in summarizer.summarize(story)["ar"].bullets:
        cited = set().union(*(number_keys(texts[c]) for c in bullet.cites))
        assert number_keys(bullet.text) <= cited


def test_english_bullets_come_from_english_sources_only(summarizer: OfflineSummarizer) -> None:
    summary = summarizer.summarize(lavrov_story(ENGLISH))["en"]
    assert summary.method == "offline"
    assert all(b.cites == (9,) and b.text in ENGLISH.text for b in summary.bullets)
    assert not any("https://" in b.text for b in summary.bullets)


def test_a_story_of_one_thread_ignores_the_paragraphs_on_another(summarizer: OfflineSummarizer) -> None:
    # Seed 000 covers Lavrov in North Korea and Saudi mining talks in Moscow.
    story = StoryInput(3, THREADS["saudi-russia"], [seed("000", 1)])
    summary = summarizer.summarize(story)["ar"]
    joined = normalize(" ".join(b.text for b in summary.bullets))
    assert "السعوديه" in joined or "المملكه" in joined
    assert "لافروف" not in joined and "كيم" not in joined


def test_the_english_card_for_arabic_sources_gives_who_and_figures_in_english(
    summarizer: OfflineSummarizer,
) -> None:
    story = StoryInput(3, THREADS["saudi-russia"], [seed("000", 1)])
    card = summarizer.summarize(story)["en"]
    assert card.method == "keyfacts"
    assert "Arabic sources" in card.note and "LLM" in card.note
    lines = {b.text.split(":")[0]: b.text for b in card.bullets}
    assert "Bandar Alkhorayef" in lines["Who"]
    assert "non-oil trade of $3.28 billion in 2024" in lines["What"]
    assert all(b.cites == (1,) for b in card.bullets)
    facts = [b.text for b in card.bullets if not b.text.startswith("Based on:")]
    assert not ARABIC_LETTER.search(" ".join(facts) + card.headline)


def test_the_card_of_the_lavrov_story_names_its_people_in_english(summarizer: OfflineSummarizer) -> None:
    card = summarizer.summarize(lavrov_story())["en"]
    who = next(b for b in card.bullets if b.text.startswith("Who:"))
    assert "Sergei Lavrov" in who.text and "Kim Jong Un" in who.text
    assert "Bandar Alkhorayef" not in who.text  # the Saudi half of 000 is another thread's story


def test_the_card_renders_counted_figures_with_their_unit() -> None:
    article = SourceArticle(
        1,
        "روسيا وكوريا الشمالية",
        "قالت تقارير إن كوريا الشمالية قد ترسل ما بين 25 ألف و30 ألف جندي إلى روسيا، وإن بيونغ يانغ "
        "استقبلت 20 ألف زائر روسي هذا العام.",
        "ar",
    )
    card = OfflineSummarizer(entities=CLASSIFIER.entities_in, glossary=default_glossary()).summarize(
        StoryInput(1, THREADS["russia-dprk"], [article])
    )["en"]
    figures = next(b for b in card.bullets if b.text.startswith("What:"))
    assert "20,000 visitors" in figures.text and "25,000–30,000 North Korean troops" in figures.text


def test_an_english_only_story_gets_an_arabic_card(summarizer: OfflineSummarizer) -> None:
    card = summarizer.summarize(StoryInput(1, THREADS["russia-dprk"], [ENGLISH]))["ar"]
    assert card.method == "keyfacts"
    assert "سيرغي لافروف" in " ".join(b.text for b in card.bullets)


def dated_seed(number: str, article_id: int, day: int = 12) -> SourceArticle:
    plain = seed(number, article_id)
    when = datetime(2025, 7, day, 9, 0, tzinfo=UTC)
    return SourceArticle(plain.id, plain.title, plain.text, plain.lang, when, "Outlet")


def test_an_article_on_two_threads_gets_each_threads_headline(summarizer: OfflineSummarizer) -> None:
    # Seed 000's title names both the DPRK visit and the Saudi talks; its Saudi story needs a Saudi headline.
    saudi = summarizer.summarize(StoryInput(3, THREADS["saudi-russia"], [seed("000", 1)]))["ar"]
    assert saudi.headline == "السعودية تعمّق شراكتها مع روسيا: 3.28 مليار دولار تجارة غير نفطية"
    dprk = summarizer.summarize(StoryInput(4, THREADS["russia-dprk"], [seed("000", 1)]))["ar"]
    assert "السعودية" not in dprk.headline and ("لافروف" in dprk.headline or "كيم" in dprk.headline)


def test_the_sentence_with_the_trade_figures_year_is_a_bullet(summarizer: OfflineSummarizer) -> None:
    summary = summarizer.summarize(StoryInput(3, THREADS["saudi-russia"], [seed("000", 1)]))["ar"]
    assert any("إلى 3.28 مليار دولار في 2024" in b.text for b in summary.bullets)


def test_bullets_carry_no_dateline(summarizer: OfflineSummarizer) -> None:
    bullets = summarizer.summarize(lavrov_story())["ar"].bullets
    assert bullets and not any(b.text.startswith("وكالات") for b in bullets)


def test_the_lavrov_bullets_never_repeat_each_other(summarizer: OfflineSummarizer) -> None:
    # "Lavrov conveyed Putin's greetings to Kim" and "Lavrov handed Kim Putin's message" are one fact.
    bullets = summarizer.summarize(lavrov_story())["ar"].bullets
    greeting = [b for b in bullets if "تحيات الرئيس" in b.text or "رسالة رسمية من الرئيس" in b.text]
    assert len(greeting) <= 1


def test_bullets_say_when_with_absolute_dates(summarizer: OfflineSummarizer) -> None:
    story = StoryInput(1, THREADS["russia-dprk"], [dated_seed("000", 1), dated_seed("001", 2)])
    bullets = summarizer.summarize(story)["ar"].bullets
    joined = " ".join(b.text for b in bullets)
    assert "اليوم السبت" not in joined and "أمس" not in joined
    assert "12 يوليو 2025" in joined


def lavrov_card(summarizer: OfflineSummarizer) -> dict[str, str]:
    story = StoryInput(
        1,
        THREADS["russia-dprk"],
        [dated_seed("000", 1), dated_seed("001", 2), dated_seed("003", 4, 10), dated_seed("004", 5)],
    )
    card = summarizer.summarize(story)["en"]
    return {b.text.split(":")[0]: b.text for b in card.bullets}


def test_the_card_names_the_events_place_not_the_capital_named_most(summarizer: OfflineSummarizer) -> None:
    lines = lavrov_card(summarizer)
    assert lines["Where"] == "Where: Wonsan, North Korea"


def test_the_card_says_when_with_an_absolute_date(summarizer: OfflineSummarizer) -> None:
    assert lavrov_card(summarizer)["When"] == "When: 12 July 2025"


def test_the_card_gives_each_figure_its_unit_and_noun(summarizer: OfflineSummarizer) -> None:
    what = lavrov_card(summarizer)["What"]
    assert "25,000–30,000 additional North Korean troops" in what
    assert "25,000 soldiers" not in what and "30,000 soldiers" not in what


def test_a_figure_whose_noun_is_unknown_is_left_out() -> None:
    article = SourceArticle(
        1, "السعودية وروسيا", "قالت السعودية وروسيا إن القيمة بلغت 7 مليارات دولار.", "ar"
    )
    card = OfflineSummarizer(entities=CLASSIFIER.entities_in, glossary=default_glossary()).summarize(
        StoryInput(1, THREADS["saudi-russia"], [article])
    )["en"]
    assert "$7 billion" not in " ".join(b.text for b in card.bullets)


def test_the_card_quotes_the_sentences_it_rests_on(summarizer: OfflineSummarizer) -> None:
    story = StoryInput(3, THREADS["saudi-russia"], [seed("000", 1)])
    basis = [b for b in summarizer.summarize(story)["en"].bullets if b.text.startswith("Based on:")]
    assert any("3.28 مليار دولار في 2024" in b.text for b in basis)
    assert all(b.cites == (1,) for b in basis)


def test_the_card_of_one_thread_takes_no_place_of_another(summarizer: OfflineSummarizer) -> None:
    # Seed 000's Saudi half sits next to Lavrov in Wonsan, and invites firms to a forum in Riyadh in 2026.
    card = summarizer.summarize(StoryInput(3, THREADS["saudi-russia"], [dated_seed("000", 1)]))["en"]
    where = next((b.text for b in card.bullets if b.text.startswith("Where:")), "")
    assert "Wonsan" not in where and "Riyadh" not in where
