"""One brief, fitted to each subscription: its keyword filters, its alerts, and the weekly digest.

A brief is built once per thread, language and period; subscriptions with filters or alerts get a
copy without the stories their filters refuse and without the stories already alerted to them, unless
later reports came in since the alert: those are kept, marked as an update. Subscriptions whose copy is
the same share one stored brief.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.briefs.compose import labels
from bot.reader.filters import AliasTable, StoryText, passes
from bot.reader.texts import words


def story_text(story: Mapping[str, Any], entities: Mapping[str, Any]) -> StoryText:
    """What filters look at in a brief's story: headline, bullets, source titles, and its entities."""
    texts = [
        story["headline"],
        *(b["text"] for b in story["bullets"]),
        *(s["title"] for s in story["sources"]),
    ]
    return StoryText.of(texts, entities)


def tailor(
    payload: Mapping[str, Any],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    pushed: Mapping[int, datetime] | None = None,
    last_joined: Mapping[int, datetime] | None = None,
    texts: Mapping[int, StoryText] | None = None,
    aliases: AliasTable | None = None,
) -> Mapping[str, Any]:
    """The payload for one subscription; the very same object when nothing changes for it."""
    pushed, last_joined, texts = pushed or {}, last_joined or {}, texts or {}
    aliases = aliases or AliasTable()
    lang = payload["lang"]
    stories = []
    changed = False
    for story in payload["stories"]:
        sid = story["story_id"]
        if (include or exclude) and not passes(
            include, exclude, texts.get(sid, StoryText((), frozenset())), aliases
        ):
            changed = True
            continue
        if sid in pushed:
            changed = True
            joined = last_joined.get(sid)
            if joined is None or joined <= pushed[sid]:
                continue  # alerted, and nothing new since
            story = {**story, "update": True, "headline": f"{words(lang)['update']}: {story['headline']}"}
        stories.append(story)
    if not changed:
        return payload
    out = {**payload, "stories": stories, "empty": not stories}
    if not stories:
        name = payload["thread"]["name"]
        since = (payload.get("since") or payload["as_of"])[:16].replace("T", " ") + " UTC"
        key = "filtered" if include or exclude else "nothing_since"
        text = words(lang)[key] if key == "filtered" else labels(lang)[key]
        out["message"] = text.format(thread=name, since=since)
    return out


def digest(payload: Mapping[str, Any], *, max_stories: int) -> dict[str, Any]:
    """The weekly digest: the week's top stories (importance weighs corroboration most), one bullet each."""
    lang = payload["lang"]
    stories = [{**s, "bullets": s["bullets"][:1]} for s in payload["stories"][:max_stories]]
    title = words(lang)["weekly"].format(thread=payload["thread"]["name"], date=payload["as_of"][:10])
    return {**payload, "kind": "weekly", "title": title, "stories": stories, "empty": not stories}
