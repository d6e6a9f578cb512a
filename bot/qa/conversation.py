"""Follow-up questions: earlier turns of a conversation (from the QA log) make a follow-up stand alone.

Offline, a follow-up that names no thread entity inherits the previous turn's entities, and "he"/"she"
(«هو»/«هي») stands for the entity the previous question named first (its subject, in practice; the
threads do not record which entities are people). With an LLM, the question is rewritten.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import prompts
from bot.llm import LLM, LLMError
from bot.qa.query import entity_library
from bot.threads.classify import Entity, ThreadClassifier
from storage.models import QALog

log = logging.getLogger(__name__)

HISTORY_TURNS = 3
REWRITE_PURPOSE = "rewrite-question"
_PRONOUN = re.compile(r"\b(he|she|him|his|her)\b|(?:^|\s)(هو|هي)(?:\s|$)", re.IGNORECASE)
# "he … him", "they": more than the subject is meant, so every earlier entity is carried.
_MORE_PEOPLE = re.compile(r"\b(him|her|them|they|their)\b.*|\bhe\b.*\bhim\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier question of the conversation, as it was understood, and what it was told."""

    question: str
    resolved: str
    entities: list[str]
    answer: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """A question made to stand alone: the text to search with, and entities carried over from before."""

    question: str
    carried: list[str]


def history(session: Session, conversation_id: str | None, *, turns: int = HISTORY_TURNS) -> list[Turn]:
    """The conversation's last turns, oldest first."""
    if not conversation_id:
        return []
    rows = session.scalars(
        select(QALog)
        .where(QALog.conversation_id == conversation_id)
        .order_by(QALog.at.desc(), QALog.id.desc())
        .limit(turns)
    ).all()
    return [_turn(row) for row in reversed(rows)]


def _turn(row: QALog) -> Turn:
    payload = row.answer if isinstance(row.answer, dict) else {}
    entities = payload.get("entities")
    return Turn(
        question=row.question,
        resolved=str(payload.get("resolved_question") or row.question),
        entities=[str(e) for e in entities] if isinstance(entities, list) else [],
        answer=str(payload.get("text", "")),
    )


def resolve_offline(question: str, turns: Sequence[Turn], classifier: ThreadClassifier) -> Resolved:
    """Make a follow-up stand alone against the previous turn.

    A follow-up that names no thread entity inherits the previous turn's entities; "he" («هو») becomes
    its subject, and with "him" or "them" as well every earlier entity is carried.
    """
    if not turns:
        return Resolved(question, [])
    previous = next((turn for turn in reversed(turns) if turn.entities), None)
    named = classifier.entities_in(question)
    if previous is None or named:
        return Resolved(question, [])  # a follow-up that names its own actors stands on its own
    library = entity_library(classifier)
    arabic = _is_arabic(question)
    names = [_name(library.get(e), question) for e in previous.entities]
    carried = [e for e in previous.entities if e not in named]
    text = question
    match = _PRONOUN.search(question)
    if match and names[0]:
        pronoun = match.group(1) or match.group(2)
        start = match.start(1) if match.group(1) else match.start(2)
        text = question[:start] + names[0] + question[start + len(pronoun) :]
        if not _MORE_PEOPLE.search(question):
            return Resolved(text, previous.entities[:1])
    shown = [n for e, n in zip(previous.entities, names, strict=True) if n and e in carried]
    joined = ("، " if arabic else ", ").join(shown)
    text = f"{text} ({joined})" if joined and text == question else text
    return Resolved(text, carried)


def _is_arabic(text: str) -> bool:
    return sum("\u0600" <= c <= "\u06ff" for c in text) > sum(c.isascii() and c.isalpha() for c in text)


def _name(entity: Entity | None, question: str) -> str:
    if entity is None:
        return ""
    return entity.name_ar if _is_arabic(question) else entity.name_en


def history_blocks(turns: Sequence[Turn]) -> str:
    """Earlier turns as delimited, untrusted data for a prompt."""
    items = [(i + 1, f"Q: {turn.resolved}\nA: {turn.answer}") for i, turn in enumerate(turns)]
    return prompts.blocks("turn", items)


def rewrite(llm: LLM, question: str, turns: Sequence[Turn]) -> str | None:
    """The follow-up rewritten by the model to stand alone; None when the model cannot help."""
    if not turns:
        return None
    prompt = prompts.render(
        "rewrite_question", history=history_blocks(turns), question=prompts.quote_untrusted(question)
    )
    try:
        reply = llm.chat_json(
            purpose=REWRITE_PURPOSE, prompt=prompt, schema=prompts.schema("rewrite_question")
        )
    except LLMError as error:
        log.info("question rewrite unavailable, resolving offline: %s", error)
        return None
    rewritten = str(reply["question"]).strip()
    return rewritten or None
