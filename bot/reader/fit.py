"""Fit a built brief to the subscriptions due for it (filters, alerts already sent, weekly digest)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select

from bot.briefs.links import brief_url
from bot.context import Context
from bot.reader.alerts import pushed_stories
from bot.reader.filters import AliasTable
from bot.reader.tailor import digest, story_text, tailor
from storage.models import Brief, Story, StoryArticle


class Fits(Protocol):
    """A due subscription, as much of it as fitting needs."""

    @property
    def id(self) -> int: ...

    @property
    def alerts(self) -> bool: ...

    @property
    def include(self) -> tuple[str, ...]: ...

    @property
    def exclude(self) -> tuple[str, ...]: ...


def fit_brief(
    ctx: Context, brief_id: int, payload: Mapping[str, Any], subs: Sequence[Fits], *, cadence: str
) -> list[tuple[int, list[Fits]]]:
    """(brief id, its subscriptions): the built brief for those it suits as is, stored copies for the rest."""
    base: Mapping[str, Any] = payload
    if cadence == "weekly":
        base = digest(payload, max_stories=ctx.settings.weekly_max_stories)
    story_ids = [s["story_id"] for s in base["stories"]]
    special = [s for s in subs if s.alerts or s.include or s.exclude]
    pushed: dict[tuple[int, int], datetime] = {}
    last_joined: dict[int, datetime] = {}
    entities: dict[int, Mapping[str, Any]] = {}
    if special and story_ids:
        with ctx.db.session() as session:
            pushed = pushed_stories(session, [s.id for s in special if s.alerts], story_ids)
            joined = (
                select(StoryArticle.story_id, func.max(StoryArticle.joined_at))
                .where(StoryArticle.story_id.in_(story_ids))
                .group_by(StoryArticle.story_id)
            )
            last_joined = {sid: at for sid, at in session.execute(joined)}
            found = session.execute(select(Story.id, Story.entities).where(Story.id.in_(story_ids)))
            entities = {sid: value for sid, value in found}
    texts = {s["story_id"]: story_text(s, entities.get(s["story_id"]) or {}) for s in base["stories"]}
    aliases = (
        AliasTable.from_threads(ctx.classifier().threads)
        if any(s.include or s.exclude for s in special)
        else AliasTable()
    )
    variants: dict[str, tuple[Mapping[str, Any], list[Fits]]] = {}
    for sub in subs:
        fitted = base
        if sub in special:
            mine = {story: at for (owner, story), at in pushed.items() if owner == sub.id}
            fitted = tailor(base, include=sub.include, exclude=sub.exclude, pushed=mine,
                            last_joined=last_joined, texts=texts, aliases=aliases)  # fmt: skip
        key = "" if fitted is payload else json.dumps(fitted, sort_keys=True, default=str)
        variants.setdefault(key, (fitted, []))[1].append(sub)
    out: list[tuple[int, list[Fits]]] = []
    for key, (fitted, members) in variants.items():
        out.append((brief_id if key == "" else store_copy(ctx, brief_id, fitted), members))
    return out


def store_copy(ctx: Context, brief_id: int, payload: Mapping[str, Any]) -> int:
    """A fitted copy of a brief, stored (briefs are immutable) with its own page address."""
    with ctx.db.session() as session:
        original = session.get(Brief, brief_id)
        assert original is not None
        row = Brief(
            thread_id=original.thread_id,
            lang=original.lang,
            since=original.since,
            as_of=original.as_of,
            story_count=len(payload["stories"]),
            payload=dict(payload),
        )
        session.add(row)
        session.flush()
        row.payload = {**payload, "page_url": brief_url(ctx.settings.public_base_url, row.id)}
        return row.id
