"""Questions per user per minute (QA_RATE_LIMIT), counted in the QA log so every process agrees."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.qa.model import RateLimited
from bot.text.plural import QUESTIONS, SECONDS, counted
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
    asked, seconds = counted(limit, QUESTIONS, lang), counted(wait, SECONDS, lang)
    if lang == "ar":
        message = f"وصلت إلى الحد المسموح ({asked} في الدقيقة). أعد المحاولة بعد {seconds}."
    else:
        message = f"You have reached the limit of {asked} per minute. Please try again in {seconds}."
    raise RateLimited(message, retry_after=wait)
