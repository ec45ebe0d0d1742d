"""Prometheus metrics. Counts of documents, dead letters and backlog come from the database
at scrape time (true across processes and restarts); latency and retries are in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hub.storage.db import Database
from hub.storage.tables import Case, DeadLetter, Document, Job, utcnow

__all__ = ["Metrics"]


class _DatabaseCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Any]:
        docs = GaugeMetricFamily("crossdock_documents", "Documents by type and status",
                                 labels=["document_type", "status"])
        dlq = GaugeMetricFamily("crossdock_dead_letters", "Dead letters by status", labels=["status"])
        jobs = GaugeMetricFamily("crossdock_jobs", "Jobs by kind and status", labels=["kind", "status"])
        cases = GaugeMetricFamily("crossdock_cases", "Cases by status", labels=["status"])
        oldest = GaugeMetricFamily("crossdock_backlog_oldest_seconds",
                                   "Age of the oldest job still waiting, by kind", labels=["kind"])
        with self.db.reader() as s:
            for t, st, n in s.execute(select(Document.document_type, Document.status, func.count())
                                      .group_by(Document.document_type, Document.status)):
                docs.add_metric([t, st], n)
            for st, n in s.execute(select(DeadLetter.status, func.count()).group_by(DeadLetter.status)):
                dlq.add_metric([st], n)
            for kind, st, n in s.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
                jobs.add_metric([kind, st], n)
            for st, n in s.execute(select(Case.status, func.count()).group_by(Case.status)):
                cases.add_metric([st], n)
            now = utcnow()
            for kind, first in s.execute(select(Job.kind, func.min(Job.created_at))
                                         .where(Job.status.in_(("queued", "retrying"))).group_by(Job.kind)):
                if first is not None:
                    if first.tzinfo is None:
                        first = first.replace(tzinfo=now.tzinfo)
                    oldest.add_metric([kind], (now - first).total_seconds())
        yield from (docs, dlq, jobs, cases, oldest)


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_DatabaseCollector(db))
        self.received = Counter("crossdock_received_total", "Payloads stored in the inbox",
                                ["channel", "outcome"], registry=self.registry)
        self.outcomes = Counter("crossdock_job_outcomes_total", "Job attempts by kind and outcome",
                                ["kind", "outcome"], registry=self.registry)
        self.retries = Counter("crossdock_retries_total", "Retries scheduled, by error code",
                               ["code"], registry=self.registry)
        self.stage_latency = Histogram(
            "crossdock_stage_seconds", "Time spent in each pipeline stage", ["stage"],
            buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5), registry=self.registry)
