"""Threads as data, and the classifier that places articles in them.

A thread (russia-dprk) names two or more sides (entity groups); each side lists entities, and each
entity the Arabic and English aliases that name it. Threads live in TOML (seeds/threads.toml) and, once
an admin adds one at run time, as JSON in the database: `ThreadDef.to_dict()` / `ThreadDef.from_dict()`.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.resources import files
from itertools import product
from pathlib import Path
from typing import Any, Literal

from bot.text.normalize import normalize

__all__ = [
    "LEDE_CHARS",
    "MIN_BODY_MENTIONS",
    "Entity",
    "EntityGroup",
    "Evidence",
    "ThreadClassifier",
    "ThreadDef",
    "ThreadDefinitionError",
    "ThreadMatch",
    "default_threads_path",
    "load_threads",
    "threads_from_toml",
]

# The lead of a news article (its first paragraph or two) names the actors the story is about; later
# paragraphs of analysis and background name others in passing.
LEDE_CHARS = 600
MIN_BODY_MENTIONS = 2
# Distinct words whose normalized form is remembered (about 15 MB when full).
FOLD_CACHE_SIZE = 50_000

_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_WORDLIKE = re.compile(r"\w")
_SEPARATORS = re.compile(r"[\s\-‐]+")
# Conjunctions (و ف), prepositions (ب ك ل) and the article (ال) attach to Arabic words; ل + ال is
# written لل.
_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ك", "ل", "ال", "بال", "كال", "لل")
_ARABIC_START = re.compile("[\u0600-\u06ff]")

Where = Literal["title", "body"]

_fold = lru_cache(maxsize=FOLD_CACHE_SIZE)(normalize)


class ThreadDefinitionError(ValueError):
    """A thread definition is malformed; the message says where and why."""


@dataclass(slots=True)
class Entity:
    """One real-world actor (a country, a city, a person, a company) and the aliases that name it."""

    id: str
    name_en: str
    name_ar: str
    aliases: list[str]
    # A background entity of its thread (its countries, capitals, heads of state): named in nearly
    # every report, so it never tells two events apart.
    common: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of this entity."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, *, where: str = "entity") -> Entity:
        """Validate and build an entity; raise ThreadDefinitionError on bad data."""
        table = _table(data, where, {"id", "name_en", "name_ar", "aliases", "common"})
        entity_id = _identifier(table, where)
        where = f"{where} {entity_id!r}"
        aliases = table.get("aliases")
        if not isinstance(aliases, list) or not aliases:
            raise ThreadDefinitionError(f"{where}: 'aliases' must be a non-empty list of strings")
        for alias in aliases:
            if not isinstance(alias, str) or not _WORDLIKE.search(normalize(alias)):
                raise ThreadDefinitionError(
                    f"{where}: alias {alias!r} must be a string with a letter or digit"
                )
        common = table.get("common", False)
        if not isinstance(common, bool):
            raise ThreadDefinitionError(f"{where}: 'common' must be true or false")
        name_en, name_ar = _text(table, "name_en", where), _text(table, "name_ar", where)
        return cls(entity_id, name_en, name_ar, list(aliases), common)


@dataclass(slots=True)
class EntityGroup:
    """One side of a thread: the entities any of which stands for that side."""

    id: str
    name_en: str
    name_ar: str
    entities: list[Entity]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of this group."""
        return asdict(self)

    @classmethod
    def from_dict(
        cls, data: object, *, where: str = "group", library: Mapping[str, Entity] | None = None
    ) -> EntityGroup:
        """Validate and build a group; string entries in `entities` are looked up in `library`."""
        table = _table(data, where, {"id", "name_en", "name_ar", "entities"})
        group_id = _identifier(table, where)
        where = f"{where} {group_id!r}"
        raw = table.get("entities")
        if not isinstance(raw, list) or not raw:
            raise ThreadDefinitionError(f"{where}: 'entities' must be a non-empty list")
        entities = [_entity(item, where, library or {}) for item in raw]
        _no_duplicates([entity.id for entity in entities], f"{where}: duplicate entity id")
        return cls(group_id, _text(table, "name_en", where), _text(table, "name_ar", where), entities)


