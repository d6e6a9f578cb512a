"""The English key-facts card of a story told only in Arabic, built from the bilingual glossary.

- Where: the event's place, not the capital named most often: a glossary place named after a word of
  place («في», «بمدينة», «إلى»), capitals counting little (they are named as actors: "Moscow and
  Pyongyang"), countries only when nothing finer is named. "Wonsan, North Korea".
- When: the dates the sentences give once relative words are made absolute against the article's
  date; else the day the sources were published ("reported 12 July 2025").
- What: each figure with its unit and its noun: "25,000–30,000 additional North Korean troops",
  "non-oil trade of $3.28 billion in 2024". A figure whose noun the glossary cannot name is left out.
- Based on: the source sentences the where, when and what lines come from, quoted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from bot.summarize import Bullet, SourceArticle
from bot.summarize.bullets import absolute_dates, format_date, strip_dateline
from bot.text.figures import Figure, PartialDate, english_figure, figures
from bot.text.glossary import Glossary, Term
from bot.text.normalize import normalize
from bot.text.sentences import split_sentences

MAX_FIGURES = 4
MAX_BASIS = 3
BASIS_CHARS = 220
CAPITAL_WEIGHT = 0.3
_LOCATIVE = frozenset(normalize("في بمدينة مدينة بمنتجع منتجع الى إلى وصل داخل قرب in at to").split())
_RANGE = re.compile(r"^\s*(?:إلى|الى|و|-|–|—|to|and)\s*$")
# "from $491 million in 2016 to $3.28 billion in 2024": the later figure is the news, the earlier its base.
_FROM_TO = re.compile(r"^\s*(?:في|عام|in)\s*((?:19|20)\d\d)\s*(?:إلى|الى|to)\s*$")
_YEAR_AFTER = re.compile(r"^\s*(?:في|عام|خلال|in)\s*(?:عام\s*)?((?:19|20)\d\d)\b")
# Units whose nationality is the country that sends them ("North Korean troops"); not visitors.
_FUTURE = re.compile(
    r"\b(will|next|upcoming|invited)\b|سوف|المقبل|المقبلة|القادم|القادمة|للمشاركة في|دعا|يعتزم|تعتزم",
    re.IGNORECASE,
)
_PEOPLE_UNITS = frozenset({"troops", "workers"})


@dataclass(frozen=True, slots=True)
class Sentence:
    """A source sentence on the story's thread, with relative dates made absolute."""

    article_id: int
    text: str
    year: int | None = None  # the article's year, when known


@dataclass(frozen=True, slots=True)
class Fact:
    """One card line's content and the sentences it rests on."""

    text: str
    basis: tuple[Sentence, ...]


def sentences_of(articles: Sequence[SourceArticle]) -> list[Sentence]:
    """Every sentence of the (thread-relevant) articles, dateline cut, relative dates made absolute."""
    out = []
    for article in articles:
        for paragraph in article.text.split("\n"):
            for raw in split_sentences(paragraph) or []:
                text = absolute_dates(strip_dateline(raw.strip()), article.lang, article.when)
                if text:
                    out.append(Sentence(article.id, text, article.when.year if article.when else None))
    return out


def where(sentences: Sequence[Sentence], glossary: Glossary, countries: Collection[str] = ()) -> Fact | None:
    """The event's place: the glossary place most often named after a word of place.

    With `countries` (the thread's, in English), only places in them count: a Saudi–Russia story
    does not take place in Wonsan because its article also covers Lavrov's visit.
    """
    scores: dict[Term, float] = {}
    basis: dict[Term, list[Sentence]] = {}
    for sentence in sentences:
        if _looks_ahead(sentence):
            continue  # «منتدى … في الرياض عام 2026»: a place of things to come, not of the event
        folded = normalize(sentence.text)
        for found in glossary.find(sentence.text, ["place"]):
            term = found.term
            if countries and (term.country or term.en) not in countries:
                continue
            before = folded[: found.start].split()[-1:]
            located = any(w in _LOCATIVE for w in before) or _clitic_locative(folded, found.start)
            weight = (2.0 if located else 0.25) * (CAPITAL_WEIGHT if term.capital else 1.0)
            if not term.country and not term.capital:  # a country: the venue only if nothing finer is
                weight = 0.1 if located else 0.0
            scores[term] = scores.get(term, 0.0) + weight
            if located:
                basis.setdefault(term, []).append(sentence)
    if not any(scores.values()):
        return None  # no place is named as the venue: better no "Where" than a guess
    best = max(scores, key=lambda t: scores[t])
    shown = f"{best.en}, {best.country}" if best.country else best.en
    return Fact(shown, tuple(basis.get(best, [])[:1]))


