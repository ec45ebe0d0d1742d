"""Explainable case scores: a sum of points from rules given as data.

Each rule reads one input (severity, customer priority tier, amount at risk, order value,
hours until the SLA is due, margin at risk) and gives the points of the first band the value
falls in. The score keeps its inputs and every rule's contribution, so a case can say why it
ranks where it does.

Usage:
    >>> s = score(ScoreInputs(Severity.HIGH, priority_tier=1, amount_at_risk=Decimal("2500")))
    >>> s.total, s.explain()[0]
    (65, 'severity: high (rank 2) ≥ 2 → +15')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pipelines.exceptions.taxonomy import Severity, exception_type

if TYPE_CHECKING:
    from pipelines.exceptions.model import Detection
    from pipelines.refdata import Customer

__all__ = [
    "DEFAULT_RULES",
    "CaseScore",
    "Contribution",
    "ScoreInputs",
    "ScoreRule",
    "inputs_for",
    "score",
]

Input = Literal["severity", "priority_tier", "amount_at_risk", "order_value", "hours_to_due", "margin_at_risk"]


@dataclass(frozen=True, slots=True)
class ScoreInputs:
    severity: Severity
    priority_tier: int | None = None  # 1 = most important customer; None = not a customer case
    amount_at_risk: Decimal = Decimal(0)
    order_value: Decimal = Decimal(0)
    hours_to_due: Decimal | None = None  # negative once overdue
    margin_at_risk: Decimal = Decimal(0)

    def value(self, name: Input) -> Decimal | None:
        if name == "severity":
            return Decimal(self.severity.rank)
        raw = getattr(self, name)
        return None if raw is None else Decimal(raw)


@dataclass(frozen=True, slots=True)
class ScoreRule:
    """``bands`` are (threshold, points), most severe first. ``at_least``: value ≥ threshold
    matches (more is worse); ``at_most``: value ≤ threshold matches (less is worse)."""

    name: str
    input: Input
    direction: Literal["at_least", "at_most"]
    bands: tuple[tuple[Decimal, int], ...]
    description: str = ""

    def apply(self, value: Decimal | None) -> tuple[int, str]:
        if value is None:
            return 0, "unknown → +0"
        sign = "≥" if self.direction == "at_least" else "≤"
        for threshold, points in self.bands:
            if (value >= threshold) if self.direction == "at_least" else (value <= threshold):
                return points, f"{sign} {threshold} → +{points}"
        return 0, "below every band → +0" if self.direction == "at_least" else "above every band → +0"


def _bands(*pairs: tuple[str, int]) -> tuple[tuple[Decimal, int], ...]:
    return tuple((Decimal(t), p) for t, p in pairs)


DEFAULT_RULES: tuple[ScoreRule, ...] = (
    ScoreRule("severity", "severity", "at_least", _bands(("3", 25), ("2", 15), ("1", 5)),
              "How bad the exception type and its evidence are"),
    ScoreRule("customer_tier", "priority_tier", "at_most", _bands(("1", 30), ("2", 20), ("3", 10)),
              "Customer priority tier (1 = most important)"),
    ScoreRule("amount_at_risk", "amount_at_risk", "at_least",
              _bands(("10000", 30), ("1000", 20), ("100", 10), ("0.01", 3)), "Money the exception puts at risk"),
    ScoreRule("order_value", "order_value", "at_least", _bands(("50000", 15), ("5000", 10), ("500", 5)),
              "Value of the whole order or invoice"),
    ScoreRule("sla_risk", "hours_to_due", "at_most", _bands(("0", 25), ("4", 15), ("24", 5)),
              "Hours left until the case's SLA is due (≤ 0: overdue)"),
    ScoreRule("margin_at_risk", "margin_at_risk", "at_least", _bands(("5000", 20), ("500", 10), ("50", 5)),
              "Gross margin lost if the exception stands"),
)


@dataclass(frozen=True, slots=True)
class Contribution:
    rule: str
    input: Input
    value: Decimal | None
    points: int
    reason: str


@dataclass(frozen=True, slots=True)
class CaseScore:
    total: int
    inputs: ScoreInputs
    contributions: tuple[Contribution, ...]

    def explain(self) -> list[str]:
        """One line per rule that gave points, e.g. ``amount_at_risk: 2500 ≥ 1000 → +20``."""
        out = []
        for c in self.contributions:
            if c.points == 0:
                continue
            shown = f"{self.inputs.severity.value} (rank {c.value})" if c.input == "severity" else str(c.value)
            out.append(f"{c.rule}: {shown} {c.reason}")
        return out


def score(inputs: ScoreInputs, rules: tuple[ScoreRule, ...] = DEFAULT_RULES) -> CaseScore:
    """Sum the rules' points over ``inputs``; higher means more business impact."""
    contributions = []
    for rule in rules:
        value = inputs.value(rule.input)
        points, reason = rule.apply(value)
        contributions.append(Contribution(rule.name, rule.input, value, points, reason))
    return CaseScore(sum(c.points for c in contributions), inputs, tuple(contributions))


def inputs_for(found: Detection, *, now: datetime, opened_at: datetime | None = None,
               customer: Customer | None = None, order_value: Decimal | None = None,
               margin_at_risk: Decimal | None = None) -> ScoreInputs:
    """Score inputs for a detection: the SLA is due the taxonomy's hours after ``opened_at``;
    margin at risk comes from the evidence unless given.

    Usage:
        score(inputs_for(d, now=now, customer=refdata.customer(d.partner or "")))
    """
    due = (opened_at or now) + timedelta(hours=exception_type(found.code).sla_hours)
    hours = (Decimal((due - now).total_seconds()) / 3600).quantize(Decimal("0.1"))
    return ScoreInputs(
        severity=found.severity,
        priority_tier=customer.priority_tier if customer else None,
        amount_at_risk=found.amount_at_risk or Decimal(0),
        order_value=order_value or Decimal(0),
        hours_to_due=hours,
        margin_at_risk=margin_at_risk if margin_at_risk is not None else _evidence_margin(found),
    )


def _evidence_margin(found: Detection) -> Decimal:
    raw = found.evidence.get("margin_at_risk")
    return raw if isinstance(raw, Decimal) else Decimal(0)
