"""How many independent voices report a story: outlets, countries, state media, and the flags.

Wire copies count once, as the wire: articles stored as near-duplicates of another (`duplicate_of`)
and story members whose texts are near copies of each other form one *voice*; the voice is the wire
agency among them when there is one, else the earliest article's outlet. A story carried by a single
outlet, or only by state media of the countries the story is about, is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from babel import Locale

from bot.attribution.outlets import OutletInfo
from bot.ingest.dedupe import NUM_PERM, fingerprint

# Two members of one story sharing this much of their shingles are copies of one text (trimmed or
# retitled wire copy); lower than dedupe's archive-wide threshold because both already report one event.
WIRE_COPY_JACCARD = 0.5
MIN_WORDS = 20  # shorter texts (a headline, a teaser) share too little to call them copies


@dataclass(frozen=True, slots=True)
class Report:
    """One member article as corroboration sees it."""

    article_id: int
    info: OutletInfo
    outlet: str  # the name shown, for an unknown outlet's identity
    duplicate_of: int | None = None
    text: str = ""
    minhash: bytes | None = None  # the signature dedupe stored, so it is not computed again


def _signature(report: Report) -> np.ndarray | None:
    """The report's MinHash signature (stored, else computed); None for a text too short to compare."""
    if len(report.text.split()) < MIN_WORDS:
        return None
    if report.minhash and len(report.minhash) == NUM_PERM * 4:
        return np.frombuffer(report.minhash, dtype="<u4")
    return fingerprint(report.text).signature


@dataclass(slots=True)
class Corroboration:
    """The counts and flags of one story (JSON-ready via to_dict, stored in brief payloads)."""

    outlets: int
    countries: int
    state: int
    unknown: int
    country_codes: list[str]
    single: bool
    party_state_only: bool
    voices: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {
            "outlets": self.outlets,
            "countries": self.countries,
            "state": self.state,
            "unknown": self.unknown,
            "country_codes": self.country_codes,
            "single": self.single,
            "party_state_only": self.party_state_only,
            "voices": self.voices,
        }


def voices(reports: Sequence[Report], *, threshold: float = WIRE_COPY_JACCARD) -> list[list[Report]]:
    """Reports grouped into copies of one text (stored duplicates, then near-identical texts)."""
    parent = {r.article_id: r.article_id for r in reports}

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    for report in reports:
        if report.duplicate_of is not None and report.duplicate_of in parent:
            join(report.article_id, report.duplicate_of)
    signatures = [(r.article_id, sig) for r in reports if (sig := _signature(r)) is not None]
    for i, (a, sig_a) in enumerate(signatures):
        for b, sig_b in signatures[i + 1 :]:
            if root(a) != root(b) and int((sig_a == sig_b).sum()) / NUM_PERM >= threshold:
                join(a, b)
    groups: dict[int, list[Report]] = {}
    for report in reports:
        groups.setdefault(root(report.article_id), []).append(report)
    return list(groups.values())


def _voice_key(group: Sequence[Report]) -> tuple[str, OutletInfo]:
    """The outlet one group of copies counts as: its wire if any, else its first report's outlet."""
    chosen = next((r for r in group if r.info.known and r.info.wire), group[0])
    key = chosen.info.id if chosen.info.known else f"?{' '.join(chosen.outlet.lower().split())}"
    return key, chosen.info


def corroborate(
    reports: Sequence[Report], *, parties: set[str] | frozenset[str] = frozenset()
) -> Corroboration:
    """Count a story's independent outlets, their countries and state media, and set the flags."""
    groups = voices(reports)
    distinct: dict[str, OutletInfo] = {}
    for group in groups:
        key, info = _voice_key(group)
        distinct.setdefault(key, info)
    known = [i for i in distinct.values() if i.known]
    codes = sorted({i.country for i in known})
    state = sum(1 for i in known if i.state_media)
    party_state_only = bool(
        parties
        and distinct
        and len(known) == len(distinct)
        and all(i.state_media and i.country in parties for i in known)
    )
    return Corroboration(
        outlets=len(distinct),
        countries=len(codes),
        state=state,
        unknown=len(distinct) - len(known),
        country_codes=codes,
        single=len(distinct) == 1,
        party_state_only=party_state_only,
        voices=[sorted(r.article_id for r in g) for g in groups if len(g) > 1],
    )


