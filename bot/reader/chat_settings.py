"""Every subscription setting from the chat, as plain functions the conversation core calls.

`/settings ARGS` (Telegram) and `/newsbrief settings ARGS` (Slack) take one setting at a time, in
English or Arabic words; buttons send the same arguments (see `CHOICES`):

| setting    | English                                  | Arabic                               |
|------------|------------------------------------------|--------------------------------------|
| cadence    | `cadence daily`, `cadence weekly [DAY]`, `cadence alerts` | `الوتيرة يومي`، `أسبوعي`، `فوري` |
| alerts     | `alerts on`, `alerts off`                | `تنبيهات تشغيل`، `تنبيهات إيقاف`      |
| quiet      | `quiet 22:00-07:00`, `quiet off`         | `هدوء 22:00-07:00`، `هدوء إيقاف`      |
| include    | `include Shoigu, Wonsan port`            | `تضمين شويغو، ميناء وونسان`           |
| exclude    | `exclude sports`                         | `استبعاد …`                           |
| filters    | `filters clear`                          | `تصفية مسح`                           |
| language   | `lang ar`, `lang en`                     | `لغة ar`                              |
| time       | `time 07:30`                             | `وقت 07:30`                           |
| time zone  | `tz Asia/Riyadh` (or Riyadh, Moscow, …)  | `منطقة Asia/Riyadh`                   |

`cadence alerts` means instant alerts plus the daily brief (for updates and what the alert cap held
back); `alerts on` adds alerts to a weekly digest. Terms are separated by commas (, or ،); each has at
most FILTER_MAX_WORDS words, a subscription at most FILTER_MAX_TERMS terms; no regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.subscriptions import SubscriptionError, parse_hhmm, parse_zone
from bot.reader.filters import DEFAULT_MAX_TERMS, DEFAULT_MAX_WORDS, FilterError, check_term
from bot.reader.schedule import WEEKDAYS, next_due
from storage.models import Subscription

_KEYWORDS = {
    "cadence": "cadence", "الوتيرة": "cadence", "وتيرة": "cadence",
    "alerts": "alerts", "تنبيهات": "alerts",
    "quiet": "quiet", "هدوء": "quiet",
    "include": "include", "تضمين": "include",
    "exclude": "exclude", "استبعاد": "exclude",
    "filters": "filters", "تصفية": "filters",
    "lang": "lang", "language": "lang", "لغة": "lang", "اللغة": "lang",
    "time": "time", "وقت": "time", "الوقت": "time",
    "tz": "tz", "timezone": "tz", "zone": "tz", "منطقة": "tz", "المنطقة": "tz",
    "weekday": "weekday", "يوم": "weekday",
}  # fmt: skip
_VALUES = {
    "daily": "daily", "يومي": "daily", "weekly": "weekly", "أسبوعي": "weekly", "اسبوعي": "weekly",
    "alerts": "alerts", "instant": "alerts", "فوري": "alerts",
    "on": "on", "تشغيل": "on", "off": "off", "إيقاف": "off", "ايقاف": "off",
    "clear": "clear", "مسح": "clear",
}  # fmt: skip
_ARABIC_DAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
_TERM_SEPARATORS = re.compile("[,،;؛]")

# What buttons offer, per setting: (label, the arguments they send).
CHOICES: dict[str, list[tuple[str, str]]] = {
    "cadence": [("daily", "cadence daily"), ("weekly", "cadence weekly"), ("alerts", "cadence alerts")],
    "alerts": [("on", "alerts on"), ("off", "alerts off")],
    "quiet": [
        ("22:00–07:00", "quiet 22:00-07:00"),
        ("23:00–08:00", "quiet 23:00-08:00"),
        ("off", "quiet off"),
    ],
    "lang": [("العربية", "lang ar"), ("English", "lang en")],
    "filters": [("clear", "filters clear")],
}


class SettingsError(SubscriptionError):
    """A setting that cannot be read or applied; the message says why and what to write instead."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One parsed setting: which, and the column values it sets."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    add_include: tuple[str, ...] = ()
    add_exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Applied:
    """What a setting changed: each subscription's id and the fields that took a new value."""

    setting: str
    changed: dict[int, dict[str, Any]]


