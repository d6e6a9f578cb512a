"""Checks that model output is grounded: citations exist, figures and entities come from what is cited.

Each check returns `Finding`s whose messages are written to be sent back to the model in the
`repair` prompt (see `findings_text`). Ids are compared as text, so a model citing "3" matches
source 3. Figures are compared by `bot.text.figures` keys, so ٣٫٢٨ مليار and $3.28 billion agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from bot.text.figures import Figure, figures

SourceId = str | int
EntityFinder = Callable[[str], set[str]]

MALFORMED = "malformed"
NO_CITATION = "no_citation"
UNKNOWN_CITATION = "unknown_citation"
UNSUPPORTED_FIGURE = "unsupported_figure"
UNSUPPORTED_ENTITY = "unsupported_entity"
FIGURE_MISMATCH = "figure_mismatch"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: a stable `code`, a message for the model, and the 0-based bullet (None: the whole)."""

    code: str
    message: str
    bullet_index: int | None = None


class _Sources:
    """Source texts by id (as text), with their figure keys and entities computed once."""

    def __init__(self, texts: Mapping[Any, str], entities: EntityFinder | None, *, noun: str) -> None:
        self.texts = {_id(key): value for key, value in texts.items()}
        self.entities = entities
        self.noun = noun
        self._keys: dict[str, set[str]] = {}
        self._entities: dict[str, set[str]] = {}

    def figure_keys(self, ids: Iterable[str]) -> set[str]:
        keys: set[str] = set()
        for source_id in ids:
            if source_id not in self._keys:
                self._keys[source_id] = {k for f in figures(self.texts[source_id]) for k in f.implied_keys()}
            keys |= self._keys[source_id]
        return keys

    def entity_ids(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for source_id in ids:
            if source_id not in self._entities:
                self._entities[source_id] = (
                    set(self.entities(self.texts[source_id])) if self.entities else set()
                )
            found |= self._entities[source_id]
        return found


def validate_bullets(
    bullets: Sequence[Mapping[str, Any]],
    *,
    sources: Mapping[Any, str],
    entity_aliases: EntityFinder | None = None,
) -> list[Finding]:
    """Problems in summary bullets: citations missing or unknown, figures or entities not in cited sources.

    `entity_aliases(text)` returns the ids of the thread entities named in `text`
    (e.g. `lambda t: set(classifier.entities_in(t))`); without it entities are not checked.
    """
    known = _Sources(sources, entity_aliases, noun="article")
    findings: list[Finding] = []
    for index, bullet in enumerate(bullets):
        text, cites = bullet.get("text"), bullet.get("cites")
        if not isinstance(text, str) or not isinstance(cites, list):
            findings.append(
                Finding(MALFORMED, f'Bullet {index + 1} must have a "text" string and a "cites" list.', index)
            )
            continue
        findings += _check(
            text, cites, known, allowed=set(known.texts), where=f"Bullet {index + 1}", index=index
        )
    return findings


def validate_answer(
    answer: str,
    cites: Sequence[SourceId],
    *,
    passages: Mapping[Any, str],
    retrieved: AbstractSet[SourceId],
    entities: EntityFinder | None = None,
) -> list[Finding]:
    """Problems in a Q&A answer: citations outside the retrieved passages, figures or entities not in them."""
    known = _Sources(passages, entities, noun="passage")
    allowed = {_id(passage_id) for passage_id in retrieved} & set(known.texts)
    return _check(answer, list(cites), known, allowed=allowed, where="The answer", index=None)


def validate_pair(
    ar_bullets: Sequence[Mapping[str, Any]], en_bullets: Sequence[Mapping[str, Any]]
) -> list[Finding]:
    """Problems between the Arabic and English versions of one summary: figures only one of them gives."""
    arabic, english = _bullet_figures(ar_bullets), _bullet_figures(en_bullets)
    findings = _one_sided(arabic, english, "Arabic", "English")
    findings += _one_sided(english, arabic, "English", "Arabic")
    return findings


def findings_text(findings: Sequence[Finding]) -> str:
    """The findings as a bulleted list, for the `repair` prompt's `findings` variable."""
    return "\n".join(f"- {finding.message}" for finding in findings)


def _check(
    text: str, cites: list[Any], known: _Sources, *, allowed: set[str], where: str, index: int | None
) -> list[Finding]:
    cited = [_id(cite) for cite in cites]
    if not cited:
        message = f"{where} cites no {known.noun}; cite the id of every {known.noun} that supports it."
        return [Finding(NO_CITATION, message, index)]
    findings = [
        Finding(
            UNKNOWN_CITATION,
            f"{where} cites {known.noun} {cite!r}, which is not among the {known.noun}s given.",
            index,
        )
        for cite in dict.fromkeys(cited)
        if cite not in allowed
    ]
    valid = [cite for cite in dict.fromkeys(cited) if cite in allowed]
    if not valid:
        return findings
    shown = ", ".join(valid)
    supported = known.figure_keys(valid)
    for figure in _distinct(figures(text)):
        if figure.key not in supported:
            message = (
                f"{where} gives the figure «{figure.raw}», which its cited {known.noun}(s) ({shown}) "
                f"do not contain; copy figures exactly from a cited {known.noun} or remove it."
            )
            findings.append(Finding(UNSUPPORTED_FIGURE, message, index))
    if known.entities is not None:
        for entity in sorted(set(known.entities(text)) - known.entity_ids(valid)):
            message = (
                f"{where} names {entity}, which its cited {known.noun}(s) ({shown}) do not mention; "
                f"cite a {known.noun} that does or remove it."
            )
            findings.append(Finding(UNSUPPORTED_ENTITY, message, index))
    return findings


def _bullet_figures(bullets: Sequence[Mapping[str, Any]]) -> list[list[Figure]]:
    return [figures(text) if isinstance(text := bullet.get("text"), str) else [] for bullet in bullets]


def _one_sided(
    side: list[list[Figure]], other: list[list[Figure]], name: str, other_name: str
) -> list[Finding]:
    other_keys = {key for bullet in other for figure in bullet for key in figure.implied_keys()}
    findings = []
    for index, bullet in enumerate(side):
        for figure in _distinct(bullet):
            if figure.key not in other_keys:
                message = (
                    f"{name} bullet {index + 1} gives «{figure.raw}», which no {other_name} bullet carries; "
                    f"both versions must give the same figures."
                )
                findings.append(Finding(FIGURE_MISMATCH, message, index))
    return findings


def _distinct(found: list[Figure]) -> list[Figure]:
    seen: set[str] = set()
    distinct = []
    for figure in found:
        if figure.key not in seen:
            seen.add(figure.key)
            distinct.append(figure)
    return distinct


def _id(value: Any) -> str:
    return str(value).strip()
