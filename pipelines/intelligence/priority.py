"""Learned priority: the rule score, nudged by how operators actually handled like cases.

The rule score (``pipelines.exceptions.scoring``) stays the explainable default. A
``priority`` model learns from closed cases which ones *mattered* (see ``mattered``) and may
move a case's score by at most ``max_adjust`` points — only when it is confident, and always
saying why, with its confidence and the factors that pulled most.

The label. A case mattered when an operator acted on it quickly and substantively:

* it closed as ``resolved`` or ``approved`` with a resolution action, and
* its first human action came within its type's SLA hours (the taxonomy's ``sla_hours``).

It did not matter when it was ``rejected`` (not a real exception), when it closed or was
first touched only after its SLA hours, or when it is still untouched past them (left to
expire). Cases a policy resolved on arrival (``auto_resolved``), cases still open within
their SLA, and closed cases without a recorded first action teach nothing and are left out.

Confidence is ``LinearModel.confidence``: the model's skill on held-out, later cases
(2 × a 95% lower bound of its AUC − 1, so a model no better than chance, or one tested on too
few cases, has none) times how far this case's probability is from the base rate. The score
moves by ``± max_adjust × confidence``, up when like cases mattered more often than the base
rate, down when less; below ``confidence_threshold`` it does not move.

Usage:
    model = train_priority(closed_cases, version=previous.version + 1 if previous else 1, now=now)
    result = adjust(case_score.total, outcome_of(case), model)
    result.score, result.reason   # 62.4, "learned: 91% of like cases mattered ..."
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pipelines.exceptions.taxonomy import exception_type
from pipelines.intelligence.learned import MIN_EXAMPLES, LinearModel, fit_logistic

__all__ = [
    "DEFAULT_SLA_HOURS",
    "CaseOutcome",
    "PriorityAdjustment",
    "adjust",
    "features",
    "mattered",
    "train_priority",
]

log = logging.getLogger(__name__)

DEFAULT_SLA_HOURS = 24  # for a case type the taxonomy does not know
ACTED = ("resolved", "approved")
OPEN = ("open", "assigned", "awaiting_approval")
_TOP = 5


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What the hub knows of one case: how it was scored and how operators handled it.
    For a case being scored now, ``first_action_at``/``resolution`` are ``None`` and
    ``status`` is ``"open"``."""

    case_type: str
    partner: str | None
    severity: str
    rule_score: float
    amount_at_risk: float
    order_value: float
    priority_tier: int | None
    created_at: datetime
    first_action_at: datetime | None
    status: str
    resolution: str | None


@dataclass(frozen=True, slots=True)
class PriorityAdjustment:
    """The score to rank by, with the rule score it started from and why it moved or not."""

    score: float
    rule_score: float
    learned_probability: float | None
    confidence: float
    top_factors: tuple[tuple[str, float], ...]
    source: Literal["model", "rules"]
    reason: str
    model_version: int | None = None
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "rule_score": self.rule_score,
                "learned_probability": self.learned_probability, "confidence": self.confidence,
                "top_factors": [list(f) for f in self.top_factors], "source": self.source,
                "reason": self.reason, "model_version": self.model_version, "warning": self.warning}


def _sla_hours(case_type: str) -> int:
    try:
        return exception_type(case_type).sla_hours
    except KeyError:
        return DEFAULT_SLA_HOURS


def mattered(outcome: CaseOutcome, *, now: datetime) -> bool | None:
    """The training label (module docstring); ``None`` when the case teaches nothing.

    Usage:
        >>> t = datetime(2026, 3, 2, 9)
        >>> case = CaseOutcome("credit_hold", "ACME", "high", 55, 0, 900, 1, t, t + timedelta(hours=2),
        ...                    "resolved", "release_credit_hold")
        >>> mattered(case, now=t + timedelta(days=1))
        True
    """
    deadline = outcome.created_at + timedelta(hours=_sla_hours(outcome.case_type))
    if outcome.status == "rejected":
        return False
    if outcome.status in ACTED:
        if outcome.first_action_at is None:
            return None
        return outcome.resolution is not None and outcome.first_action_at <= deadline
    if outcome.status in OPEN:
        if outcome.first_action_at is None and now > deadline:
            return False
        if outcome.first_action_at is not None and outcome.first_action_at > deadline:
            return False
        return None
    return None  # auto_resolved, or a status this module does not know


