"""Scoring functions: pure, on plain mappings, so each can be checked on a handful of hand-made items."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.text.normalize import normalize


@dataclass(frozen=True, slots=True)
class PRF:
    """Precision, recall and F1, with how many items they were computed over."""

    precision: float
    recall: float
    f1: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "n": self.n}


def prf(precision: float, recall: float, n: int) -> PRF:
    """A PRF with its harmonic mean (0 when both are 0)."""
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return PRF(precision, recall, f1, n)


def set_f1(gold: Mapping[str, set[str]], predicted: Mapping[str, set[str]]) -> PRF:
    """Micro-averaged P/R/F1 over (item, label) pairs: thread placement of articles, for one.

    An item missing from `predicted` has no labels. With no gold and no predicted pair at all,
    precision and recall are both 1 (nothing to find, nothing wrongly found).
    """
    gold_pairs = {(item, label) for item, labels in gold.items() for label in labels}
    predicted_pairs = {
        (item, label) for item, labels in predicted.items() for label in labels if item in gold
    }
    hits = len(gold_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 1.0
    recall = hits / len(gold_pairs) if gold_pairs else 1.0
    return prf(precision, recall, len(gold))


def bcubed(gold: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PRF:
    """B-cubed precision, recall and F1 of a clustering over the items of `gold`.

    For each item: precision is the share of its predicted cluster that shares its gold label,
    recall the share of its gold cluster that shares its predicted cluster; both are averaged over
    items. An item missing from `predicted` is a cluster of its own.
    """
    items = list(gold)
    if not items:
        return prf(1.0, 1.0, 0)
    clusters = {item: predicted.get(item, ("alone", item)) for item in items}
    by_gold: dict[Hashable, set[str]] = {}
    by_predicted: dict[Hashable, set[str]] = {}
    for item in items:
        by_gold.setdefault(gold[item], set()).add(item)
        by_predicted.setdefault(clusters[item], set()).add(item)
    precision = recall = 0.0
    for item in items:
        same_gold, same_predicted = by_gold[gold[item]], by_predicted[clusters[item]]
        both = len(same_gold & same_predicted)
        precision += both / len(same_predicted)
        recall += both / len(same_gold)
    return prf(precision / len(items), recall / len(items), len(items))


def labelled_pairs(groups: Mapping[str, Hashable | None]) -> list[tuple[str, str]]:
    """Every pair of items sharing a non-null label (near-duplicate groups, for one), sorted."""
    members: dict[Hashable, list[str]] = {}
    for item, label in groups.items():
        if label is not None:
            members.setdefault(label, []).append(item)
    return sorted(pair for group in members.values() for pair in combinations(sorted(group), 2))


def pair_recall(pairs: Sequence[tuple[str, str]], linked: Callable[[str, str], bool]) -> float:
    """The share of `pairs` that `linked` says are linked (1.0 when there are none)."""
    if not pairs:
        return 1.0
    return sum(1 for a, b in pairs if linked(a, b)) / len(pairs)


def accuracy(outcomes: Iterable[bool]) -> float | None:
    """The share of True outcomes; None when there are none (nothing was measured)."""
    values = list(outcomes)
    return sum(values) / len(values) if values else None


def answer_is_right(text: str, *, covered: bool, answer_any: Sequence[str], refuse: bool) -> bool:
    """Right when a refusal was expected and given, or the answer contains any expected string.

    Matching is on the Arabic-normalized, case-folded text (see `bot.text.normalize`); an answer
    that refuses is never right unless a refusal was expected.
    """
    if refuse:
        return not covered
    if not covered:
        return False
    folded = normalize(text)
    return any(normalize(expected) in folded for expected in answer_any if expected.strip())


def share_found(found: Iterable[bool]) -> float | None:
    """The share of figures found in their sources; None when the briefs gave no figure."""
    return accuracy(found)
