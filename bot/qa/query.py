"""What a question asks for: its language, kind, key terms, thread entities and figures, and the expansion.

Offline, an English question reaches Arabic passages (and the other way round) through the thread
entities' bilingual aliases: every alias of every entity the question names joins the search terms, and
every indexed passage also carries one token per entity it names (`entity_token`). Figures are matched by
their normalized keys (bot.text.figures), so "20,000" finds «20 ألف».
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from bot.text.figures import number_keys
from bot.text.lang import detect_language
from bot.text.normalize import normalize, tokens
from bot.text.stem import terms
from bot.threads.classify import Entity, ThreadClassifier

Kind = Literal["who", "where", "when", "how_many", "how_long", "other"]

# Question words carry no topic: they neither search nor count as terms a passage must carry.
_QUESTION_WORDS_EN = (
    "who whom whose what which where when why how many much did does do is are was were will would "
    "can could should has have had the a an of about to in on at for from and or with by be been "
    "tell me please say said says ask"
)
_QUESTION_WORDS_AR = (
    "من ما ماذا متى اين كيف كم لماذا هل هو هي هم ذلك هذا هذه الذي التي عن في الى على مع و او ثم "
    "قال قالت يقول تقول بلغ بلغت ماهو ماهي"
)
QUESTION_WORDS = frozenset(normalize(f"{_QUESTION_WORDS_EN} {_QUESTION_WORDS_AR}").split())

_KIND_CUES: list[tuple[Kind, re.Pattern[str]]] = [
    (
        "how_long",
        re.compile(
            r"\bhow long\b|\bfor how (many|much) (hours|days|weeks|months|years)\b|كم (استمر|دام|استغرق)|^وكم استمر|\bما (مده|طول)\b"
        ),
    ),
    ("how_many", re.compile(r"\bhow (many|much)\b|(?:^|\s)[وف]?كم\b|\bما (عدد|حجم|قيمه)\b")),
    ("where", re.compile(r"\bwhere\b|\bاين\b|\bفي اي (مكان|مدينه|بلد)\b")),
    ("when", re.compile(r"\bwhen\b|\bwhat (year|date|day|month)\b|\bمتي\b|\bفي اي (عام|سنه|يوم|شهر)\b")),
    ("who", re.compile(r"\bwho(m|se)?\b|^من\b|\bمن (هو|هي|هم)\b")),
]
_ENTITY_PREFIX = "qqent"


def entity_token(entity_id: str) -> str:
    """The search token an indexed passage carries for each thread entity it names."""
    return _ENTITY_PREFIX + re.sub(r"[^a-z0-9]", "", entity_id.casefold())


@dataclass(frozen=True, slots=True)
class Query:
    """A question, analysed for retrieval and for choosing the answer-holding sentence."""

    text: str
    lang: str
    kind: Kind
    key_terms: list[str]
    entities: list[str]
    figures: set[str]
    alias_terms: list[str] = field(default_factory=list)
    extra_terms: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def search_terms(self) -> list[str]:
        """Terms for lexical search, the most telling first (storage.search keeps the first ones).

        Entities are searched by the token every indexed passage carries for them, which matches their
        aliases in both languages; the aliases themselves would mostly add noise (first names, titles).
        """
        ordered = [entity_token(e) for e in self.entities] + self.key_terms + sorted(self.figures)
        return list(dict.fromkeys(ordered + self.extra_terms))

    def topic_terms(self) -> list[str]:
        """Key terms that are not part of an entity's name: what the question is about besides who."""
        alias = set(self.alias_terms)
        return [t for t in self.key_terms if t not in alias and not t.isdigit()]


def question_lang(question: str, lang: str | None = None) -> str:
    """ "ar" or "en": as asked, else detected (anything that is not Arabic is answered in English)."""
    if lang in ("ar", "en"):
        return lang
    return "ar" if detect_language(question) == "ar" else "en"


def question_kind(question: str) -> Kind:
    """Who, where, when, how many, or other, from the question words in either language."""
    folded = normalize(question)
    for kind, cue in _KIND_CUES:
        if cue.search(folded):
            return kind
    return "other"


def key_terms(text: str) -> list[str]:
    """The stemmed content terms of a question: stopwords and question words removed."""
    words = [word for word in tokens(text) if word not in QUESTION_WORDS]
    return list(dict.fromkeys(terms(" ".join(words))))


def entity_library(classifier: ThreadClassifier) -> dict[str, Entity]:
    """Every entity of every active thread, by id."""
    return {e.id: e for thread in classifier.threads for group in thread.groups for e in group.entities}


def alias_terms(entity_ids: Iterable[str], library: Mapping[str, Entity]) -> list[str]:
    """Search terms of every alias, in both languages, of the given entities."""
    out: list[str] = []
    for entity_id in entity_ids:
        entity = library.get(entity_id)
        if entity is not None:
            out.extend(_alias_terms(tuple(entity.aliases)))
    return list(dict.fromkeys(out))


@lru_cache(maxsize=4096)
def _alias_terms(aliases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(term for alias in aliases for term in terms(alias))


def analyse(
    question: str,
    *,
    classifier: ThreadClassifier,
    lang: str | None = None,
    carried_entities: Iterable[str] = (),
    extra_text: str = "",
) -> Query:
    """The Query for `question`; `carried_entities` come from earlier turns, `extra_text` from a translation."""
    found = classifier.entities_in(question)
    library = entity_library(classifier)
    entities = list(
        dict.fromkeys([*sorted(found, key=lambda e: _position(question, library.get(e))), *carried_entities])
    )
    extra = key_terms(extra_text) if extra_text else []
    return Query(
        text=question,
        lang=question_lang(question, lang),
        kind=question_kind(question),
        key_terms=key_terms(question),
        entities=entities,
        figures=number_keys(question) | (number_keys(extra_text) if extra_text else set()),
        alias_terms=alias_terms(entities, library),
        extra_terms=extra,
        names=other_names(question, classifier, known=alias_terms(entities, library)),
    )


_CAPITALIZED = re.compile(r"(?<![\w'’-])[A-Z][\w'’-]*")


def other_names(question: str, classifier: ThreadClassifier, *, known: Iterable[str] = ()) -> list[str]:
    """Search terms of capitalized words that name no thread entity ("Tehran", "FIFA"), after the first word.

    A hyphenated compound that contains an entity ("Wonsan-Kalma") counts as that entity's.
    """
    found, known_terms = [], set(known)
    partial = _alias_words(classifier)
    for match in _CAPITALIZED.finditer(question):
        word = re.sub(r"['’]s$", "", match.group())
        if match.start() == 0 or word.casefold() in QUESTION_WORDS or classifier.entities_in(word):
            continue
        if word.casefold() in partial:  # "Kim": part of a thread entity's name, not a foreign name
            continue
        if not set(terms(word)) <= known_terms:
            found.extend(terms(word))
    return list(dict.fromkeys(found))


def _alias_words(classifier: ThreadClassifier) -> frozenset[str]:
    """Every word of every thread entity's Latin aliases, casefolded."""
    return _alias_words_of(tuple(a for e in entity_library(classifier).values() for a in e.aliases))


@lru_cache(maxsize=8)
def _alias_words_of(aliases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w.casefold() for a in aliases if a.isascii() for w in re.findall(r"[\w'-]+", a))


def _position(question: str, entity: Entity | None) -> int:
    """Where an entity is first named in the question, so the first-named comes first."""
    folded = normalize(question)
    if entity is None:
        return len(folded)
    spots = [folded.find(normalize(alias)) for alias in entity.aliases]
    return min((spot for spot in spots if spot >= 0), default=len(folded))