def _looks_ahead(sentence: Sentence) -> bool:
    """A sentence about what is to come: a later year than its article's, or words of the future."""
    if _FUTURE.search(sentence.text):
        return True
    years = [f.value for f in figures(sentence.text) if f.kind == "year"]
    return sentence.year is not None and any(int(str(y)) > sentence.year for y in years)


def _clitic_locative(folded: str, start: int) -> bool:
    """«بوونسان», «لموسكو»: the place word carries its preposition."""
    return start > 0 and folded[start - 1] in "بل" and (start == 1 or not folded[start - 2].isalnum())


def when(sentences: Sequence[Sentence], articles: Sequence[SourceArticle]) -> Fact | None:
    """The most common full date the sentences give; else the day the sources were published."""
    dates: Counter[date] = Counter()
    basis: dict[date, Sentence] = {}
    for sentence in sentences:
        for figure in figures(sentence.text):
            value = figure.value
            if isinstance(value, PartialDate) and value.year and value.day:
                day = date(value.year, value.month, value.day)
                dates[day] += 1
                basis.setdefault(day, sentence)
    if dates:
        day, _ = dates.most_common(1)[0]
        return Fact(format_date(day, "en"), (basis[day],))
    published = sorted({a.when.date() for a in articles if a.when is not None})
    if not published:
        return None
    return Fact("reported " + "; ".join(format_date(d, "en") for d in published[:2]), ())


def what(sentences: Sequence[Sentence], glossary: Glossary, headline_keys: set[str]) -> list[Fact]:
    """Each figure with its unit and noun, the headline's figures first; figures with no noun are left out."""
    facts: list[tuple[int, Fact]] = []
    seen: set[str] = set()
    for sentence in sentences:
        found = [f for f in figures(sentence.text) if f.kind in ("money", "count", "percent", "number")]
        skip = -1
        for i, figure in enumerate(found):
            if i <= skip or figure.key in seen:
                continue
            following = found[i + 1] if i + 1 < len(found) else None
            rise = _FROM_TO.match(sentence.text[figure.end : following.start]) if following else None
            if following is not None and rise and following.kind == figure.kind:
                phrase = _phrase(sentence.text, following, None, glossary, noun_before=figure.start)
                if phrase:
                    phrase += f" (from {english_figure(figure)} in {rise.group(1)})"
                    rank = 0 if following.key in headline_keys else 1
                    facts.append((rank, Fact(phrase, (sentence,))))
                seen.update({figure.key, following.key})
                skip = i + 1
                continue
            upper = (
                found[i + 1] if i + 1 < len(found) and _ranged(sentence.text, figure, found[i + 1]) else None
            )
            if upper is None and figure.kind == "number":
                continue  # a bare number counts nothing on its own
            if upper is not None and figure.kind == "number":
                figure = _as_kind(figure, upper)
            last = upper or figure
            phrase = _phrase(sentence.text, figure, upper, glossary)
            seen.update({figure.key, last.key})
            if upper is not None:
                skip = i + 1
            if phrase:
                rank = 0 if {figure.key, last.key} & headline_keys else (1 if figure.kind == "money" else 2)
                facts.append((rank, Fact(phrase, (sentence,))))
    facts.sort(key=lambda item: item[0])
    return [fact for _, fact in facts[:MAX_FIGURES]]