def parse_setting(
    args: str | Sequence[str], *, max_words: int = DEFAULT_MAX_WORDS, max_terms: int = DEFAULT_MAX_TERMS
) -> Setting:
    """Read one setting from the chat's arguments; SettingsError with a clear message otherwise."""
    text = args if isinstance(args, str) else " ".join(args)
    head, _, rest = text.strip().partition(" ")
    name = _KEYWORDS.get(head.casefold())
    if name is None:
        raise SettingsError(
            f"unknown setting {head!r}: use cadence, alerts, quiet, include, exclude, filters, lang, time or tz"
        )
    rest = rest.strip()
    try:
        return _PARSERS[name](rest, max_words, max_terms)
    except (FilterError, SubscriptionError) as error:  # one error type for the core to show
        raise SettingsError(str(error)) from None


def _value(rest: str) -> str:
    return _VALUES.get(rest.strip().split(" ")[0].casefold(), rest.strip().casefold())


def _weekday(text: str) -> int:
    day = text.strip().casefold()[:3]
    if day in WEEKDAYS:
        return WEEKDAYS.index(day)
    if text.strip() in _ARABIC_DAYS:
        return _ARABIC_DAYS.index(text.strip())
    raise SettingsError(f"{text!r} is not a day of the week: use mon, tue, … sun")


def _cadence(rest: str, *_: int) -> Setting:
    value = _value(rest)
    if value == "daily":
        return Setting("cadence", {"cadence": "daily"})
    if value == "alerts":
        return Setting("cadence", {"cadence": "daily", "alerts": True})
    if value == "weekly":
        parts = rest.split(maxsplit=1)
        values: dict[str, Any] = {"cadence": "weekly"}
        if len(parts) > 1:
            values["weekday"] = _weekday(parts[1])
        return Setting("cadence", values)
    raise SettingsError(f"cadence must be daily, weekly or alerts, not {rest!r}")


def _alerts(rest: str, *_: int) -> Setting:
    value = _value(rest)
    if value not in ("on", "off"):
        raise SettingsError(f"alerts must be on or off, not {rest!r}")
    return Setting("alerts", {"alerts": value == "on"})


def _quiet(rest: str, *_: int) -> Setting:
    if _value(rest) == "off":
        return Setting("quiet", {"quiet_start": None, "quiet_end": None})
    match = _RANGE.match(rest)
    if not match:
        raise SettingsError(f"quiet hours are HH:MM-HH:MM (e.g. 22:00-07:00) or off, not {rest!r}")
    start, end = parse_hhmm(match.group(1)), parse_hhmm(match.group(2))
    if start == end:
        raise SettingsError("quiet hours must start and end at different times")
    return Setting("quiet", {"quiet_start": start, "quiet_end": end})


def _terms(rest: str, max_words: int) -> tuple[str, ...]:
    terms = [check_term(t, max_words=max_words) for t in _TERM_SEPARATORS.split(rest) if t.strip()]
    if not terms:
        raise SettingsError("give one or more words or phrases, separated by commas")
    return tuple(dict.fromkeys(terms))


def _include(rest: str, max_words: int, _: int) -> Setting:
    return Setting("include", add_include=_terms(rest, max_words))


def _exclude(rest: str, max_words: int, _: int) -> Setting:
    return Setting("exclude", add_exclude=_terms(rest, max_words))


def _filters(rest: str, *_: int) -> Setting:
    if _value(rest) != "clear":
        raise SettingsError("use `filters clear` to remove every filter")
    return Setting("filters", {"include_terms": [], "exclude_terms": []})


def _lang(rest: str, *_: int) -> Setting:
    value = rest.strip().casefold()
    value = {"العربية": "ar", "عربي": "ar", "english": "en", "الإنجليزية": "en"}.get(value, value)
    if value not in ("ar", "en"):
        raise SettingsError(f"language must be ar or en, not {rest!r}")
    return Setting("lang", {"lang": value})


def _time(rest: str, *_: int) -> Setting:
    return Setting("time", {"deliver_at": parse_hhmm(rest)})


def _tz(rest: str, *_: int) -> Setting:
    return Setting("tz", {"timezone": parse_zone(rest)})


