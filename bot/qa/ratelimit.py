"""Questions per user per minute (QA_RATE_LIMIT), counted in the QA log so every process agrees."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.qa.model import RateLimited
from storage.models import QALog

WINDOW = timedelta(minutes=1)


def check_rate(session: Session, user: str, *, limit: int, now: datetime, lang: str = "en") -> None:
    """Raise RateLimited when `user` already asked `limit` questions in the last minute (0: no limit)."""
    if not user or limit <= 0:
        return
    since = now - WINDOW
    count, oldest = session.execute(
        select(func.count(QALog.id), func.min(QALog.at)).where(QALog.user == user, QALog.at > since)
    ).one()
    if int(count) < limit:
        return
    wait = max(1, math.ceil(((oldest or now) + WINDOW - now).total_seconds()))
    if lang == "ar":
        message = f"وصلت إلى الحد المسموح ({limit} أسئلة في الدقيقة). أعد المحاولة بعد {wait} ثانية."
    else:
        message = f"You have reached the limit of {limit} questions per minute. Please try again in {wait} s."
    raise RateLimited(message, retry_after=wait)