def _ranged(text: str, low: Figure, high: Figure) -> bool:
    """ "25 إلى 30 ألف جندي", "25 ألف و30 ألف جندي": two figures of one thing joined by "to" or "and"."""
    same = (low.kind == high.kind and low.unit == high.unit) or (low.kind == "number" and low.unit is None)
    return same and high.kind != "number" and bool(_RANGE.match(text[low.end : high.start]))


def _as_kind(low: Figure, high: Figure) -> Figure:
    """The lower end of a range, counted in the upper end's unit."""
    return Figure(low.value, high.unit, low.scale, low.raw, high.kind, low.start, low.end)


def _phrase(
    text: str, figure: Figure, upper: Figure | None, glossary: Glossary, *, noun_before: int | None = None
) -> str:
    last = upper or figure
    amount = _amount(figure) + (f"–{_amount(upper)}" if upper else "")
    after = text[last.end : last.end + 40]
    year = _YEAR_AFTER.match(text[last.end : last.end + 16])
    when = f" in {year.group(1)}" if year else ""
    if figure.kind == "count":
        unit = _first(glossary, text[last.start : last.end + 12], "unit")
        noun = unit.en if unit else _count_unit(last)
        if not noun:
            return ""
        modifier = _first(glossary, after, "modifier")
        demonym = _demonym(glossary, text[: figure.start]) if noun in _PEOPLE_UNITS else ""
        words = [amount, modifier.en if modifier else "", demonym, noun]
        return " ".join(w for w in words if w) + when
    start = figure.start if noun_before is None else noun_before
    noun_term = _last(glossary, text[max(0, start - 120) : start], "noun")
    if noun_term is None:
        return ""  # "$2.5 trillion" of what? Never a figure without its noun.
    shown = english_figure(figure) if upper is None else f"{_currency(figure)}{amount}"
    return f"{noun_term.en} of {shown}{when}"


def _amount(figure: Figure) -> str:
    """The number alone, in English: "25,000", "3.28 billion"."""
    text = english_figure(figure)
    if figure.kind == "count":
        unit = _count_unit(figure)
        return text.removesuffix(f" {unit}") if unit else text
    return text.lstrip("$€£").replace("%", "") + ("%" if figure.kind == "percent" else "")


def _currency(figure: Figure) -> str:
    text = english_figure(figure)
    return text[0] if text[:1] in "$€£" else ""


def _count_unit(figure: Figure) -> str:
    """The counted thing english_figure put last ("visitors"), "" when it named none."""
    if figure.unit is None:
        return ""
    last = english_figure(figure).rsplit(" ", 1)[-1]
    return last if last.isalpha() and last not in ("million", "billion", "trillion", "thousand") else ""


def _first(glossary: Glossary, text: str, kind: str) -> Term | None:
    found = glossary.find(text, [kind])  # type: ignore[list-item]
    return found[0].term if found else None


def _last(glossary: Glossary, text: str, kind: str) -> Term | None:
    found = glossary.find(text, [kind])  # type: ignore[list-item]
    return found[-1].term if found else None


def _demonym(glossary: Glossary, before: str) -> str:
    """The first country named before the figure, as an adjective ("North Korean")."""
    for found in glossary.find(before, ["place"]):
        if found.term.demonym:
            return found.term.demonym
    return ""


def basis_bullets(facts: Sequence[Fact | None]) -> list[Bullet]:
    """The source sentences the card rests on, quoted in the original, each citing its article."""
    seen: list[Sentence] = []
    for fact in facts:
        for sentence in fact.basis if fact else ():
            if sentence not in seen:
                seen.append(sentence)
    out = []
    for sentence in seen[:MAX_BASIS]:
        text = sentence.text if len(sentence.text) <= BASIS_CHARS else sentence.text[: BASIS_CHARS - 1] + "…"
        out.append(Bullet(f"Based on: «{text}»", (sentence.article_id,)))
    return out
