"""Instant alerts: a story is pushed once, as soon as it is corroborated (bot/reader/gate.py).

`scan` looks at the stories clustering touched since its last run (a watermark in app_state, with an
overlap, so it does not depend on how clustering is triggered); `after_clustering` checks given stories at
once. A corroborated story gets one StoryAlert row (its primary key makes the alert happen once, whichever
process sees it first) and one alert message per language, stored as a brief-shaped payload so the outbox
and the platform renderers deliver it like a brief. Each alert subscription of the thread whose filters
let the story through then gets:

- a delivery row (kind "alert"), written before anything is sent, or
- inside its quiet hours, a held row, released by `release_held` as one message when they end, or
- past ALERT_MAX_PER_DAY on the reader's local day, nothing now: the story comes in the next brief, and
  the reader is told so once that day.

Later reports of an alerted story are not alerted again; the next brief shows the story as an update
(bot/reader/tailor.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.briefs.build import store_brief, story_entries, thread_name
from bot.briefs.compose import StoryEntry, compose
from bot.briefs.links import story_url
from bot.context import Context
from bot.reader.filters import AliasTable, StoryText, passes
from bot.reader.gate import corroborated
from bot.reader.schedule import local_day, quiet_until
from bot.reader.texts import words
from bot.stories.cluster import story_members
from bot.summarize import LANGS
from storage.models import Brief, Delivery, Setting, Story, StoryAlert, Subscription, SubscriptionAlert

log = logging.getLogger(__name__)

WATERMARK_KEY = "alerts:watermark"
OVERLAP = timedelta(minutes=2)  # stories touched while the last scan ran are looked at again
FAN_OUT_BATCH = 500
PUSHED = ("sent", "held", "released")

Wake = Callable[[], None]


@dataclass(slots=True)
class ScanReport:
    """What one scan did."""

    checked: int = 0
    alerted: list[int] = field(default_factory=list)  # story ids
    deliveries: int = 0
    held: int = 0
    capped: int = 0
    released: int = 0


@dataclass(frozen=True, slots=True)
class _Sub:
    id: int
    platform: str
    chat_id: str
    lang: str
    timezone: str
    quiet_start: str | None
    quiet_end: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]


# ---------------------------------------------------------------- finding corroborated stories


def scan(ctx: Context, *, wake: Wake | None = None) -> ScanReport:
    """Alert the stories touched since the last scan that are now corroborated; release held alerts."""
    started = ctx.now()
    with ctx.db.session() as session:
        since = _watermark(session)
        query = select(Story.id).where(Story.id.not_in(select(StoryAlert.story_id)))
        if since is not None:
            query = query.where(Story.updated_at > since - OVERLAP)
        ids = list(session.scalars(query.order_by(Story.id)))
    report = check_stories(ctx, ids, wake=wake)
    with ctx.db.session() as session:
        _set_watermark(session, started)
    report.released = release_held(ctx, wake=wake)
    return report


def after_clustering(ctx: Context, story_ids: Iterable[int], *, wake: Wake | None = None) -> ScanReport:
    """The hook for the write path: check the stories clustering just touched, alert the corroborated."""
    return check_stories(ctx, sorted(set(story_ids)), wake=wake)


def check_stories(ctx: Context, story_ids: Sequence[int], *, wake: Wake | None = None) -> ScanReport:
    """Alert each of these stories that is corroborated and not alerted yet."""
    report = ScanReport(checked=len(story_ids))
    minimum = ctx.settings.alert_min_outlets
    verdicts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with ctx.db.session() as session:
        done = set(session.scalars(select(StoryAlert.story_id).where(StoryAlert.story_id.in_(story_ids))))
        for story in session.scalars(select(Story).where(Story.id.in_(story_ids))):
            if story.id in done:
                continue
            verdict = corroborated(story_members(session, story.id), min_outlets=minimum)
            if verdict.ok:
                verdicts[story.thread_id].append((story.id, verdict.reason))
    for thread_id, stories in verdicts.items():
        for story_id, reason in stories:
            if _claim(ctx, story_id, thread_id, reason):
                report.alerted.append(story_id)
        claimed = [s for s, _ in stories if s in report.alerted]
        if claimed:
            _alert(ctx, thread_id, claimed, report, wake)
    return report


def _claim(ctx: Context, story_id: int, thread_id: str, reason: str) -> bool:
    """Insert the story's alert row; False when another process alerted it first."""
    try:
        with ctx.db.session() as session:
            session.add(StoryAlert(story_id=story_id, thread_id=thread_id, at=ctx.now(), reason=reason))
            session.flush()
        return True
    except IntegrityError:
        return False