def _weekday_setting(rest: str, *_: int) -> Setting:
    return Setting("weekday", {"weekday": _weekday(rest)})


_PARSERS: dict[str, Callable[[str, int, int], Setting]] = {
    "cadence": _cadence,
    "alerts": _alerts,
    "quiet": _quiet,
    "include": _include,
    "exclude": _exclude,
    "filters": _filters,
    "lang": _lang,
    "time": _time,
    "tz": _tz,
    "weekday": _weekday_setting,
}


def apply_setting(
    session: Session,
    setting: Setting,
    *,
    platform: str,
    chat_id: str,
    now: datetime,
    thread_id: str | None = None,
    lang: str | None = None,
    max_terms: int = DEFAULT_MAX_TERMS,
) -> Applied:
    """Apply a setting to the chat's active subscriptions (narrowed by thread and language)."""
    query = select(Subscription).where(
        Subscription.platform == platform, Subscription.chat_id == str(chat_id), Subscription.active.is_(True)
    )
    if thread_id:
        query = query.where(Subscription.thread_id == thread_id)
    if lang:
        query = query.where(Subscription.lang == lang)
    rows = list(session.scalars(query.order_by(Subscription.id)))
    if not rows:
        raise SettingsError("this chat has no subscription to change: subscribe first")
    changed: dict[int, dict[str, Any]] = {}
    for row in rows:
        values = _new_values(session, row, setting, max_terms)
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        for key, value in diff.items():
            setattr(row, key, value)
        if {"cadence", "weekday", "deliver_at", "timezone"} & diff.keys():
            row.next_due_at = next_due(row.cadence, row.weekday, row.deliver_at, row.timezone, after=now)
        if diff:
            changed[row.id] = diff
    session.flush()
    return Applied(setting.name, changed)


def _new_values(session: Session, row: Subscription, setting: Setting, max_terms: int) -> dict[str, Any]:
    values = dict(setting.values)
    if setting.add_include or setting.add_exclude:
        include = list(dict.fromkeys([*(row.include_terms or []), *setting.add_include]))
        exclude = list(dict.fromkeys([*(row.exclude_terms or []), *setting.add_exclude]))
        if len(include) + len(exclude) > max_terms:
            raise SettingsError(f"a subscription has at most {max_terms} filter terms")
        values.update(include_terms=include, exclude_terms=exclude)
    if "lang" in values and values["lang"] != row.lang:
        twin = session.scalars(
            select(Subscription.id).where(
                Subscription.platform == row.platform,
                Subscription.chat_id == row.chat_id,
                Subscription.thread_id == row.thread_id,
                Subscription.lang == values["lang"],
            )
        ).first()
        if twin is not None:
            raise SettingsError(f"this chat already has a {values['lang']} subscription to {row.thread_id}")
    return values


def change_setting(
    session: Session,
    args: str | Sequence[str],
    *,
    platform: str,
    chat_id: str,
    now: datetime,
    thread_id: str | None = None,
    lang: str | None = None,
    max_words: int = DEFAULT_MAX_WORDS,
    max_terms: int = DEFAULT_MAX_TERMS,
) -> Applied:
    """Parse and apply one setting: what `/settings ARGS` does."""
    setting = parse_setting(args, max_words=max_words, max_terms=max_terms)
    return apply_setting(
        session, setting, platform=platform, chat_id=chat_id, now=now, thread_id=thread_id, lang=lang,
        max_terms=max_terms,
    )  # fmt: skip


def describe(row: Subscription) -> dict[str, Any]:
    """A subscription's settings, for /settings to show."""
    return {
        "thread": row.thread_id,
        "lang": row.lang,
        "cadence": row.cadence,
        "weekday": WEEKDAYS[row.weekday] if row.cadence == "weekly" else None,
        "alerts": row.alerts,
        "time": row.deliver_at,
        "timezone": row.timezone,
        "quiet": f"{row.quiet_start}-{row.quiet_end}" if row.quiet_start and row.quiet_end else None,
        "include": list(row.include_terms or []),
        "exclude": list(row.exclude_terms or []),
        "chat_kind": row.chat_kind,
    }
