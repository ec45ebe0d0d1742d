"""Predicted SLA risk: the probability that an expected document misses its SLA.

Every open expectation — an order waiting for its acknowledgment (855), a shipment waiting
for its ship notice (856), a shipment waiting for its invoice (810), a document waiting for
its functional acknowledgment (997) — is a ``RiskExample``. The hub trains ``sla_risk``
models on the expectations that have closed (met or missed), from the partner, the document
type, the lane, when it opened, the order's size, the partner's recent lateness and the hours
the SLA allows. ``assess`` answers with the model when there is one and it works, and with
``rule_risk`` — a formula anyone can check — otherwise, with a warning; it never raises.

The model predicts from what is known when the expectation opens; ``rule_risk`` also reads
how much of the SLA window has passed.

Usage:
    model = train_sla_risk(closed, version=previous.version + 1 if previous else 1, now=now)
    prediction = assess(expectation, model, now=now)
    if should_raise_case(prediction, now=now, due_at=expectation.due_at):
        ...  # open an ``sla_risk`` case naming prediction.model_version
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pipelines.intelligence.learned import MIN_EXAMPLES, LinearModel, fit_logistic

__all__ = [
    "DEFAULT_LATE_PRIOR",
    "DOCUMENT_TYPES",
    "Prediction",
    "RiskExample",
    "assess",
    "features",
    "recent_late_rate",
    "rule_risk",
    "should_raise_case",
    "train_sla_risk",
]

log = logging.getLogger(__name__)

DOCUMENT_TYPES = ("855", "856", "810", "997")
DEFAULT_LATE_PRIOR = 0.1  # share of documents late when nothing is known of the partner
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TOP = 5


@dataclass(frozen=True, slots=True)
class RiskExample:
    """One expected document. ``missed`` is known once it arrived (False if in time) or its
    SLA passed without it (True); ``None`` while it is open. ``recent_late_rate`` is the
    partner's share of late documents before ``opened_at`` (see ``recent_late_rate``)."""

    partner: str
    document_type: str  # "855" | "856" | "810" | "997"
    lane: str | None
    opened_at: datetime
    due_at: datetime
    line_count: int
    order_value: float
    recent_late_rate: float | None
    missed: bool | None = None

    @property
    def sla_hours(self) -> float:
        return (self.due_at - self.opened_at).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Prediction:
    """An SLA risk with what produced it: the model version (``None`` when the rule answered),
    its confidence (``LinearModel.confidence``; 0 for the rule, which learned nothing), the
    factors that pulled most, the features it read, and a warning when it fell back."""

    probability: float
    model_version: int | None
    source: Literal["model", "rules"]
    confidence: float
    top_factors: tuple[tuple[str, float], ...] = ()
    features: Mapping[str, float] = field(default_factory=dict)
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for the case, the document and the audit trail."""
        return {"probability": self.probability, "model_version": self.model_version, "source": self.source,
                "confidence": self.confidence, "top_factors": [list(f) for f in self.top_factors],
                "features": dict(self.features), "warning": self.warning}


def features(example: RiskExample, *, prior: float = DEFAULT_LATE_PRIOR) -> dict[str, float]:
    """The model's inputs: indicators ``partner=``, ``document_type=``, ``lane=`` and
    ``weekday=`` (rare values fall into ``other`` at training); ``hour`` and ``after_hours``
    of the opening; ``log_order_value`` and ``log_line_count`` (log1p); ``recent_late_rate``
    (``prior`` when unknown, with ``late_rate_unknown`` = 1); ``sla_hours`` allowed.

    Usage:
        >>> f = features(RiskExample("ACME", "855", None, datetime(2026, 3, 2, 9), datetime(2026, 3, 3, 9),
        ...                          3, 1200.0, None))
        >>> f["partner=ACME"], f["weekday=mon"], f["sla_hours"], f["late_rate_unknown"]
        (1.0, 1.0, 24.0, 1.0)
    """
    rate = example.recent_late_rate
    hour = example.opened_at.hour
    return {
        f"partner={example.partner}": 1.0,
        f"document_type={example.document_type}": 1.0,
        f"lane={example.lane or 'none'}": 1.0,
        f"weekday={_WEEKDAYS[example.opened_at.weekday()]}": 1.0,
        "hour": float(hour),
        "after_hours": 1.0 if hour < 7 or hour >= 18 else 0.0,
        "log_order_value": math.log1p(max(0.0, float(example.order_value))),
        "log_line_count": math.log1p(max(0, example.line_count)),
        "recent_late_rate": float(prior if rate is None else rate),
        "late_rate_unknown": 1.0 if rate is None else 0.0,
        "sla_hours": round(example.sla_hours, 4),
    }


def train_sla_risk(examples: Sequence[RiskExample], *, version: int, now: datetime,
                   min_examples: int = MIN_EXAMPLES) -> LinearModel:
    """An ``sla_risk`` model from the expectations that closed by ``now`` (``missed`` known,
    due before ``now``); the prior for an unknown late rate is the late share of the earliest
    60% (the training slice). ``NotEnoughData`` when there are too few or one outcome only.

    Usage:
        model = train_sla_risk(closed, version=4, now=now)  # then store model.to_json()
    """
    # Only expectations due by now: among those still running only the met ones are known,
    # and learning from them alone would understate the risk.
    done = sorted((e for e in examples if e.missed is not None and e.due_at <= now), key=lambda e: e.opened_at)
    head = done[: int(len(done) * 0.6)] or done
    prior = sum(bool(e.missed) for e in head) / len(head) if head else DEFAULT_LATE_PRIOR
    return fit_logistic([features(e, prior=prior) for e in done], [bool(e.missed) for e in done],
                        name="sla_risk", version=version, times=[e.opened_at for e in done], now=now,
                        params={"late_rate_prior": prior}, min_examples=min_examples)


def rule_risk(example: RiskExample, *, now: datetime) -> float:
    """The fallback when no model can answer: the partner's recent late rate (else
    ``DEFAULT_LATE_PRIOR``) to begin with, rising to certainty as the SLA window runs out,
    with the square of the share elapsed (half the window gone adds a quarter of the rest).

    Usage:
        >>> e = RiskExample("ACME", "855", None, datetime(2026, 3, 2, 0), datetime(2026, 3, 3, 0), 1, 0.0, 0.2)
        >>> rule_risk(e, now=datetime(2026, 3, 2, 12))
        0.4
    """
    base, elapsed = _rule_parts(example, now)
    return round(base + (1.0 - base) * elapsed**2, 4)


def _rule_parts(example: RiskExample, now: datetime) -> tuple[float, float]:
    rate = example.recent_late_rate
    base = min(1.0, max(0.0, DEFAULT_LATE_PRIOR if rate is None or not math.isfinite(rate) else rate))
    window = (example.due_at - example.opened_at).total_seconds()
    passed = (now - example.opened_at).total_seconds()
    elapsed = 1.0 if window <= 0 else min(1.0, max(0.0, passed / window))
    return base, elapsed


def _rules(example: RiskExample, now: datetime, warning: str, *, loud: bool = True) -> Prediction:
    base, elapsed = _rule_parts(example, now)
    (log.warning if loud else log.debug)("SLA risk for %s %s opened %s: %s", example.partner, example.document_type,
                example.opened_at.isoformat(), warning)
    return Prediction(
        probability=rule_risk(example, now=now), model_version=None, source="rules", confidence=0.0,
        top_factors=(("recent_late_rate", round(base, 4)),
                     ("sla_elapsed_share", round((1.0 - base) * elapsed**2, 4))),
        features={"recent_late_rate": base, "late_rate_unknown": float(example.recent_late_rate is None),
                  "sla_elapsed_share": round(elapsed, 4)},
        warning=warning)


def assess(example: RiskExample, model: LinearModel | None, *, now: datetime) -> Prediction:
    """The SLA risk of one open expectation, from ``model`` when it can answer, else from
    ``rule_risk`` with ``warning`` saying why (no model, wrong model, a model that fails).
    Never raises for a model's sake.

    Usage:
        p = assess(expectation, model, now=now)
        case.details["sla_risk"] = p.as_dict()  # probability, model_version, top_factors, ...
    """
    if model is None:
        return _rules(example, now, "no SLA risk model trained yet: rule estimate used", loud=False)
    if model.name != "sla_risk":
        return _rules(example, now, f"{model.label} is not an SLA risk model: rule estimate used")
    try:
        feats = features(example, prior=model.params.get("late_rate_prior", DEFAULT_LATE_PRIOR))
        probability = model.probability(feats)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability {probability!r} outside [0, 1]")
        return Prediction(
            probability=round(probability, 4), model_version=model.version, source="model",
            confidence=model.confidence(probability), top_factors=tuple(model.contributions(feats)[:_TOP]),
            features=feats)
    except Exception as exc:  # a broken model must cost a prediction, never the hub
        return _rules(example, now, f"{model.label} failed ({type(exc).__name__}: {exc}): rule estimate used")


def recent_late_rate(history: Sequence[tuple[str, str, datetime, bool | None]], partner: str,
                     before: datetime, days: int = 30, *, document_type: str | None = None) -> float | None:
    """The share of ``partner``'s documents opened in the ``days`` before ``before`` that
    missed their SLA; ``None`` when none is known. ``history`` rows are
    ``(partner, document_type, opened_at, missed)``; rows still open (``missed`` None) are
    skipped, so when training, pass each row's outcome as it was known at ``before``.

    Usage:
        >>> t = datetime(2026, 3, 10)
        >>> recent_late_rate([("ACME", "855", t - timedelta(days=1), True),
        ...                   ("ACME", "856", t - timedelta(days=2), False)], "ACME", t)
        0.5
    """
    since = before - timedelta(days=days)
    seen = [bool(missed) for who, kind, opened, missed in history
            if who == partner and missed is not None and since <= opened < before
            and (document_type is None or kind == document_type)]
    return round(sum(seen) / len(seen), 4) if seen else None


def should_raise_case(prediction: Prediction, *, threshold: float = 0.7, now: datetime,
                      due_at: datetime) -> bool:
    """Whether the risk warrants an ``sla_risk`` case now: at or above ``threshold`` and only
    before the deadline (after it, the missing-document checks own the expectation)."""
    return now < due_at and prediction.probability >= threshold