def _watermark(session: Session) -> datetime | None:
    row = session.get(Setting, WATERMARK_KEY)
    return datetime.fromisoformat(row.value["at"]) if row and row.value.get("at") else None


def _set_watermark(session: Session, at: datetime) -> None:
    row = session.get(Setting, WATERMARK_KEY)
    if row is None:
        session.add(Setting(key=WATERMARK_KEY, value={"at": at.isoformat()}))
    else:
        row.value = {"at": at.isoformat()}


# ---------------------------------------------------------------- the alert message


def alert_payload(ctx: Context, entry: StoryEntry, thread_id: str, lang: str) -> dict[str, Any]:
    """One short message: the headline, one bullet, its citations, and a link to the story's page."""
    name = thread_name(ctx, thread_id, lang)
    payload = compose(
        thread_id=thread_id, thread_name=name, lang=lang, as_of=ctx.now(), since=None, entries=[entry]
    )
    story = payload["stories"][0]
    story["bullets"] = story["bullets"][:1]
    cited = {n for bullet in story["bullets"] for n in bullet["cites"]}
    story["sources"] = [s for s in story["sources"] if s["n"] in cited] or story["sources"][:1]
    payload.update(
        kind="alert",
        title=words(lang)["alert"].format(thread=name),
        page_url=story_url(ctx.settings.public_base_url, entry.story_id, lang),
    )
    return payload


def _store(session: Session, thread_id: str, lang: str, as_of: datetime, payload: dict[str, Any]) -> int:
    return store_brief(session, thread_id, lang, as_of, payload).id


def _alert(ctx: Context, thread_id: str, story_ids: list[int], report: ScanReport, wake: Wake | None) -> None:
    entries = story_entries(ctx, thread_id, story_ids)
    aliases = AliasTable.from_threads(ctx.classifier().threads)
    subs = _alert_subscriptions(ctx, thread_id)
    for story_id in story_ids:
        if story_id not in entries:
            continue
        by_lang = entries[story_id]
        with ctx.db.session() as session:
            alert = session.get(StoryAlert, story_id)
            story = session.get(Story, story_id)
            assert alert is not None and story is not None
            briefs: dict[str, int] = {
                lang: _store(
                    session, thread_id, lang, ctx.now(), alert_payload(ctx, by_lang[lang], thread_id, lang)
                )
                for lang in LANGS
            }
            alert.briefs = briefs
            text = _story_text(by_lang.values(), story.entities or {})
        _fan_out(ctx, thread_id, story_id, briefs, text, aliases, subs, report, wake)


def _story_text(entries: Iterable[StoryEntry], entities: dict[str, Any]) -> StoryText:
    texts: list[str] = []
    for entry in entries:
        texts.append(entry.summary.headline)
        texts += [bullet.text for bullet in entry.summary.bullets]
    for entry in entries:
        texts += [member.title for member in entry.members]
        break
    return StoryText.of(texts, entities)


def _alert_subscriptions(ctx: Context, thread_id: str) -> list[_Sub]:
    with ctx.db.session() as session:
        rows = session.execute(
            select(
                Subscription.id,
                Subscription.platform,
                Subscription.chat_id,
                Subscription.lang,
                Subscription.timezone,
                Subscription.quiet_start,
                Subscription.quiet_end,
                Subscription.include_terms,
                Subscription.exclude_terms,
            )
            .where(Subscription.active.is_(True), Subscription.alerts.is_(True))
            .where(Subscription.thread_id == thread_id)
            .order_by(Subscription.id)
        ).all()
    return [
        _Sub(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7] or ()), tuple(r[8] or ())) for r in rows
    ]


