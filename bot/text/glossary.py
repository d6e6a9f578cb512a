"""The bilingual glossary: places, titles, units, news nouns and modifiers, Arabic to English, as data.

The default is `seeds/glossary.toml`; an admin extends it with `newsbrief glossary add FILE.toml`
(stored in the database, audited), as threads are extended. The English key-facts card is built from
it (where: places, with capitals known as such; what: each figure's noun), and the LLM prompt gets
the English names of the terms a story uses, so both speak of "Wonsan" and "non-oil trade" alike.

A file holds arrays of tables, one per kind:

    [[place]]
    en = "Wonsan"
    ar = ["وونسان"]
    country = "North Korea"      # optional: the country a city is in
    capital = false              # a capital is named as an actor ("Moscow said"), rarely as the venue
    demonym = "North Korean"     # optional, for countries

    [[noun]]                     # also: title, unit, modifier
    en = "non-oil trade"
    ar = ["التجارة غير النفطية", "تجارة غير نفطية"]
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from bot.text.normalize import normalize

Kind = Literal["place", "title", "unit", "noun", "modifier"]
KINDS: tuple[Kind, ...] = ("place", "title", "unit", "noun", "modifier")
STATE_KEY = "glossary"
_FIELDS = {"en", "ar", "country", "capital", "demonym"}


class GlossaryError(ValueError):
    """A glossary file is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary entry: its English form and the Arabic forms that name it."""

    kind: Kind
    en: str
    ar: tuple[str, ...]
    country: str = ""
    capital: bool = False
    demonym: str = ""

    @property
    def key(self) -> str:
        """What identifies the entry when a later file replaces it: its kind and English form."""
        return f"{self.kind}:{self.en.casefold()}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"en": self.en, "ar": list(self.ar)}
        if self.country:
            data["country"] = self.country
        if self.capital:
            data["capital"] = True
        if self.demonym:
            data["demonym"] = self.demonym
        return data


@dataclass(frozen=True, slots=True)
class Found:
    """A glossary term named in a text, and where (offsets in the normalized text)."""

    term: Term
    start: int
    end: int


@dataclass(frozen=True)
class Glossary:
    """The terms, later ones replacing earlier ones with the same kind and English form."""

    terms: tuple[Term, ...] = field(default_factory=tuple)

    def merged(self, other: Glossary) -> Glossary:
        """This glossary with `other`'s entries added or replacing."""
        by_key = {t.key: t for t in self.terms}
        by_key.update({t.key: t for t in other.terms})
        return Glossary(tuple(by_key.values()))

    def of(self, kind: Kind) -> list[Term]:
        return [t for t in self.terms if t.kind == kind]

    @cached_property
    def _forms(self) -> list[tuple[str, Term]]:
        # Longest forms first, so «التجارة غير النفطية» wins over «التجارة».
        forms = [(normalize(form), t) for t in self.terms for form in (*t.ar, t.en) if form.strip()]
        return sorted(forms, key=lambda item: -len(item[0]))

    def find(self, text: str, kinds: Iterable[Kind] = KINDS) -> list[Found]:
        """Every term of `kinds` named in `text` (matched on normalized text, whole words), in order."""
        wanted = set(kinds)
        folded = normalize(text)
        taken = [False] * len(folded)
        found: list[Found] = []
        for form, term in self._forms:
            if term.kind not in wanted:
                continue
            start = folded.find(form)
            while start >= 0:
                end = start + len(form)
                if _whole(folded, start, end) and not any(taken[start:end]):
                    taken[start:end] = [True] * (end - start)
                    found.append(Found(term, start, end))
                start = folded.find(form, end)
        return sorted(found, key=lambda f: f.start)

    def english(self, text: str, kinds: Iterable[Kind] = KINDS) -> dict[str, str]:
        """Arabic form → English of every term named in `text` (for an LLM prompt)."""
        folded_terms = {f.term for f in self.find(text, kinds)}
        return {t.ar[0]: t.en for t in sorted(folded_terms, key=lambda t: t.en) if t.ar}

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [t.to_dict() for t in self.of(kind)] for kind in KINDS if self.of(kind)}


# Arabic words take clitics in front (و, ب, ل, ال…): a form may follow one of them.
_PREFIXES = ("و", "ف", "ب", "ل", "وب", "ول", "فب", "ك", "وال", "بال", "لل", "ال")


def _whole(folded: str, start: int, end: int) -> bool:
    after_ok = end >= len(folded) or not folded[end].isalnum()
    if not after_ok:
        return False
    if start == 0 or not folded[start - 1].isalnum():
        return True
    word_start = start
    while word_start > 0 and folded[word_start - 1].isalnum():
        word_start -= 1
    return folded[word_start:start] in _PREFIXES


def parse_glossary(data: Mapping[str, Any], *, where: str = "glossary") -> Glossary:
    """A glossary from parsed TOML (or the stored JSON); GlossaryError says what is wrong, and where."""
    unknown = set(data) - set(KINDS)
    if unknown:
        raise GlossaryError(f"{where}: unknown section(s) {sorted(unknown)}; use {', '.join(KINDS)}")
    terms = []
    for kind in KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise GlossaryError(f"{where}: [[{kind}]] must be an array of tables")
        for number, raw in enumerate(entries, start=1):
            terms.append(_term(kind, raw, f"{where}: {kind} #{number}"))
    return Glossary(tuple(terms))


def _term(kind: Kind, raw: Any, where: str) -> Term:
    if not isinstance(raw, dict):
        raise GlossaryError(f"{where}: must be a table")
    extra = set(raw) - _FIELDS
    if extra:
        raise GlossaryError(f"{where}: unknown key(s) {sorted(extra)}")
    en, ar = raw.get("en"), raw.get("ar")
    if not isinstance(en, str) or not en.strip():
        raise GlossaryError(f"{where}: 'en' must be a non-empty string")
    forms = [ar] if isinstance(ar, str) else ar
    if not isinstance(forms, list) or not forms or not all(isinstance(a, str) and a.strip() for a in forms):
        raise GlossaryError(f"{where} ({en}): 'ar' must be a non-empty string or list of strings")
    capital = raw.get("capital", False)
    if not isinstance(capital, bool):
        raise GlossaryError(f"{where} ({en}): 'capital' must be true or false")
    country, demonym = raw.get("country", ""), raw.get("demonym", "")
    if not isinstance(country, str) or not isinstance(demonym, str):
        raise GlossaryError(f"{where} ({en}): 'country' and 'demonym' must be strings")
    if kind != "place" and (country or capital or demonym):
        raise GlossaryError(f"{where} ({en}): only a place has 'country', 'capital' or 'demonym'")
    return Term(kind, en.strip(), tuple(a.strip() for a in forms), country.strip(), capital, demonym.strip())


def load_glossary(path: Path) -> Glossary:
    """The glossary in a TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise GlossaryError(f"{path}: not valid TOML: {error}") from None
    return parse_glossary(data, where=str(path))


def default_glossary() -> Glossary:
    """The shipped glossary, seeds/glossary.toml."""
    return load_glossary(Path(str(resources.files("seeds") / "glossary.toml")))