@dataclass(slots=True)
class ThreadDef:
    """A followed relationship between two or more sides, e.g. russia-dprk."""

    id: str
    name_en: str
    name_ar: str
    groups: list[EntityGroup]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of this thread, every entity spelled out (no references)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, *, library: Mapping[str, Entity] | None = None) -> ThreadDef:
        """Validate and build a thread; raise ThreadDefinitionError on bad data."""
        table = _table(data, "thread", {"id", "name_en", "name_ar", "groups"})
        thread_id = _identifier(table, "thread")
        where = f"thread {thread_id!r}"
        raw = table.get("groups")
        if not isinstance(raw, list) or len(raw) < 2:
            raise ThreadDefinitionError(f"{where}: 'groups' must list at least two sides")
        groups = [EntityGroup.from_dict(item, where=f"{where}, group", library=library) for item in raw]
        _no_duplicates([group.id for group in groups], f"{where}: duplicate group id")
        _no_duplicates([e.id for group in groups for e in group.entities], f"{where}: duplicate entity id")
        _no_shared_aliases(groups, where)
        return cls(thread_id, _text(table, "name_en", where), _text(table, "name_ar", where), groups)


def default_threads_path() -> Path:
    """The threads shipped with newsbrief (seeds/threads.toml)."""
    return Path(str(files("seeds").joinpath("threads.toml")))


def load_threads(path: str | Path) -> list[ThreadDef]:
    """Read thread definitions from a TOML file; raise ThreadDefinitionError on bad data."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ThreadDefinitionError(f"cannot read threads file {str(path)!r}: {exc}") from exc
    try:
        return threads_from_toml(text)
    except ThreadDefinitionError as exc:
        raise ThreadDefinitionError(f"{path}: {exc}") from exc


def threads_from_toml(text: str) -> list[ThreadDef]:
    """Parse thread definitions from TOML text: [entities.ID] tables and [[threads]] that use them."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThreadDefinitionError(f"not valid TOML: {exc}") from exc
    _table(document, "threads file", {"threads", "entities"})
    library = _library(document.get("entities", {}))
    raw = document.get("threads")
    if not isinstance(raw, list) or not raw:
        raise ThreadDefinitionError("threads file: define at least one [[threads]] table")
    threads = [ThreadDef.from_dict(item, library=library) for item in raw]
    _no_duplicates([thread.id for thread in threads], "duplicate thread id")
    return threads


def _library(raw: object) -> dict[str, Entity]:
    if not isinstance(raw, dict):
        raise ThreadDefinitionError("'entities' must be a table of [entities.ID] tables")
    library = {}
    for key, value in raw.items():
        table = _table(value, f"entity {key!r}", {"name_en", "name_ar", "aliases", "common"})
        library[key] = Entity.from_dict({**table, "id": key})
    return library


def _entity(item: object, where: str, library: Mapping[str, Entity]) -> Entity:
    if isinstance(item, str):
        if item not in library:
            raise ThreadDefinitionError(f"{where}: unknown entity {item!r} (define it in [entities.{item}])")
        return library[item]
    return Entity.from_dict(item, where=f"{where}, entity")


