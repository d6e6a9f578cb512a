"""Word-sequence matching over normalized text, without regular expressions (no ReDoS by construction).

Text is folded with the threads' normalization (bot/text/normalize.py) and split into words; a phrase
matches where its words occur in a row. An Arabic word also matches with the clitics Arabic attaches
to it (و ف ب ك ل ال, e.g. «وقالت» for «قالت», «لشويغو» for «شويغو»).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.text.normalize import tokens

_CLITICS = frozenset(c + p for c in ("", "و", "ف") for p in ("", "ب", "ك", "ل", "ال", "بال", "كال", "لل")) - {
    ""
}
_LAM_LAM = frozenset({"لل", "ولل", "فلل"})


def phrase(text: str) -> tuple[str, ...]:
    """The phrase's normalized words."""
    return tuple(tokens(text))


def _word_matches(token: str, word: str) -> bool:
    if token == word:
        return True
    if not ("\u0600" <= word[0] <= "\u06ff"):
        return False
    if token.endswith(word) and token[: -len(word)] in _CLITICS:
        return True
    # ل + ال is written لل: «للرياض» for «الرياض».
    bare = word[2:]
    return word.startswith("ال") and bare != "" and token.endswith(bare) and token[: -len(bare)] in _LAM_LAM


def contains(words: Sequence[str], wanted: Sequence[str]) -> bool:
    """Whether `wanted` occurs as consecutive words of `words` (both already normalized)."""
    n = len(wanted)
    if n == 0 or n > len(words):
        return False
    first = wanted[0]
    for start in range(len(words) - n + 1):
        if _word_matches(words[start], first) and all(
            _word_matches(words[start + k], wanted[k]) for k in range(1, n)
        ):
            return True
    return False
