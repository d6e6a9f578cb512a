"""The key-facts card: what can be said faithfully, without a model, in a language no source uses.

For a story with no English source the English version is this card: who (the English names of
the matched thread entities, from the thread definition), where, when (dates the sources give),
and the figures with their units rendered in English (3.28 مليار دولار → $3.28 billion). It is
labelled as drawn from Arabic sources and says that a full English summary needs an LLM. Nothing
else is translated. The Arabic card for an English-only story works the same way, quoting the
figures as the sources wrote them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from bot.summarize import Bullet, SourceArticle, StoryInput, Summary, card
from bot.summarize.relevance import figures_within, spans, thread_paragraphs
from bot.text.figures import Figure, PartialDate, english_figure, number_keys
from bot.text.glossary import Glossary
from bot.threads.classify import Entity

MAX_NAMES = 5
MAX_PLACES = 3
MAX_DATES = 2
MAX_FIGURES = 4
FIGURE_KINDS = frozenset({"money", "percent", "count"})
# Until thread definitions say which entities are places, these ids of the default threads are.
DEFAULT_PLACE_IDS = frozenset(
    {"russia", "moscow", "kursk", "north-korea", "pyongyang", "wonsan", "saudi-arabia", "riyadh"}
)

LABELS = {
    "en": {
        "who": "Who",
        "where": "Where",
        "when": "When",
        "figures": "Figures",
        "what": "What",
        "headline": "Key facts",
        "note": "Key facts drawn from Arabic sources; a full English summary needs an LLM (LLM_BASE_URL).",
    },
    "ar": {
        "who": "من",
        "where": "أين",
        "when": "متى",
        "figures": "أرقام",
        "headline": "حقائق أساسية",
        "note": "حقائق مستخلصة من مصادر بلغة أخرى؛ يتطلب الملخص العربي الكامل نموذجًا لغويًا (LLM_BASE_URL).",
    },
}

EntityCounter = Callable[[str], Mapping[str, int]]


def key_facts(
    story: StoryInput, *, lang: str, entities: EntityCounter, glossary: Glossary | None = None
) -> Summary:
    """The key-facts card of `story` in `lang` (en or ar), every line citing the articles it comes from.

    With a glossary, the English card says where the event took place, when, and what each figure
    counts (bot.summarize.card), and quotes the sentences it rests on.
    """
    labels = LABELS["ar" if lang == "ar" else "en"]
    known = {e.id: e for g in story.thread.groups for e in g.entities}
    relevant = _relevant(story, entities)
    found = {a.id: {k: v for k, v in entities(a.text).items() if k in known} for a, _ in relevant}
    counts: Counter[str] = Counter()
    for per_article in found.values():
        counts.update(per_article)
    ranked = [known[entity_id] for entity_id, _ in counts.most_common()]
    places = [e for e in ranked if is_place(e)][:MAX_PLACES]
    people = [e for e in ranked if not is_place(e)][:MAX_NAMES]
    if lang == "en" and glossary is not None:
        return _english_card(story, relevant, people, found, glossary)
    bullets = [
        _names_bullet(labels["who"], people, found, lang),
        _names_bullet(labels["where"], places, found, lang),
        _dates_bullet(labels["when"], relevant, lang),
        _figures_bullet(labels["figures"], relevant, lang),
    ]
    kept = tuple(b for b in bullets if b is not None)
    names = ", ".join(_name(e, lang) for e in (people + places)[:3])
    headline = f"{labels['headline']}: {names}" if names else labels["headline"]
    return Summary(lang, headline, kept, "keyfacts", labels["note"])


def _english_card(
    story: StoryInput,
    relevant: Sequence[tuple[SourceArticle, list[Figure]]],
    people: Sequence[Entity],
    found: Mapping[int, Mapping[str, int]],
    glossary: Glossary,
) -> Summary:
    labels = LABELS["en"]
    articles = [a for a, _ in relevant]
    sentences = card.sentences_of(articles)
    # The figures of the titles and subheadings are what the sources lead with: they come first.
    heads = [a.title for a in story.articles] + [
        p
        for a in articles
        for p in a.text.split("\n")
        if p.strip() and not p.strip().endswith((".", "»", "”"))
    ]
    headline_keys: set[str] = set().union(*(number_keys(h) for h in heads)) if heads else set()
    countries = {e.name_en for g in story.thread.groups for e in g.entities}
    place = card.where(sentences, glossary, countries)
    day = card.when(sentences, articles)
    facts = card.what(sentences, glossary, headline_keys)
    every = tuple(sorted(a.id for a in articles))
    bullets = [_names_bullet(labels["who"], people, found, "en")]
    if place:
        bullets.append(Bullet(f"{labels['where']}: {place.text}", _cited(place.basis, every)))
    if day:
        bullets.append(Bullet(f"{labels['when']}: {day.text}", _cited(day.basis, every)))
    if facts:
        basis = tuple(s for f in facts for s in f.basis)
        bullets.append(Bullet(f"{labels['what']}: " + "; ".join(f.text for f in facts), _cited(basis, every)))
    bullets += card.basis_bullets([place, day, *facts])
    names = ", ".join(e.name_en for e in people[:2])
    headline = labels["headline"] + (f": {names}" if names else "") + (f" in {place.text}" if place else "")
    return Summary("en", headline, tuple(b for b in bullets if b is not None), "keyfacts", labels["note"])


def _cited(basis: Sequence[card.Sentence], every: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted({s.article_id for s in basis})) or every


def _relevant(story: StoryInput, entities: EntityCounter) -> list[tuple[SourceArticle, list[Figure]]]:
    """Each article with its text cut down to the paragraphs on the story's thread, and their figures."""
    cut = []
    for a in story.articles:
        paragraphs = [p for _, p in thread_paragraphs(a.text, story.thread, entities)]
        shown = SourceArticle(a.id, a.title, "\n\n".join(paragraphs), a.lang, a.when, a.outlet)
        cut.append((shown, figures_within(a.text, spans(a.text, paragraphs))))
    return cut


