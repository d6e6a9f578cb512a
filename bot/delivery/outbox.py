"""The outbox: one delivery row per (subscription, due time), written before anything is sent.

Rows move pending → sending (claimed under a lease) → sent | failed | cancelled. A claimed row whose
lease ran out (its worker died) is claimable again, so a crash loses nothing and at most re-sends the
parts that were in flight. On PostgreSQL claims use FOR UPDATE SKIP LOCKED so several workers can
share the outbox.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Boolean, Table, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.briefs.build import build_brief
from bot.briefs.compose import BriefError
from bot.context import Context
from bot.delivery.subscriptions import due_subscriptions
from bot.reader.fit import fit_brief
from bot.reader.schedule import WEEK, next_due
from storage.models import Brief, Delivery, Subscription

log = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "sending")
FIRST_BRIEF_SPAN = timedelta(days=1)
DEFAULT_LEASE = 60.0
WRITE_BATCH = 500


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery row claimed by a worker: where it goes, which brief, and how far it got."""

    id: int
    platform: str
    chat_id: str
    brief_id: int
    parts_sent: int
    attempts: int


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    platform: str
    chat_id: str
    thread_id: str
    lang: str
    deliver_at: str
    timezone: str
    due: datetime
    since: datetime
    cadence: str = "daily"
    weekday: int = 0
    alerts: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Progress:
    """One part sent (or the whole delivery finished) for the batched progress writer."""

    delivery_id: int
    parts_sent: int
    parts_total: int
    done: bool
    at: datetime


def delivery_key(platform: str, subscription_id: int, due: datetime) -> str:
    """The unique key of one subscription's brief for one due time."""
    return f"{platform}:{subscription_id}:{due.strftime('%Y-%m-%dT%H:%MZ')}"


def enqueue_due(ctx: Context, *, platform: str | None = None) -> list[int]:
    """Build the brief of every due subscription (since its last one) and write its delivery row."""
    now = ctx.now()
    with ctx.db.session() as session:
        due = [_due(row) for row in due_subscriptions(session, now) if platform in (None, row.platform)]
    groups: dict[tuple[str, str, datetime, str], list[_Due]] = defaultdict(list)
    for item in due:
        groups[(item.thread_id, item.lang, item.since, item.cadence)].append(item)
    created: list[int] = []
    for (thread_id, lang, since, cadence), members in groups.items():
        try:
            brief = build_brief(ctx, thread_id=thread_id, lang=lang, since=since)
        except BriefError as error:
            log.warning("brief %s/%s not built: %s", thread_id, lang, error)
            continue
        kind = "weekly" if cadence == "weekly" else "brief"
        for brief_id, fitted in fit_brief(ctx, brief.id, brief.payload, members, cadence=cadence):
            chosen = cast(list[_Due], fitted)
            for start in range(0, len(chosen), WRITE_BATCH):
                created += _write(ctx, chosen[start : start + WRITE_BATCH], brief_id, now, kind)
    return created


def _due(row: Subscription) -> _Due:
    due = row.next_due_at
    assert due is not None
    since = row.last_brief_at or (due - (WEEK if row.cadence == "weekly" else FIRST_BRIEF_SPAN))
    return _Due(
        row.id, row.platform, row.chat_id, row.thread_id, row.lang, row.deliver_at, row.timezone, due, since,
        row.cadence, row.weekday, row.alerts, tuple(row.include_terms or ()), tuple(row.exclude_terms or ()),
    )  # fmt: skip


def _write(ctx: Context, members: list[_Due], brief_id: int, now: datetime, kind: str = "brief") -> list[int]:
    """Delivery rows and the subscriptions' next due times, in one transaction; a clash falls back to one by one."""
    try:
        with ctx.db.session() as session:
            return _write_rows(session, members, brief_id, now, kind)
    except IntegrityError:  # another process enqueued some of them first
        created: list[int] = []
        for member in members:
            try:
                with ctx.db.session() as session:
                    created += _write_rows(session, [member], brief_id, now, kind)
            except IntegrityError:
                continue
        return created


def _write_rows(session: Session, members: list[_Due], brief_id: int, now: datetime, kind: str) -> list[int]:
    keys = {delivery_key(m.platform, m.id, m.due): m for m in members}
    existing = set(session.scalars(select(Delivery.key).where(Delivery.key.in_(list(keys)))))
    rows = [
        Delivery(
            key=key,
            subscription_id=m.id,
            brief_id=brief_id,
            platform=m.platform,
            chat_id=m.chat_id,
            status="pending",
            kind=kind,
            next_attempt_at=now,
        )
        for key, m in keys.items()
        if key not in existing
    ]
    session.add_all(rows)
    subscriptions = session.scalars(select(Subscription).where(Subscription.id.in_([m.id for m in members])))
    by_id = {m.id: m for m in members}
    for sub in subscriptions:
        item = by_id[sub.id]
        sub.last_brief_at = now
        sub.next_due_at = next_due(
            item.cadence, item.weekday, item.deliver_at, item.timezone, after=max(now, item.due)
        )
    session.flush()
    return [row.id for row in rows]


