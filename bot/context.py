"""What every use case needs, built once by the composition root and passed down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.config import Settings
from bot.metrics import Metrics
from bot.text.glossary import STATE_KEY as GLOSSARY_KEY
from bot.text.glossary import Glossary, default_glossary, parse_glossary
from storage.db import Database
from storage.models import LLMCallLog, Setting, Thread

if TYPE_CHECKING:  # the clients load on first use, so a command that needs none of them starts fast
    from bot.embed import Embedder
    from bot.ingest.fetch import Fetcher
    from bot.llm import LLM, LLMCall
    from bot.threads.classify import ThreadClassifier

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BudgetStatus:
    """Today's LLM token use: `day` is the UTC midnight the count starts from."""

    budget: int
    used: int
    day: datetime

    @property
    def spent(self) -> bool:
        return self.used >= self.budget


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = _utcnow
    _classifier: tuple[tuple[int, datetime | None], ThreadClassifier] | None = field(default=None, repr=False)
    _llm: LLM | None = field(default=None, repr=False)
    _embedder: Embedder | None = field(default=None, repr=False)
    _budget_warned: datetime | None = field(default=None, repr=False)
    metrics: Metrics = field(default_factory=Metrics, repr=False)

    def now(self) -> datetime:
        return self.clock()

    def classifier(self) -> ThreadClassifier:
        """The classifier for the active threads, rebuilt only when the threads change."""
        with self.db.session() as session:
            version = session.execute(
                select(func.count(Thread.id), func.max(Thread.updated_at)).where(Thread.active.is_(True))
            ).one()
            key = (int(version[0]), version[1])
            if self._classifier is None or self._classifier[0] != key:
                from bot.threads.classify import ThreadClassifier, ThreadDef

                rows = session.scalars(
                    select(Thread).where(Thread.active.is_(True)).order_by(Thread.id)
                ).all()
                threads = [ThreadDef.from_dict(row.definition) for row in rows]
                self._classifier = (key, ThreadClassifier(threads))
        return self._classifier[1]

    def llm(self) -> LLM | None:
        """The LLM client when an endpoint is configured; None means offline."""
        s = self.settings
        if not s.llm_enabled or self.over_token_budget():
            return None
        if self._llm is None:
            from bot.breaker import Breaker
            from bot.llm import LLM

            self._llm = LLM(
                base_url=s.llm_base_url,
                api_key=s.llm_api_key.get_secret_value() or "none",
                model=s.llm_model,
                timeout=s.llm_timeout,
                max_retries=s.llm_max_retries,
                record=self._record_llm_call,
                breaker=Breaker(cooldown=s.llm_cooldown) if s.llm_cooldown > 0 else None,
            )
        return self._llm

    def over_token_budget(self) -> bool:
        """Whether today's LLM tokens (UTC day) reached LLM_DAILY_TOKEN_BUDGET; past it the bot works offline."""
        status = self.token_budget()
        if status is None or not status.spent:
            return False
        if self._budget_warned != status.day:
            self._budget_warned = status.day
            log.warning(
                "the daily LLM token budget (%d) is spent (%d used): working offline until midnight UTC",
                status.budget,
                status.used,
            )
        return True

    def token_budget(self) -> BudgetStatus | None:
        """Today's (UTC) LLM token use against LLM_DAILY_TOKEN_BUDGET; None when there is no budget."""
        budget = self.settings.llm_daily_token_budget
        if budget <= 0:
            return None
        midnight = self.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = func.coalesce(func.sum(LLMCallLog.prompt_tokens + LLMCallLog.completion_tokens), 0)
        with self.db.session() as session:
            used = int(session.scalar(select(spent).where(LLMCallLog.at >= midnight)) or 0)
        return BudgetStatus(budget=budget, used=used, day=midnight)

    def _record_llm_call(self, call: LLMCall) -> None:
        self.metrics.llm_call(call)
        with self.db.session() as session:
            session.add(
                LLMCallLog(
                    purpose=call.purpose,
                    model=call.model,
                    prompt_tokens=call.prompt_tokens,
                    completion_tokens=call.completion_tokens,
                    latency_ms=call.latency_ms,
                    outcome=call.outcome,
                )
            )

    def embedder(self) -> Embedder:
        """The sentence embedder chosen by EMBEDDER / EMBEDDING_MODEL, loaded once per process."""
        if self._embedder is None:
            from bot.embed import make_embedder

            s = self.settings
            kind = "remote" if s.embedding_model else s.embedder
            llm = self.llm() if kind == "remote" else None
            embed_fn = (lambda texts: llm.embed(texts, model=s.embedding_model)) if llm else None
            if kind == "remote" and embed_fn is None:
                kind = "local"  # an embedding model needs an endpoint; without one, stay offline
            self._embedder = make_embedder(kind, embedding_model=s.embedding_model, embed_fn=embed_fn)
        return self._embedder

    def glossary(self) -> Glossary:
        """The shipped glossary with the entries admins added (`newsbrief glossary add`), read each time."""
        with self.db.session() as session:
            row = session.get(Setting, GLOSSARY_KEY)
            added = parse_glossary(row.value, where="stored glossary") if row is not None else Glossary()
        return default_glossary().merged(added)

    def fetcher(self) -> Fetcher:
        """A new fetcher configured from the settings (use as an async context manager)."""
        from bot.ingest.fetch import Fetcher

        s = self.settings
        return Fetcher(
            timeout=s.fetch_timeout,
            max_bytes=s.fetch_max_bytes,
            max_redirects=s.fetch_max_redirects,
            allowed_private_hosts=s.fetch_allowed_private_hosts,
            user_agent=s.fetch_user_agent,
        )