def is_place(entity: Entity) -> bool:
    """Whether the entity is a place (a country, a city), not a person or a body."""
    kind = getattr(entity, "kind", None)
    return kind == "place" if kind else entity.id in DEFAULT_PLACE_IDS


def _name(entity: Entity, lang: str) -> str:
    return entity.name_ar if lang == "ar" else entity.name_en


def _names_bullet(
    label: str, chosen: Sequence[Entity], found: Mapping[int, Mapping[str, int]], lang: str
) -> Bullet | None:
    if not chosen:
        return None
    ids = {e.id for e in chosen}
    cites = tuple(sorted(a for a, per in found.items() if ids & per.keys()))
    return Bullet(f"{label}: {', '.join(_name(e, lang) for e in chosen)}", cites)


def _article_figures(relevant: Sequence[tuple[SourceArticle, list[Figure]]]) -> list[tuple[int, Figure]]:
    return [(a.id, f) for a, found in relevant for f in found]


def _dates_bullet(
    label: str, articles: Sequence[tuple[SourceArticle, list[Figure]]], lang: str
) -> Bullet | None:
    dates: Counter[str] = Counter()
    shown: dict[str, str] = {}
    cites: dict[str, set[int]] = {}
    for article_id, figure in _article_figures(articles):
        value = figure.value
        if not isinstance(value, PartialDate) or value.year is None or value.day is None:
            continue
        dates[figure.key] += 1
        shown.setdefault(figure.key, english_figure(figure) if lang == "en" else figure.raw)
        cites.setdefault(figure.key, set()).add(article_id)
    top = [key for key, _ in dates.most_common(MAX_DATES)]
    if not top:
        return None
    return Bullet(
        f"{label}: {'; '.join(shown[k] for k in top)}", tuple(sorted(set().union(*(cites[k] for k in top))))
    )


def _figures_bullet(
    label: str, articles: Sequence[tuple[SourceArticle, list[Figure]]], lang: str
) -> Bullet | None:
    shown: dict[str, str] = {}
    cites: dict[str, set[int]] = {}
    for article_id, figure in _article_figures(articles):
        if figure.kind not in FIGURE_KINDS:
            continue
        text = english_figure(figure) if lang == "en" else figure.raw
        if figure.kind == "count" and not any(ch.isalpha() for ch in text):
            continue  # a count whose unit cannot be rendered says nothing on its own
        shown.setdefault(figure.key, text)
        cites.setdefault(figure.key, set()).add(article_id)
    keys = list(shown)[:MAX_FIGURES]
    if not keys:
        return None
    return Bullet(
        f"{label}: {'; '.join(shown[k] for k in keys)}", tuple(sorted(set().union(*(cites[k] for k in keys))))
    )
