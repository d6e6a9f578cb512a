"""Synthetic but realistic articles for the benchmarks: Arabic from the seeds, English from a bank.

Every generated article is distinct (random sentence mixes and figures), except the near-duplicates,
which copy an earlier article with an edited title and a changed sentence.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

ENGLISH = [
    "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in the coastal city of Wonsan.",
    "Lavrov said Moscow understands the reasons behind Pyongyang's nuclear programme.",
    "North Korea's foreign minister Choe Son Hui said the two countries share identical strategic views.",
    "Kim Jong Un pledged unconditional support for Russia's actions in the war with Ukraine.",
    "KCNA reported that the talks were held in a warm and friendly atmosphere.",
    "Western intelligence assessments say North Korea may send 25,000 to 30,000 more troops to Russia.",
    "The Wonsan-Kalma beach resort is expected to receive Russian tourists this summer.",
    "Russia and North Korea signed a comprehensive strategic partnership treaty in June 2024.",
    "Sergei Shoigu, secretary of Russia's Security Council, visited Pyongyang for talks with Kim.",
    "Analysts in Seoul said the deepening military cooperation worries Washington and Tokyo.",
    "Saudi Minister of Industry and Mineral Resources Bandar Alkhorayef met Russian mining companies in Moscow.",
    "Non-oil trade between Saudi Arabia and Russia reached 3.28 billion dollars in 2024.",
    "The Russian Direct Investment Fund and Saudi partners discussed joint projects in mining and logistics.",
    "OPEC+ ministers from Riyadh and Moscow agreed to extend the production cuts.",
    "Aramco signed a memorandum of understanding with a Russian engineering firm.",
    "The United States, South Korea and Japan held trilateral air drills near the peninsula.",
    "Officials in Kursk region thanked North Korean engineers for clearing mines.",
    "The Kremlin said President Vladimir Putin had sent warm greetings to the North Korean leader.",
    "The visit lasted three days and included a tour of a new hospital.",
    "Trade between the two countries grew by 12 percent compared with the previous year.",
    "Football fans gathered in the capital to watch the national team's qualifying match.",
    "Heavy rain caused flooding in several districts, and schools were closed on Monday.",
    "The central bank left its key interest rate unchanged at its latest meeting.",
    "A new high-speed rail line will connect the port with the industrial zone by 2027.",
    "The ministry said exports of fertilisers and grain would continue despite sanctions.",
]


@dataclass(slots=True)
class SyntheticArticle:
    guid: str
    title: str
    paragraphs: list[str]
    lang: str

    def html(self) -> str:
        return "".join(f"<p>{p}</p>" for p in self.paragraphs)

    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def arabic_sentences() -> list[str]:
    """Sentences from the seed articles (long enough to be real sentences)."""
    sentences: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        for piece in re.split(r"(?<=[.!؟])\s+|\n+", path.read_text(encoding="utf-8")):
            piece = piece.strip()
            if 60 <= len(piece) <= 400:
                sentences.append(piece)
    return sentences


class Chain:
    """A word-bigram chain over real sentences: text that reads like the corpus but never repeats it."""

    def __init__(self, sentences: list[str]) -> None:
        self.next: dict[str, list[str]] = {}
        self.starts: list[str] = []
        for sentence in sentences:
            words = sentence.split()
            if len(words) < 3:
                continue
            self.starts.append(words[0])
            for a, b in itertools.pairwise(words):
                self.next.setdefault(a, []).append(b)

    def sentence(self, rng: random.Random) -> str:
        word = rng.choice(self.starts)
        words = [word]
        for _ in range(rng.randint(12, 32)):
            word = rng.choice(self.next.get(word) or self.starts)
            words.append(word)
        return " ".join(words).rstrip(".،,") + "."


def articles(
    count: int, *, seed: int = 1, duplicate_ratio: float = 0.1, prefix: str = "bench"
) -> Iterator[SyntheticArticle]:
    """`count` articles of 2–6 KB, about 60% Arabic, with `duplicate_ratio` near-duplicates."""
    rng = random.Random(seed)
    arabic = Chain(arabic_sentences())
    english = Chain(ENGLISH)
    made: list[SyntheticArticle] = []
    for index in range(count):
        if made and rng.random() < duplicate_ratio:
            yield _near_duplicate(rng, rng.choice(made), f"{prefix}-{index}")
            continue
        lang = "ar" if rng.random() < 0.6 else "en"
        chain = arabic if lang == "ar" else english
        article = SyntheticArticle(f"{prefix}-{index}", "", _paragraphs(rng, chain, index), lang)
        article.title = article.paragraphs[0].split(".")[0][:120] + f" ({index})"
        made.append(article)
        yield article


def _paragraphs(rng: random.Random, chain: Chain, index: int) -> list[str]:
    target = rng.randint(2000, 6000)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        sentences = [chain.sentence(rng) for _ in range(rng.randint(2, 4))]
        sentences.append(f"({index}-{len(paragraphs)}: {rng.randint(1000, 999999)})")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8"))
    return paragraphs


def _near_duplicate(rng: random.Random, original: SyntheticArticle, guid: str) -> SyntheticArticle:
    paragraphs = list(original.paragraphs)
    paragraphs[-1] = paragraphs[-1] + " " + rng.choice(ENGLISH)
    return SyntheticArticle(guid, "Updated: " + original.title, paragraphs, original.lang)


def rss(
    items: list[SyntheticArticle],
    *,
    base_url: str,
    title: str,
    teasers: Collection[str] = (),
    pub_date: str = "Sat, 12 Jul 2025 10:00:00 GMT",
) -> bytes:
    """An RSS 2.0 feed carrying each item's full content, except the `teasers` (guids): those carry a
    one-line description, so a reader fetches their page at {base_url}/a/{guid}."""
    from xml.sax.saxutils import escape

    def body(a: SyntheticArticle) -> str:
        if a.guid in teasers:
            return f"<description>{escape(a.paragraphs[0][:120])}</description>"
        return f"<content:encoded><![CDATA[{a.html()}]]></content:encoded>"

    entries = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base_url}/a/{a.guid}</link>"
        f"<guid>{a.guid}</guid><pubDate>{pub_date}</pubDate>{body(a)}</item>"
        for a in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>{base_url}</link>{entries}</channel></rss>"
    ).encode()
