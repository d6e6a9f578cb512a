"""When a subscription's brief is due (daily or weekly) and whether its quiet hours hold an alert.

Times are local wall-clock times in the reader's IANA zone; the UTC instants come from
`bot.delivery.subscriptions.next_due_at`, which handles daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.subscriptions import next_due_at, parse_hhmm

CADENCES = ("daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_due(cadence: str, weekday: int, deliver_at: str, timezone: str, *, after: datetime) -> datetime:
    """The next brief: daily at `deliver_at`, or weekly on `weekday` (0 = Monday) at `deliver_at`."""
    due = next_due_at(deliver_at, timezone, after=after)
    if cadence != "weekly":
        return due
    zone = ZoneInfo(timezone)
    for _ in range(8):
        if due.astimezone(zone).weekday() == weekday:
            return due
        due = next_due_at(deliver_at, timezone, after=due)
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover


def _minutes(hhmm: str) -> int:
    hour, minute = (int(x) for x in parse_hhmm(hhmm).split(":"))
    return hour * 60 + minute


def quiet_until(start: str | None, end: str | None, timezone: str, *, now: datetime) -> datetime | None:
    """When the quiet hours holding `now` end (UTC), or None when `now` is outside them.

    The window is [start, end) on the local clock and may span midnight (22:00–07:00).
    """
    if not start or not end or start == end:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    t, s, e = local.hour * 60 + local.minute, _minutes(start), _minutes(end)
    inside = s <= t < e if s < e else (t >= s or t < e)
    return next_due_at(end, timezone, after=now) if inside else None


def local_day(timezone: str, now: datetime) -> str:
    """The reader's date at `now`: the day ALERT_MAX_PER_DAY counts in."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def local_time(timezone: str, now: datetime) -> time:
    """The reader's wall-clock time at `now`."""
    return now.astimezone(ZoneInfo(timezone)).time()


WEEK = timedelta(days=7)