def claim(ctx: Context, *, platform: str, limit: int = 100, lease: float = DEFAULT_LEASE) -> list[Claimed]:
    """Claim up to `limit` due rows of `platform` under a lease; nobody else sends them until it ends."""
    now = ctx.now()
    with ctx.db.session() as session:
        query = (
            select(Delivery)
            .where(Delivery.platform == platform, Delivery.status.in_(OPEN_STATUSES))
            .where(or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
            .where(or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
            .order_by(Delivery.id)
            .limit(limit)
        )
        if not ctx.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.scalars(query).all()
        until = now + timedelta(seconds=lease)
        for row in rows:
            row.status, row.lease_until = "sending", until
        return [Claimed(r.id, r.platform, r.chat_id, r.brief_id, r.parts_sent, r.attempts) for r in rows]


def brief_payload(ctx: Context, brief_id: int) -> dict[str, Any]:
    """The stored payload of a brief."""
    with ctx.db.session() as session:
        brief = session.get(Brief, brief_id)
        if brief is None:
            raise LookupError(f"brief {brief_id} is gone")
        return dict(brief.payload)


def record_progress(ctx: Context, updates: Sequence[Progress]) -> None:
    """Write parts sent (and finished deliveries) in one transaction.

    Rows are written in id order, as `extend_lease` locks them, so two writers on PostgreSQL cannot
    deadlock; and a row's progress never goes back, so a late write of older progress (kept through a
    database blip while the row was sent on) cannot undo a later one.
    """
    if not updates:
        return
    latest: dict[int, Progress] = {}
    for item in updates:
        if item.delivery_id not in latest or item.parts_sent >= latest[item.delivery_id].parts_sent:
            latest[item.delivery_id] = item
    done = bindparam("b_done", type_=Boolean)
    table = cast(Table, Delivery.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.parts_sent <= bindparam("b_parts"))
        .values(
            parts_sent=bindparam("b_parts"),
            parts_total=bindparam("b_total"),
            status=case((done, "sent"), else_=table.c.status),
            sent_at=case((done, bindparam("b_at")), else_=table.c.sent_at),
            lease_until=case((done, None), else_=table.c.lease_until),
            last_error=case((done, None), else_=table.c.last_error),
        )
    )
    rows = [
        {
            "b_id": key,
            "b_parts": item.parts_sent,
            "b_total": item.parts_total,
            "b_done": item.done,
            "b_at": item.at,
        }
        for key, item in sorted(latest.items())  # id order, as extend_lease locks them
    ]
    with ctx.db.session() as session:
        session.execute(statement, rows)  # one executemany, run in list order


def extend_lease(ctx: Context, delivery_ids: Iterable[int], seconds: float) -> None:
    """Keep claimed rows while their sender waits (e.g. out a 429)."""
    ids = sorted(set(delivery_ids))
    with ctx.db.session() as session:
        if not ctx.db.is_sqlite:  # locked in id order, like record_progress: no deadlock between them
            session.execute(
                select(Delivery.id).where(Delivery.id.in_(ids)).order_by(Delivery.id).with_for_update()
            )
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "sending")
            .values(lease_until=ctx.now() + timedelta(seconds=seconds))
        )


def release(
    ctx: Context,
    ids: Iterable[int],
    *,
    retry_at: datetime | None = None,
    error: str | None = None,
    count_attempt: bool = False,
) -> None:
    """Give claimed rows back to the outbox (to retry at `retry_at`, or at once)."""
    ids = list(ids)
    if not ids:
        return
    values: dict[str, Any] = {"lease_until": None, "status": "pending", "next_attempt_at": retry_at}
    if error is not None:
        values["last_error"] = error[:1000]
    if count_attempt:
        values["attempts"] = Delivery.attempts + 1
    with ctx.db.session() as session:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "sending").values(**values)
        )


def fail(ctx: Context, delivery_id: int, error: str) -> None:
    """Give up on one row for good (a permanent error), keeping the reason."""
    with ctx.db.session() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status="failed", lease_until=None, last_error=error[:1000], attempts=Delivery.attempts + 1
            )
        )


def release_all_leases(ctx: Context) -> int:
    """On start of the only process on SQLite: rows a killed process left claimed become pending again."""
    with ctx.db.session() as session:
        result = session.execute(
            update(Delivery).where(Delivery.status == "sending").values(status="pending", lease_until=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def counts(session: Session, *, platform: str | None = None) -> dict[str, int]:
    """Deliveries by status."""
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    if platform:
        query = query.where(Delivery.platform == platform)
    return {status: int(n) for status, n in session.execute(query)}
