"""Summaries cached by story, member set, language, model and prompt version.

A story whose members did not change is never summarized twice by the same summarizer, so a
brief rebuilt with nothing new makes no LLM call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.summarize import Summary
from storage.models import Summary as SummaryRow


def members_key(article_ids: Iterable[int]) -> str:
    """A short hash of the sorted member article ids."""
    joined = ",".join(str(i) for i in sorted(set(article_ids)))
    return hashlib.sha256(joined.encode("ascii")).hexdigest()[:32]


def cached(
    session: Session, *, story_id: int, key: str, model: str, version: str, langs: Iterable[str]
) -> dict[str, Summary] | None:
    """The stored summaries for every language in `langs`, or None when any is missing."""
    wanted = set(langs)
    rows = session.scalars(
        select(SummaryRow).where(
            SummaryRow.story_id == story_id,
            SummaryRow.members_key == key,
            SummaryRow.model == model,
            SummaryRow.prompt_version == version,
            SummaryRow.lang.in_(wanted),
        )
    ).all()
    found = {row.lang: Summary.from_dict(row.payload) for row in rows}
    return found if wanted <= found.keys() else None


def store(
    session: Session, *, story_id: int, key: str, model: str, version: str, summaries: dict[str, Summary]
) -> None:
    """Store `summaries` (one per language) under the cache key, replacing what was there."""
    for lang, summary in summaries.items():
        existing = session.scalars(
            select(SummaryRow).where(
                SummaryRow.story_id == story_id,
                SummaryRow.lang == lang,
                SummaryRow.members_key == key,
                SummaryRow.model == model,
                SummaryRow.prompt_version == version,
            )
        ).first()
        if existing is not None:
            existing.payload, existing.method = summary.to_dict(), summary.method
            continue
        session.add(
            SummaryRow(
                story_id=story_id,
                lang=lang,
                members_key=key,
                model=model,
                prompt_version=version,
                method=summary.method,
                payload=summary.to_dict(),
            )
        )
    session.flush()