# ---------------------------------------------------------------- fan-out


def _fan_out(
    ctx: Context,
    thread_id: str,
    story_id: int,
    briefs: dict[str, int],
    text: StoryText,
    aliases: AliasTable,
    subs: Sequence[_Sub],
    report: ScanReport,
    wake: Wake | None,
) -> None:
    chosen = [s for s in subs if passes(s.include, s.exclude, text, aliases)]
    for start in range(0, len(chosen), FAN_OUT_BATCH):
        batch = chosen[start : start + FAN_OUT_BATCH]
        try:
            with ctx.db.session() as session:
                _fan_out_batch(ctx, session, thread_id, story_id, briefs, batch, report)
        except IntegrityError:  # another process wrote some of them: one by one, skipping those
            for sub in batch:
                try:
                    with ctx.db.session() as session:
                        _fan_out_batch(ctx, session, thread_id, story_id, briefs, [sub], report)
                except IntegrityError:
                    continue
        if wake is not None:
            wake()  # the first batch goes out while the next ones are written


def _fan_out_batch(
    ctx: Context,
    session: Session,
    thread_id: str,
    story_id: int,
    briefs: dict[str, int],
    batch: Sequence[_Sub],
    report: ScanReport,
) -> None:
    now, cap = ctx.now(), ctx.settings.alert_max_per_day
    ids = [s.id for s in batch]
    days = {s.id: local_day(s.timezone, now) for s in batch}
    seen = set(
        session.scalars(
            select(SubscriptionAlert.subscription_id).where(
                SubscriptionAlert.subscription_id.in_(ids), SubscriptionAlert.story_id == story_id
            )
        )
    )
    today: dict[int, int] = defaultdict(int)
    told: set[int] = set()
    for sub_id, day, state, n in session.execute(
        select(
            SubscriptionAlert.subscription_id,
            SubscriptionAlert.local_day,
            SubscriptionAlert.state,
            func.count(),
        )
        .where(
            SubscriptionAlert.subscription_id.in_(ids), SubscriptionAlert.local_day.in_(set(days.values()))
        )
        .group_by(SubscriptionAlert.subscription_id, SubscriptionAlert.local_day, SubscriptionAlert.state)
    ):
        if day != days[sub_id]:
            continue
        if state == "capped":
            told.add(sub_id)
        else:
            today[sub_id] += int(n)
    notices: dict[str, int] = {}
    marks: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for sub in batch:
        if sub.id in seen:
            continue
        mark: dict[str, Any] = {
            "subscription_id": sub.id, "story_id": story_id, "at": now, "local_day": days[sub.id],
            "release_at": None,
        }  # fmt: skip
        if today[sub.id] >= cap:
            mark["state"] = "capped"
            report.capped += 1
            if sub.id not in told:
                if sub.lang not in notices:
                    notices[sub.lang] = _store(
                        session, thread_id, sub.lang, now, _capped_payload(ctx, thread_id, sub.lang, cap)
                    )
                rows.append(
                    _delivery(f"alert-cap:{sub.id}:{days[sub.id]}", sub, notices[sub.lang], now, "notice")
                )
        elif (until := quiet_until(sub.quiet_start, sub.quiet_end, sub.timezone, now=now)) is not None:
            mark["state"], mark["release_at"] = "held", until
            report.held += 1
        else:
            mark["state"] = "sent"
            rows.append(_delivery(f"alert:{sub.id}:{story_id}", sub, briefs[sub.lang], now, "alert"))
        marks.append(mark)
    # Core inserts: thousands of rows a batch, and nothing needs their ids back.
    if marks:
        session.execute(insert(SubscriptionAlert), marks)
    if rows:
        session.execute(insert(Delivery), rows)
    report.deliveries += len(rows)


