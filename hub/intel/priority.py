"""Learned priority in the hub: training from how operators handled past cases, and a pass
that lets a confident model adjust the rule score of open cases.

The rule score (``details.score``) stays on every case as the explainable default. When the
active ``priority`` model is confident enough about a case, ``cases.score`` (what the queue is
sorted by) becomes the adjusted score, bounded by ``max_adjust`` points, and
``details.priority`` says by how much, with what confidence, which model version and which
factors; otherwise ``cases.score`` is the rule score and ``details.priority`` says why. Each
change is recorded as a ``priority`` decision.

A person's first action on a case is the first case event by someone other than Crossdock
itself, a policy or an agent.

Usage:
    PriorityPass(db, registry).train()
    PriorityPass(db, registry).run()
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select

from hub.storage.intel_tables import IntelDecision
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import Case, utcnow
from pipelines.intelligence.priority import CaseOutcome, adjust, train_priority

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.intel.models import ModelRegistry
    from hub.storage.db import Database

__all__ = ["PriorityPass", "outcome_of"]

log = structlog.get_logger("crossdock.priority")
TRAINING_WINDOW = timedelta(days=180)
_MACHINES = ("crossdock", "policy")


def _rule_score(case: Case) -> float:
    score = ((case.details or {}).get("score") or {}).get("total")
    return float(score) if score is not None else float(case.score)


def outcome_of(case: Case, first_action_at: datetime | None) -> CaseOutcome:
    inputs = ((case.details or {}).get("score") or {}).get("inputs") or {}

    def num(key: str) -> float:
        try:
            return float(inputs.get(key) or 0)
        except ValueError:
            return 0.0

    tier = inputs.get("priority_tier")
    return CaseOutcome(case.type, case.partner_id, case.severity, _rule_score(case), num("amount_at_risk"),
                       num("order_value"), int(tier) if tier is not None else None, case.created_at,
                       first_action_at, case.status, case.resolution)


def _first_actions(s: Session, case_ids: list[int]) -> dict[int, datetime]:
    if not case_ids:
        return {}
    rows = s.execute(select(CaseEvent.case_id, func.min(CaseEvent.at))
                     .where(CaseEvent.case_id.in_(case_ids), CaseEvent.actor.not_in(_MACHINES),
                            CaseEvent.actor.not_like("agent:%"))
                     .group_by(CaseEvent.case_id))
    return {cid: at for cid, at in rows}


class PriorityPass:
    def __init__(self, db: Database, registry: ModelRegistry, *, confidence_threshold: float = 0.6,
                 max_adjust: float = 20) -> None:
        self.db = db
        self.registry = registry
        self.confidence_threshold = confidence_threshold
        self.max_adjust = max_adjust

    def train(self, *, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        with self.db.session() as s:
            cases = list(s.scalars(select(Case).where(Case.created_at >= now - TRAINING_WINDOW).order_by(Case.id)))
            firsts: dict[int, datetime] = {}
            ids = [c.id for c in cases]
            for i in range(0, len(ids), 500):
                firsts |= _first_actions(s, ids[i:i + 500])
            outcomes = [outcome_of(c, firsts.get(c.id)) for c in cases]
            return self.registry.train(s, "priority", lambda v: train_priority(outcomes, version=v, now=now),
                                       examples=len(outcomes))

    def run(self) -> int:
        """Adjust the active cases; returns how many changed score."""
        model, warning = self.registry.active("priority")
        changed = 0
        with self.db.session() as s:
            for case in s.scalars(select(Case).where(Case.status.in_(("open", "assigned", "awaiting_approval")))
                                  .order_by(Case.id.desc()).limit(2000)):
                rule = _rule_score(case)
                result = adjust(rule, outcome_of(case, None), model, confidence_threshold=self.confidence_threshold,
                                max_adjust=self.max_adjust)
                shown = result.as_dict() | ({"warning": warning} if warning else {})
                before = (case.details or {}).get("priority") or {}
                if before.get("score") == shown["score"] and before.get("model_version") == shown["model_version"]:
                    continue
                case.details = {**(case.details or {}), "priority": shown}
                case.score = float(result.score)
                changed += 1
                if model is None and warning is None:
                    continue  # nothing learned yet: the rule score stands, no decision was taken
                s.add(IntelDecision(kind="priority", subject=f"case {case.id} ({case.type})", case_id=case.id,
                                    partner_id=case.partner_id, model_name="priority",
                                    model_version=result.model_version, source=result.source,
                                    confidence=result.confidence, value=result.score,
                                    inputs={"rule_score": rule}, features={},
                                    outcome={"reason": result.reason, "learned_probability": result.learned_probability,
                                             "top_factors": [list(f) for f in result.top_factors]},
                                    status="recorded", warning=result.warning or warning))
        return changed