def features(outcome: CaseOutcome, *, rule_score: float | None = None) -> dict[str, float]:
    """The model's inputs: indicators ``case_type=``, ``partner=``, ``severity=`` and
    ``tier=`` (``none`` when not a customer case); ``rule_score`` (``rule_score`` given
    overrides the outcome's); ``log_amount_at_risk`` and ``log_order_value`` (log1p)."""
    tier = "none" if outcome.priority_tier is None else str(outcome.priority_tier)
    return {
        f"case_type={outcome.case_type}": 1.0,
        f"partner={outcome.partner or 'none'}": 1.0,
        f"severity={outcome.severity}": 1.0,
        f"tier={tier}": 1.0,
        "rule_score": float(outcome.rule_score if rule_score is None else rule_score),
        "log_amount_at_risk": math.log1p(max(0.0, float(outcome.amount_at_risk))),
        "log_order_value": math.log1p(max(0.0, float(outcome.order_value))),
    }


def train_priority(outcomes: Sequence[CaseOutcome], *, version: int, now: datetime,
                   min_examples: int = MIN_EXAMPLES) -> LinearModel:
    """A ``priority`` model from the cases ``mattered`` can label, in order of creation.
    ``NotEnoughData`` when too few are labelled or they show one outcome only.

    Usage:
        model = train_priority(outcomes, version=2, now=now)  # then store model.to_json()
    """
    labelled = [(o, label) for o in outcomes if (label := mattered(o, now=now)) is not None]
    return fit_logistic([features(o) for o, _ in labelled], [label for _, label in labelled],
                        name="priority", version=version, times=[o.created_at for o, _ in labelled],
                        now=now, min_examples=min_examples)


def _rules(rule_score: float, reason: str, *, warning: str | None = None) -> PriorityAdjustment:
    if warning:
        log.warning("learned priority: %s", warning)
    return PriorityAdjustment(score=float(rule_score), rule_score=float(rule_score), learned_probability=None,
                              confidence=0.0, top_factors=(), source="rules", reason=reason, warning=warning)


def adjust(rule_score: float, outcome_like: CaseOutcome, model: LinearModel | None, *,
           confidence_threshold: float = 0.6, max_adjust: float = 20) -> PriorityAdjustment:
    """The case's score: ``rule_score`` moved by ``± max_adjust × confidence`` when the
    model's confidence reaches ``confidence_threshold``, else ``rule_score`` unchanged with
    the reason. A missing, foreign or failing model leaves the rule score, with a warning;
    never raises for a model's sake.

    Usage:
        >>> t = datetime(2026, 3, 2, 9)
        >>> adjust(40, CaseOutcome("credit_hold", "ACME", "high", 40, 0, 0, 1, t, None, "open", None), None).reason
        'no priority model trained yet: rule score stands'
    """
    if model is None:
        return _rules(rule_score, "no priority model trained yet: rule score stands")
    if model.name != "priority":
        note = f"{model.label} is not a priority model: rule score stands"
        return _rules(rule_score, note, warning=note)
    try:
        feats = features(outcome_like, rule_score=rule_score)
        p = model.probability(feats)
        confidence = model.confidence(p)
        factors = tuple(model.contributions(feats)[:_TOP])
    except Exception as exc:  # a broken model must cost the adjustment, never the case
        note = f"{model.label} failed ({type(exc).__name__}: {exc}): rule score stands"
        return _rules(rule_score, note, warning=note)
    base = float(model.metrics["base_rate"])
    source: Literal["model", "rules"]
    if confidence < confidence_threshold:
        score, source = float(rule_score), "rules"
        reason = f"confidence {confidence:.2f} < {confidence_threshold:.2f}: rule score stands"
    else:
        delta = math.copysign(max_adjust * confidence, p - base)
        score, source = round(max(0.0, rule_score + delta), 1), "model"
        reason = (f"{model.label}: {p:.0%} of like cases mattered (base rate {base:.0%}); "
                  f"confidence {confidence:.2f} ≥ {confidence_threshold:.2f}: {delta:+.1f}")
    return PriorityAdjustment(score=score, rule_score=float(rule_score), learned_probability=round(p, 4),
                              confidence=confidence, top_factors=factors, source=source, reason=reason,
                              model_version=model.version)
