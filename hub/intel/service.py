"""One object the hub holds for exception intelligence: the model registry, the agents, the
SLA-risk, priority and flow passes, and what the scheduler runs.

Usage:
    intel = Intelligence(db, settings, refdata, submit=runtime.submit)
    scheduler.every(settings.intel_interval_seconds, "intel", intel.in_background("intel", intel.tick))
    scheduler.every(settings.intel_retrain_hours * 3600, "intel-retrain", intel.in_background("retrain", intel.retrain))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from hub.intel.agents import AgentRunner
from hub.intel.flows import FlowWatch
from hub.intel.models import ModelRegistry
from hub.intel.priority import PriorityPass, outcome_of
from hub.intel.risk import DocumentFacts, LateRates, SlaRiskPass, example_of, expectations
from hub.storage.tables import Case, utcnow
from pipelines.intelligence import priority as priority_model
from pipelines.intelligence import risk as risk_model

if TYPE_CHECKING:
    from hub.settings import Settings
    from hub.storage.db import Database
    from pipelines.refdata import ReferenceData

__all__ = ["Intelligence"]

log = structlog.get_logger("crossdock.intel")


class Intelligence:
    def __init__(self, db: Database, settings: Settings, refdata: ReferenceData, *,
                 submit: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.registry = ModelRegistry(db)
        self.agents = AgentRunner(db, settings, submit=submit)
        # the flow and SLA-risk passes read the same documents: each is decoded once, for both
        self.facts = DocumentFacts()
        self.risk = SlaRiskPass(db, self.registry, refdata, facts=self.facts)
        self.priority = PriorityPass(db, self.registry)
        self.flows = FlowWatch(db, refdata, facts=self.facts)

    def in_background(self, name: str, fn: Callable[[], object]) -> Callable[[], None]:
        """A scheduler task that starts ``fn`` on its own thread (unless the last run is still
        going) and returns at once: training a model or a pass over weeks of documents must never
        hold up the timers, the EDI sender and the relay that share the scheduler's thread."""
        running: list[threading.Thread] = []

        def start() -> None:
            if running and running[0].is_alive():
                return
            thread = threading.Thread(target=self._guarded, args=(name, fn), name=f"crossdock-{name}", daemon=True)
            running[:] = [thread]
            thread.start()

        return start

    @staticmethod
    def _guarded(name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception:
            log.exception("intel.task_failed", task=name)

    def tick(self) -> dict[str, int]:
        """The scheduled pass: flows, SLA risk, priority, then the agents on what is open."""
        out = {}
        for name, step in (("flow_anomalies", self.flows.run), ("sla_risk_cases", self.risk.run),
                           ("priority_changes", self.priority.run)):
            try:
                out[name] = step()
            except Exception:  # one failing check must not stop the others
                log.exception("intel.step_failed", step=name)
        out["agent_decisions"] = len(self.agents.run())
        return out

    def train(self, name: str) -> dict[str, Any]:
        result = self.risk.train() if name == "sla_risk" else self.priority.train()
        self.registry.forget()
        return result

    def retrain(self) -> list[dict[str, Any]]:
        return [self.train(name) for name in ("sla_risk", "priority")]

    def drift(self, name: str) -> dict[str, Any] | None:
        """The active model's drift against the last 30 days, or None without a model."""
        model, _warning = self.registry.active(name)
        if model is None:
            return None
        now = utcnow()
        since = now - timedelta(days=30)
        with self.db.reader() as s:
            if name == "sla_risk":
                found = expectations(s, since=since - timedelta(days=30))
                rates = LateRates([e for e in found if e.missed(now) is not None]).prepare(
                    [e for e in found if e.opened_at >= since])
                prior = model.params.get("late_rate_prior", risk_model.DEFAULT_LATE_PRIOR)
                rows = [risk_model.features(example_of(e, rates, missed=None), prior=prior)
                        for e in found if e.opened_at >= since]
            else:
                rows = [priority_model.features(outcome_of(c, None))
                        for c in s.scalars(select(Case).where(Case.created_at >= since).limit(5000))]
        if not rows:
            return {"n": 0, "drifted": False, "note": "nothing in the last 30 days to compare"}
        return dict(model.drift(rows))