def _delivery(key: str, sub: _Sub | Subscription, brief_id: int, now: datetime, kind: str) -> dict[str, Any]:
    """The values of one outbox row."""
    return {
        "key": key,
        "subscription_id": sub.id,
        "brief_id": brief_id,
        "platform": sub.platform,
        "chat_id": sub.chat_id,
        "status": "pending",
        "kind": kind,
        "next_attempt_at": now,
        "attempts": 0,
        "parts_total": 0,
        "parts_sent": 0,
        "created_at": now,
    }


def _capped_payload(ctx: Context, thread_id: str, lang: str, cap: int) -> dict[str, Any]:
    name = thread_name(ctx, thread_id, lang)
    return {
        **compose(thread_id=thread_id, thread_name=name, lang=lang, as_of=ctx.now(), since=None, entries=[]),
        "kind": "notice",
        "title": words(lang)["capped"].format(thread=name),
        "message": words(lang)["capped_message"].format(n=cap),
    }


# ---------------------------------------------------------------- quiet hours


def release_held(ctx: Context, *, wake: Wake | None = None) -> int:
    """Alerts held by quiet hours that have ended: one message per subscription; how many were sent."""
    try:
        released = _release_held(ctx)
    except IntegrityError:  # another process released them first (the delivery key is unique)
        return 0
    if released and wake is not None:
        wake()
    return released


def _release_held(ctx: Context) -> int:
    now = ctx.now()
    with ctx.db.session() as session:
        held = session.execute(
            select(SubscriptionAlert, Subscription, StoryAlert)
            .join(Subscription, Subscription.id == SubscriptionAlert.subscription_id)
            .join(StoryAlert, StoryAlert.story_id == SubscriptionAlert.story_id)
            .where(SubscriptionAlert.state == "held", SubscriptionAlert.release_at <= now)
            .order_by(SubscriptionAlert.subscription_id, SubscriptionAlert.at)
        ).all()
        groups: dict[int, list[tuple[SubscriptionAlert, Subscription, StoryAlert]]] = defaultdict(list)
        for mark, sub, alert in held:
            groups[sub.id].append((mark, sub, alert))
        for items in groups.values():
            sub = items[0][1]
            stories = []
            for _, _, alert in items:
                brief = session.get(Brief, alert.briefs.get(sub.lang))
                if brief is not None:
                    stories += brief.payload["stories"]
            name = thread_name(ctx, sub.thread_id, sub.lang)
            payload = {
                **compose(
                    thread_id=sub.thread_id,
                    thread_name=name,
                    lang=sub.lang,
                    as_of=now,
                    since=None,
                    entries=[],
                ),
                "kind": "alert",
                "title": words(sub.lang)["held"].format(thread=name),
                "stories": stories,
                "empty": not stories,
            }
            brief_id = _store(session, sub.thread_id, sub.lang, now, payload)
            release = max(mark.release_at or now for mark, _, _ in items)
            key = f"held:{sub.id}:{release.strftime('%Y-%m-%dT%H:%MZ')}"
            session.execute(insert(Delivery), [_delivery(key, sub, brief_id, now, "alert")])
            for mark, _, _ in items:
                mark.state, mark.release_at = "released", None
    return len(groups)


def pushed_stories(
    session: Session, subscription_ids: Sequence[int], story_ids: Sequence[int]
) -> dict[tuple[int, int], datetime]:
    """(subscription, story) → when the story was alerted to that subscription (sent, held or released)."""
    if not subscription_ids or not story_ids:
        return {}
    rows = session.execute(
        select(SubscriptionAlert.subscription_id, SubscriptionAlert.story_id, SubscriptionAlert.at).where(
            SubscriptionAlert.subscription_id.in_(subscription_ids),
            SubscriptionAlert.story_id.in_(story_ids),
            SubscriptionAlert.state.in_(PUSHED),
        )
    )
    return {(sub, story): at for sub, story, at in rows}
