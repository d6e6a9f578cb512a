"""Subscriptions: a chat's daily brief of one thread in one language, at a local time in an IANA zone.

The next due time is computed from the local wall clock with zoneinfo, so a daylight-saving change
moves the UTC instant, never the local hour. A time that does not exist on a spring-forward day is
delivered at the same offset as before the change (02:30 becomes 03:30), and an hour repeated on a
fall-back day is delivered at its first occurrence only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Delivery, Subscription, Thread

LANG_CHOICES = ("ar", "en", "both")
COMMON_ZONES = {
    "Riyadh": "Asia/Riyadh",
    "Moscow": "Europe/Moscow",
    "Seoul": "Asia/Seoul",
    "London": "Europe/London",
    "New York": "America/New_York",
}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SubscriptionError(ValueError):
    """A subscription request with a bad thread, language, time or zone; the message says which."""


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription as the chat adapters show it."""

    id: int
    platform: str
    chat_id: str
    thread_id: str
    lang: str
    deliver_at: str
    timezone: str
    next_due_at: datetime | None


def parse_hhmm(text: str) -> str:
    """`7:05` or `07:05` as `07:05`; anything else is refused."""
    match = _HHMM.match(text.strip())
    if not match:
        raise SubscriptionError(f"{text!r} is not a time of day: use HH:MM, e.g. 07:30")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_zone(name: str) -> str:
    """An IANA zone name (or one of the common city names), checked against the zone database."""
    name = name.strip()
    name = COMMON_ZONES.get(name, COMMON_ZONES.get(name.title(), name))
    if "/" not in name and name != "UTC":
        raise SubscriptionError(f"{name!r} is not an IANA time zone: use a name like Asia/Riyadh")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SubscriptionError(f"unknown time zone {name!r}: use a name like Asia/Riyadh") from None
    return name


def next_due_at(deliver_at: str, timezone: str, *, after: datetime) -> datetime:
    """The first UTC instant strictly after `after` when the local clock in `timezone` shows `deliver_at`."""
    zone = ZoneInfo(timezone)
    hour, minute = (int(x) for x in parse_hhmm(deliver_at).split(":"))
    local_day: date = after.astimezone(zone).date()
    for offset in range(-1, 3):
        day = local_day + timedelta(days=offset)
        candidate = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a local time recurs within three days")  # pragma: no cover


def subscribe(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    thread_id: str,
    lang: str,
    deliver_at: str,
    timezone: str,
    now: datetime,
    created_by: str = "",
) -> list[Subscription]:
    """Create (or update and reactivate) the chat's subscription(s); `both` makes one per language."""
    if lang not in LANG_CHOICES:
        raise SubscriptionError(f"language must be ar, en or both, not {lang!r}")
    thread = session.get(Thread, thread_id)
    if thread is None or not thread.active:
        raise SubscriptionError(f"no active thread {thread_id!r}")
    deliver_at, timezone = parse_hhmm(deliver_at), parse_zone(timezone)
    due = next_due_at(deliver_at, timezone, after=now)
    rows = []
    for one_lang in ("ar", "en") if lang == "both" else (lang,):
        row = _find(session, platform, chat_id, thread_id, one_lang)
        if row is None:
            row = Subscription(platform=platform, chat_id=str(chat_id), thread_id=thread_id, lang=one_lang)
            session.add(row)
        row.deliver_at, row.timezone, row.active, row.next_due_at = deliver_at, timezone, True, due
        if row.cadence == "weekly":  # a weekly digest keeps its weekday
            from bot.reader.schedule import next_due

            row.next_due_at = next_due("weekly", row.weekday, deliver_at, timezone, after=now)
        row.created_by = row.created_by or created_by
        rows.append(row)
    session.flush()
    return rows


def _find(session: Session, platform: str, chat_id: str, thread_id: str, lang: str) -> Subscription | None:
    return session.scalars(
        select(Subscription).where(
            Subscription.platform == platform,
            Subscription.chat_id == str(chat_id),
            Subscription.thread_id == thread_id,
            Subscription.lang == lang,
        )
    ).first()


def unsubscribe(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    thread_id: str | None = None,
    lang: str | None = None,
    subscription_id: int | None = None,
) -> int:
    """End the chat's matching subscriptions (all of them when nothing narrows it); how many ended."""
    query = update(Subscription).where(
        Subscription.platform == platform, Subscription.chat_id == str(chat_id), Subscription.active.is_(True)
    )
    if thread_id:
        query = query.where(Subscription.thread_id == thread_id)
    if lang and lang != "both":
        query = query.where(Subscription.lang == lang)
    if subscription_id is not None:
        query = query.where(Subscription.id == subscription_id)
    return int(session.execute(query.values(active=False)).rowcount or 0)  # type: ignore[attr-defined]


def end_chat(session: Session, *, platform: str, chat_id: str, reason: str) -> int:
    """The chat is gone (bot blocked or removed): end its subscriptions and cancel what was queued."""
    ended = unsubscribe(session, platform=platform, chat_id=chat_id)
    session.execute(
        update(Delivery)
        .where(Delivery.platform == platform, Delivery.chat_id == str(chat_id))
        .where(Delivery.status.in_(("pending", "sending")))
        .values(status="cancelled", last_error=reason, lease_until=None)
    )
    return ended


def list_subscriptions(
    session: Session, *, platform: str | None = None, chat_id: str | None = None, active: bool = True
) -> list[SubscriptionView]:
    """Subscriptions, optionally of one platform or one chat, oldest first."""
    query = select(Subscription).order_by(Subscription.id)
    if active:
        query = query.where(Subscription.active.is_(True))
    if platform:
        query = query.where(Subscription.platform == platform)
    if chat_id is not None:
        query = query.where(Subscription.chat_id == str(chat_id))
    return [_view(row) for row in session.scalars(query)]


def _view(row: Subscription) -> SubscriptionView:
    return SubscriptionView(
        row.id,
        row.platform,
        row.chat_id,
        row.thread_id,
        row.lang,
        row.deliver_at,
        row.timezone,
        row.next_due_at,
    )


def due_subscriptions(session: Session, now: datetime, *, limit: int | None = None) -> Sequence[Subscription]:
    """Active subscriptions whose due time has come, the longest-waiting first."""
    query = (
        select(Subscription)
        .where(Subscription.active.is_(True), Subscription.next_due_at <= now)
        .order_by(Subscription.next_due_at, Subscription.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()
