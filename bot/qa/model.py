"""What a question gets back: the answer, its citations and "as of", and how it was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.attribution.citations import Citation, text_line

Method = Literal["offline", "llm", "fallback", "refusal"]

# Shown on an answer quoted offline because the model failed or was not believed, as briefs tag
# their offline summaries: the reader should know no model wrote it.
FALLBACK_LABEL = {"en": "offline answer", "ar": "إجابة دون نموذج"}

LANG_NAMES = {
    "en": {"ar": "Arabic", "en": "English"},
    "ar": {"ar": "العربية", "en": "الإنجليزية"},
}


class QAError(Exception):
    """A question could not be taken (empty, too long, malformed); the message is for the asker."""


class RateLimited(QAError):
    """The asker has used up this minute's questions; `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class Answer:
    """An answer in the question's language, or a refusal, with citations and the newest source's date."""

    question: str
    lang: str
    text: str
    covered: bool
    method: Method
    citations: list[Citation] = field(default_factory=list)
    as_of: datetime | None = None
    quoted_lang: str | None = None
    nearest: list[str] = field(default_factory=list)
    resolved_question: str = ""
    entities: list[str] = field(default_factory=list)
    log_id: int | None = None
    # Each citation's outlet facts by its number (bot.qa.transparency); the citation's `outlet` carries
    # the label a reader sees ("KCNA (North Korea, state media, wire)").
    outlets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every citation is state media of a party to the story: the text opens by saying so.
    state_media_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also what the QA log stores)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data


def fallback_label(lang: str) -> str:
    """The "offline answer" tag in `lang` (English for an unknown language)."""
    return FALLBACK_LABEL.get(lang, FALLBACK_LABEL["en"])


def render_answer(answer: Answer) -> str:
    """Plain text for a terminal or a chat message: the answer, its sources and "as of"."""
    ar = answer.lang == "ar"
    lines = [answer.text]
    if answer.method == "fallback":
        lines.append(f"({fallback_label(answer.lang)})")
    if answer.nearest:
        lines += ["", "أقرب ما لدينا:" if ar else "Closest coverage:"]
        lines += [f"- {title}" for title in answer.nearest]
    if answer.citations:
        lines += ["", "المصادر:" if ar else "Sources:"]
        lines += [text_line(c, answer.lang) for c in answer.citations]
    if answer.as_of:
        lines += ["", f"{'حتى تاريخ' if ar else 'As of'} {answer.as_of.date().isoformat()}"]
    return "\n".join(lines)
