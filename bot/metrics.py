"""Prometheus metrics, one registry per Context so several apps (and tests) in one process never collide."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Enum,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.models import Delivery

if TYPE_CHECKING:
    from bot.ingest.pipeline import SourceReport
    from bot.llm import LLMCall
    from storage.db import Database

CONTENT_TYPE = CONTENT_TYPE_LATEST
OPEN_STATUSES = ("pending", "sending")  # as bot.delivery.outbox; importing it would cycle through Context
LLM_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 60, 120)
QUESTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60)


def process_identity() -> str:
    """hostname:pid, how this process names itself as leader."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _OutboxDepth(Collector):
    """Open outbox rows by platform, counted when scraped, so the figure is never stale."""

    def __init__(self) -> None:
        self.db: Database | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "newsbrief_outbox_depth", "deliveries pending or in flight", labels=["platform"]
        )
        if self.db is not None:
            query = (
                select(Delivery.platform, func.count())
                .where(Delivery.status.in_(OPEN_STATUSES))
                .group_by(Delivery.platform)
            )
            with self.db.session() as session:
                for platform, count in session.execute(query):
                    family.add_metric([platform], int(count))
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "newsbrief_outbox_depth", "deliveries pending or in flight", labels=["platform"]
        )


class Metrics:
    """Every newsbrief_… metric, registered in a registry of its own."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.articles_ingested = Counter("newsbrief_articles_ingested", "new articles stored", registry=r)
        self.fetch_errors = Counter(
            "newsbrief_fetch_errors", "failed reads of a source", ["source"], registry=r
        )
        self.stories_built = Counter(
            "newsbrief_stories_built", "stories created or updated by clustering", registry=r
        )
        self.briefs_built = Counter(
            "newsbrief_briefs_built", "briefs composed", ["thread", "lang"], registry=r
        )
        self.deliveries = Counter(
            "newsbrief_deliveries",
            "delivery outcomes: sent, retried, failed, gone",
            ["platform", "outcome"],
            registry=r,
        )
        self.replies = Counter(
            "newsbrief_replies",
            "interactive reply outcomes: retried_429, retried (5xx, network), failed (retries exhausted)",
            ["platform", "outcome"],
            registry=r,
        )
        self.llm_calls = Counter("newsbrief_llm_calls", "LLM calls", ["purpose", "outcome"], registry=r)
        self.llm_tokens = Counter("newsbrief_llm_tokens", "LLM tokens", ["purpose", "kind"], registry=r)
        self.llm_latency = Histogram(
            "newsbrief_llm_latency_seconds", "LLM call latency", ["purpose"], buckets=LLM_BUCKETS, registry=r
        )
        self.question_latency = Histogram(
            "newsbrief_question_latency_seconds",
            "time to answer a question",
            buckets=QUESTION_BUCKETS,
            registry=r,
        )
        self.leader = Info("newsbrief_leader", "the process running the scheduled jobs", registry=r)
        self.adapters = Enum(
            "newsbrief_adapter_state",
            "each chat adapter's state",
            ["adapter"],
            states=["connecting", "up", "failed", "stopped"],
            registry=r,
        )
        self.set_leader(process_identity(), role="all")
        self._outbox = _OutboxDepth()
        r.register(self._outbox)

    def set_leader(self, identity: str, *, role: str) -> None:
        """Record which process leads, and in which role."""
        self.leader.info({"identity": identity, "role": role})

    def adapter_state(self, adapter: str, state: str) -> None:
        """Record a chat adapter's state (connecting, up, failed, stopped)."""
        self.adapters.labels(adapter=adapter).state(state)

    def watch_outbox(self, db: Database) -> None:
        """Count the outbox of `db` at every scrape."""
        self._outbox.db = db

    def ingest_report(self, report: SourceReport) -> None:
        """Count what one source read brought in, or that it failed."""
        self.articles_ingested.inc(len(report.new))
        if report.error:
            self.fetch_errors.labels(str(report.source_id)).inc()

    def delivery(self, platform: str, outcome: str) -> None:
        """Count one delivery outcome."""
        self.deliveries.labels(platform, outcome).inc()

    def reply(self, platform: str, outcome: str) -> None:
        """Count one interactive reply's retry or failure."""
        self.replies.labels(platform, outcome).inc()

    def llm_call(self, call: LLMCall) -> None:
        """Count one LLM call, its tokens and its latency."""
        self.llm_calls.labels(call.purpose, call.outcome).inc()
        self.llm_tokens.labels(call.purpose, "prompt").inc(call.prompt_tokens)
        self.llm_tokens.labels(call.purpose, "completion").inc(call.completion_tokens)
        self.llm_latency.labels(call.purpose).observe(call.latency_ms / 1000)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