# ---------------------------------------------------------------- the line a reader sees

# Arabic counted nouns by CLDR plural category (Babel): 1 and 2 have their own forms, 3–10 take the
# plural, 11 and up the singular accusative/genitive. The words live in this one table for the catalogs.
_AR_OUTLETS = {
    "one": "وسيلة إعلام واحدة",
    "two": "وسيلتا إعلام",
    "few": "{n} وسائل إعلام",
    "many": "{n} وسيلة إعلام",
    "other": "{n} وسيلة إعلام",
}
_AR_COUNTRIES = {
    "one": "دولة واحدة",
    "two": "دولتين",
    "few": "{n} دول",
    "many": "{n} دولة",
    "other": "{n} دولة",
}
_AR_STATE = {
    "one": "إحداها حكومية",
    "two": "منها اثنتان حكوميتان",
    "few": "منها {n} وسائل حكومية",
    "many": "منها {n} وسيلة حكومية",
    "other": "منها {n} وسيلة حكومية",
}
_AR_UNKNOWN = {
    "one": "إحداها غير مصنفة",
    "two": "منها اثنتان غير مصنفتين",
    "few": "منها {n} غير مصنفة",
    "many": "منها {n} غير مصنفة",
    "other": "منها {n} غير مصنفة",
}
FLAGS = {
    "en": {
        "single": "Single source: only one outlet reports this.",
        "party_state_only": "Only state media of the countries involved report this.",
        "all_state": "all of them state media",
    },
    "ar": {
        "single": "مصدر واحد: لا تنقل هذا الخبر إلا وسيلة إعلام واحدة.",
        "party_state_only": "لا ينقل هذا الخبر إلا الإعلام الحكومي للدول المعنية.",
        "all_state": "كلها حكومية",
    },
}


def _ar(forms: Mapping[str, str], n: int) -> str:
    category = Locale("ar").plural_form(n)
    return forms.get(category, forms["other"]).format(n=n)


def _en_plural(n: int, one: str, other: str) -> str:
    return f"{n} {one if Locale('en').plural_form(n) == 'one' else other}"


def line(data: Mapping[str, Any] | None, lang: str) -> str:
    """ "5 outlets in 4 countries, 2 of them state media" / «5 وسائل إعلام من 4 دول، منها 2 …», or ""."""
    if not data or not data.get("outlets"):
        return ""
    n, c, s, u = (int(data.get(k, 0)) for k in ("outlets", "countries", "state", "unknown"))
    if lang == "ar":
        text = _ar(_AR_OUTLETS, n)
        if c:
            text += " من " + _ar(_AR_COUNTRIES, c)
        if s:
            shown = "حكومية" if n == 1 else FLAGS["ar"]["all_state"] if s == n else _ar(_AR_STATE, s)
            text += "، " + shown
        if u:
            shown = "غير مصنفة" if n == 1 else "كلها غير مصنفة" if u == n else _ar(_AR_UNKNOWN, u)
            text += "، " + shown
        return text
    text = _en_plural(n, "outlet", "outlets")
    if c:
        text += " in " + _en_plural(c, "country", "countries")
    if s:
        text += ", " + (
            FLAGS["en"]["all_state"]
            if s == n and n > 1
            else "state media"
            if n == 1
            else f"{s} of them state media"
        )
    if u:
        text += ", " + (
            "not identified" if n == 1 else "none identified" if u == n else f"{u} of them unidentified"
        )
    return text


def flags(data: Mapping[str, Any] | None, lang: str) -> list[str]:
    """The warnings a reader should see for this story, in `lang`."""
    if not data:
        return []
    table = FLAGS["ar" if lang == "ar" else "en"]
    return [table[key] for key in ("single", "party_state_only") if data.get(key)]


def summary_line(data: Mapping[str, Any] | None, lang: str) -> str:
    """The corroboration line with its flags, one line of plain text (renderers escape it)."""
    text = line(data, lang)
    if not text:
        return ""
    sep = "؛ " if lang == "ar" else ". "
    return sep.join([text, *(f.rstrip(".") for f in flags(data, lang))]) + ("." if lang != "ar" else "")


__all__ = ["Corroboration", "Report", "corroborate", "flags", "line", "summary_line", "voices"]
