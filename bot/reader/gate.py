"""The alert gate: a story is alerted once it is corroborated.

Corroborated means either
- `min_outlets` independent outlets report it: an article stored as a near-duplicate of another
  (`duplicate_of`, i.e. a wire copy) or with the same text hash counts once, with its original; an
  outlet is its name, else its URL's host (bot.briefs.compose.outlet_of); or
- an official source of a party to the thread is quoted: the headline or lead names an official body
  (a ministry, the Kremlin, KCNA, TASS, SPA, …, see OFFICIAL_BODIES) next to an attribution verb
  (said, announced, قال، أعلنت، ذكرت …). This is a cue check on words, not a proof of provenance.

The lead replaces `independent_outlets` with the outlets engineer's corroboration at merge; the rest of
the alerting only calls `corroborated`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.briefs.compose import outlet_of
from bot.reader.words import contains, phrase

LEDE_CHARS = 400

OFFICIAL_BODIES = tuple(
    phrase(p)
    for p in (
        "KCNA", "Korean Central News Agency", "Rodong Sinmun", "TASS", "RIA Novosti", "Kremlin",
        "SPA", "Saudi Press Agency", "ministry", "foreign ministry", "defence ministry", "defense ministry",
        "وكالة الأنباء المركزية الكورية", "رودونغ سينمون", "تاس", "ريا نوفوستي", "الكرملين",
        "واس", "وكالة الأنباء السعودية", "وزارة", "الخارجية الروسية", "الخارجية السعودية",
    )
)  # fmt: skip
ATTRIBUTION_VERBS = tuple(
    phrase(p)
    for p in (
        "said", "says", "announced", "announces", "reported", "reports", "stated", "confirmed",
        "قال", "قالت", "أعلن", "أعلنت", "ذكر", "ذكرت", "أفاد", "أفادت", "أكد", "أكدت", "صرح", "نقلت",
    )
)  # fmt: skip


class MemberLike(Protocol):
    id: int
    outlet: str
    url: str | None
    title: str
    text: str
    duplicate_of: int | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a story may be alerted, and why (e.g. "outlets:2", "official:kcna")."""

    ok: bool
    reason: str


def independent_outlets(members: Sequence[MemberLike]) -> int:
    """Distinct outlets among the story's originals: wire copies and identical texts count once."""
    seen_hashes: set[str] = set()
    outlets: set[str] = set()
    for article in members:
        if article.duplicate_of is not None or article.content_hash in seen_hashes:
            continue
        seen_hashes.add(article.content_hash)
        outlets.add(outlet_of(article.outlet, article.url).casefold())
    return len(outlets)


def official_cue(article: MemberLike) -> str | None:
    """The official body an article's headline or lead quotes, or None."""
    words = phrase(f"{article.title}\n{article.text[:LEDE_CHARS]}")
    if not any(contains(words, verb) for verb in ATTRIBUTION_VERBS):
        return None
    for body in OFFICIAL_BODIES:
        if contains(words, body):
            return " ".join(body)
    return None


def corroborated(members: Sequence[MemberLike], *, min_outlets: int) -> Verdict:
    """The gate: enough independent outlets, or an official source of a party quoted."""
    outlets = independent_outlets(members)
    if outlets >= min_outlets:
        return Verdict(True, f"outlets:{outlets}")
    for article in members:
        cue = official_cue(article)
        if cue:
            return Verdict(True, f"official:{cue}")
    return Verdict(False, f"outlets:{outlets}")