def _table(data: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ThreadDefinitionError(f"{where}: expected a table, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ThreadDefinitionError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    return data


def _identifier(table: Mapping[str, Any], where: str) -> str:
    value = table.get("id")
    if not isinstance(value, str) or not _ID.match(value):
        raise ThreadDefinitionError(
            f"{where}: 'id' must be lowercase letters, digits, '-' or '_' (got {value!r})"
        )
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ThreadDefinitionError(f"{where}: {key!r} must be a non-empty string")
    return value


def _no_duplicates(ids: Sequence[str], message: str) -> None:
    repeated = sorted(key for key, count in Counter(ids).items() if count > 1)
    if repeated:
        raise ThreadDefinitionError(f"{message}: {', '.join(map(repr, repeated))}")


def _no_shared_aliases(groups: Sequence[EntityGroup], where: str) -> None:
    # An alias on two sides would make one word count for both, and a thread fire on a single mention.
    owner: dict[str, str] = {}
    for group in groups:
        for entity in group.entities:
            for alias in entity.aliases:
                other = owner.setdefault(_alias_key(alias), group.id)
                if other != group.id:
                    raise ThreadDefinitionError(
                        f"{where}: alias {alias!r} names both side {other!r} and side {group.id!r}"
                    )


# ---------------------------------------------------------------- classification


@dataclass(frozen=True, slots=True)
class Evidence:
    """Mentions of one entity under one spelling, in the title or the body."""

    entity_id: str
    group_id: str
    alias: str
    where: Where
    count: int


@dataclass(slots=True)
class ThreadMatch:
    """An article's membership in a thread, with the mentions that placed it there."""

    thread_id: str
    score: float
    evidence: list[Evidence]


@dataclass(frozen=True, slots=True)
class _Target:
    thread_id: str
    group_id: str
    entity_id: str


@dataclass(frozen=True, slots=True)
class _Form:
    """A written form an alias can take: the alias key, and the attached clitics not shown as the alias."""

    key: str
    hidden: str


class _Scan:
    """One text, normalized, with its original words and the alias matches found in it."""

    __slots__ = ("_surfaces", "matches", "normalized", "words")

    def __init__(self, text: str, pattern: re.Pattern[str], forms: Mapping[str, _Form]) -> None:
        self.normalized, self.words = _aligned(text)
        self.matches = [(match, _form_of(match, forms)) for match in pattern.finditer(self.normalized)]
        self._surfaces: list[str] | None = None

    def surfaces(self) -> list[str]:
        """Each match's alias as written in the original text (computed once, on demand)."""
        if self._surfaces is None:
            self._surfaces, word, position = [], 0, 0
            for match, form in self.matches:
                word += self.normalized.count(" ", position, match.start())
                position = match.start()
                self._surfaces.append(_as_written(match, form, self.normalized, self.words, word))
        return self._surfaces


Side = tuple[str, str]  # (thread id, group id)


class ThreadClassifier:
    """Finds the threads an article belongs to; build once, reuse for every article.

    All aliases of all threads are compiled into one regular expression over normalized text (a
    character trie, so each position is tried against the aliases' shared prefixes once). Aliases match
    whole words: Arabic ones also with the attached prefixes و ف ب ك ل ال (وبيونغ يانغ, لروسيا,
    بموسكو, للرياض), English ones case-insensitively; «روسيا» never fires inside «بيلاروسيا».
    Overlapping aliases resolve to the longest one (كوريا الديمقراطية الشعبية, not كوريا الديمقراطية).
    """

    def __init__(
        self,
        threads: Iterable[ThreadDef],
        *,
        lede_chars: int = LEDE_CHARS,
        min_body_mentions: int = MIN_BODY_MENTIONS,
    ) -> None:
        self.threads = list(threads)
        _no_duplicates([thread.id for thread in self.threads], "duplicate thread id")
        self._lede_chars = lede_chars
        self._min_body_mentions = min_body_mentions
        self._targets: dict[str, list[_Target]] = {}
        for thread in self.threads:
            for group in thread.groups:
                for entity in group.entities:
                    for key in {_alias_key(alias) for alias in entity.aliases}:
                        self._targets.setdefault(key, []).append(_Target(thread.id, group.id, entity.id))
        self._sides = {
            key: {(t.thread_id, t.group_id) for t in targets} for key, targets in self._targets.items()
        }
        self._forms = _forms(self._targets)
        self._pattern = _compile(self._forms)

    def classify(self, title: str, body: str) -> list[ThreadMatch]:
        """The threads this article belongs to, best first.

        The rule: an article belongs to a thread when every side of the thread is prominent in it. A
        side is prominent when one of its entities is named in the title, or when its entities are
        named at least `min_body_mentions` times in the body with at least one of those mentions in
        the lead (the body's first `lede_chars` normalized characters). So a side named only in
        passing, in a later paragraph of analysis, background or a "related articles" block, does not
        place the article in the thread, however many times it recurs there.

        The score is the weakest side's strength: 1.0 for a side named in the title, otherwise
        0.5 + 0.1 per body mention, capped at 0.9.
        """
        title_scan, body_scan = self._scan(title), self._scan(body)
        in_title = {side for _, form in title_scan.matches for side in self._sides[form.key]}
        in_body: dict[Side, list[int]] = {}
        for match, form in body_scan.matches:
            for side in self._sides[form.key]:
                in_body.setdefault(side, []).append(match.start())
        matches = []
        for thread in self.threads:
            score = min(self._strength((thread.id, group.id), in_title, in_body) for group in thread.groups)
            if score > 0:
                evidence = self._evidence(thread.id, title_scan, "title")
                evidence.extend(self._evidence(thread.id, body_scan, "body"))
                matches.append(ThreadMatch(thread.id, round(score, 3), evidence))
        return sorted(matches, key=lambda match: (-match.score, match.thread_id))

    def entities_in(self, text: str) -> dict[str, int]:
        """How many times each entity (by id, across all threads) is named in `text`."""
        counts: Counter[str] = Counter()
        for _, form in self._scan(text).matches:
            counts.update({target.entity_id for target in self._targets[form.key]})
        return dict(counts)

    def matches_thread(self, title: str, text: str) -> set[str]:
        """Threads every side of which is named at least once in a short headline-and-paragraph segment."""
        sides = {side for _, form in self._scan(f"{title}\n{text}").matches for side in self._sides[form.key]}
        return {
            thread.id
            for thread in self.threads
            if all((thread.id, group.id) in sides for group in thread.groups)
        }

    def _scan(self, text: str) -> _Scan:
        return _Scan(text, self._pattern, self._forms)

    def _strength(self, side: Side, in_title: set[Side], in_body: Mapping[Side, list[int]]) -> float:
        if side in in_title:
            return 1.0
        starts = in_body.get(side, [])
        if len(starts) < self._min_body_mentions or starts[0] >= self._lede_chars:
            return 0.0
        return min(0.9, 0.5 + 0.1 * len(starts))

    def _evidence(self, thread_id: str, scan: _Scan, where: Where) -> list[Evidence]:
        counts: Counter[tuple[str, str, str]] = Counter()
        for (_, form), alias in zip(scan.matches, scan.surfaces(), strict=True):
            for target in self._targets[form.key]:
                if target.thread_id == thread_id:
                    counts[(target.entity_id, target.group_id, alias)] += 1
        return [Evidence(entity, group, alias, where, n) for (entity, group, alias), n in counts.items()]


def _alias_key(alias: str) -> str:
    return _SEPARATORS.sub(" ", normalize(alias)).strip()


def _form_of(match: re.Match[str], forms: Mapping[str, _Form]) -> _Form:
    # Only a hyphen written where the alias has a space (Kim Jong-un) needs folding.
    return forms.get(match[0]) or forms[_SEPARATORS.sub(" ", match[0])]


def _forms(keys: Iterable[str]) -> dict[str, _Form]:
    """Every written form of every alias key: the key itself and, in Arabic, with attached clitics.

    An alias that begins with the article («الرياض») keeps it («رياض» alone is a given name) and takes
    the prepositions before it (بالرياض), ل fusing with it (للرياض). Other Arabic aliases also take the
    article (الروسي from روسي). Shorter prefixes come first, so a literal alias («وونسان») is never
    read as a clitic on another.
    """
    forms: dict[str, _Form] = {}
    for conjunction, preposition in sorted(
        product(_CONJUNCTIONS, _PREPOSITIONS), key=lambda p: len("".join(p))
    ):
        for key in keys:
            if not _ARABIC_START.match(key):
                if not conjunction + preposition:
                    forms.setdefault(key, _Form(key, ""))
                continue
            spelled = _attach(conjunction, preposition, key)
            if spelled is not None:
                forms.setdefault(spelled[0], _Form(key, spelled[1]))
    return forms


def _attach(conjunction: str, preposition: str, key: str) -> tuple[str, str] | None:
    """`key` written after the clitics, and the clitics to hide; None where Arabic never writes it so."""
    definite = key.startswith("ال")
    if preposition == "لل":  # ل + ال
        return conjunction + "لل" + key.removeprefix("ال"), conjunction + "لل"
    if definite and (preposition == "ل" or preposition.endswith("ال")):
        return None
    # The article is part of the word as written (الروسي); only conjunctions and prepositions are hidden.
    return conjunction + preposition + key, conjunction + preposition.removesuffix("ال")


def _compile(forms: Iterable[str]) -> re.Pattern[str]:
    # One trie over every form: re then tests each position against the forms' shared prefixes once,
    # instead of trying hundreds of aliases one after another.
    return re.compile(rf"(?<!\w)(?:{_trie(forms)})(?!\w)")


def _trie(keys: Iterable[str]) -> str:
    """A regex alternation of `keys` factored by shared prefixes, longest alternative preferred."""
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return _render(root) or "(?!)"


def _render(node: dict[str, Any]) -> str:
    branches = [_char(char) + _render(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _char(char: str) -> str:
    return r"[\s\-‐]" if char == " " else re.escape(char)


def _aligned(text: str) -> tuple[str, list[str]]:
    """The normalized text, and for each of its space-separated words the original word.

    Words are normalized one at a time through a cache: news vocabulary repeats, so this is several
    times faster than normalizing the whole text, and it aligns every match with the words as written.
    """
    words = text.split()
    folded = list(map(_fold, words))
    normalized = " ".join(folded)
    if normalized.count(" ") == len(words) - 1 and "" not in folded:
        return normalized, words
    # Rare: a word vanished (only marks or tatweel) or split in two (a ligature).
    pairs = [(word, piece) for word, fold in zip(words, folded, strict=True) for piece in fold.split()]
    return " ".join(piece for _, piece in pairs), [word for word, _ in pairs]


def _as_written(match: re.Match[str], form: _Form, normalized: str, words: Sequence[str], first: int) -> str:
    """The alias as written: the original words (from word `first`), without clitics or punctuation."""
    last = first + normalized.count(" ", match.start(), match.end())
    word_start = normalized.rfind(" ", 0, match.start()) + 1
    lead = normalized[word_start : match.start()] + form.hidden
    word_end = normalized.find(" ", match.end())
    tail = normalized[match.end() : word_end if word_end >= 0 else len(normalized)]
    return _trim(" ".join(words[first : last + 1]), lead, tail)


@lru_cache(maxsize=10_000)
def _trim(surface: str, lead: str, tail: str) -> str:
    """Drop from `surface` the characters whose normalized forms are `lead` (front) and `tail` (end)."""
    start = _consume(surface, lead, marks_after=True)
    end = len(surface) - _consume(surface[start:][::-1], tail[::-1], marks_after=False)
    trimmed = surface[start:end]
    return trimmed if _WORDLIKE.search(trimmed) else surface


def _consume(text: str, target: str, *, marks_after: bool) -> int:
    """How many leading characters of `text` normalize to `target`; 0 when they do not.

    Characters that normalize to nothing (diacritics, tatweel) are taken along inside the target and,
    with `marks_after`, right after it: the vowel on a clitic (وَ) belongs to the clitic.
    """
    taken = 0
    while target or (marks_after and taken < len(text) and not _fold(text[taken])):
        if taken >= len(text):
            return 0
        folded = _fold(text[taken])
        if folded and not target.startswith(folded):
            return 0
        target = target[len(folded) :]
        taken += 1
    return taken
