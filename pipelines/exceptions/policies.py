"""Policies: data that decides whether a detection is resolved automatically, needs someone's
approval, or is left to a person.

A rule applies to one exception code (or ``*``) for one partner (or every partner). The most
specific matching rule wins (partner + code, partner + ``*``, code, ``*``); among equally
specific rules, the first listed. A rule either never automates, or compares one metric
(``amount_at_risk`` or a number in the evidence, e.g. ``difference_percent``) with two limits:
below ``auto_below`` → auto-resolve with ``resolution``; below ``approval_below`` (or with no
such limit) → approval by ``approver_role``; otherwise manual. A critical detection is never
auto-resolved.

Usage:
    >>> rules = parse_policies([{"code": "price_discrepancy", "metric": "difference_percent",
    ...     "auto_below": "0.5", "approval_below": "5", "approver_role": "pricing-manager",
    ...     "resolution": "accept_price_difference"}])
    >>> from pipelines.exceptions.model import detection
    >>> d = detection("price_discrepancy", "purchase_order ACME/PO-1 rev 0", "price differs",
    ...               evidence={"difference_percent": Decimal("0.3")})
    >>> decide(d, rules, "ACME").action
    <PolicyAction.AUTO_RESOLVE: 'auto_resolve'>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from pipelines.exceptions.taxonomy import ACTIONS, Severity, exception_type

if TYPE_CHECKING:
    from pipelines.exceptions.model import Detection

__all__ = ["PolicyAction", "PolicyDecision", "PolicyRule", "decide", "parse_policies"]


class PolicyAction(StrEnum):
    AUTO_RESOLVE = "auto_resolve"
    NEEDS_APPROVAL = "needs_approval"
    MANUAL = "manual"


class PolicyRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field("*", description="Exception code from the taxonomy, or * for every code")
    partner: str | None = Field(None, description="Partner id; absent for every partner")
    mode: Literal["threshold", "never"] = "threshold"
    metric: str = Field("amount_at_risk", description="amount_at_risk, or a number in the evidence")
    auto_below: Decimal | None = Field(None, ge=0, description="|metric| below this: auto-resolve")
    approval_below: Decimal | None = Field(None, ge=0, description="|metric| below this: needs approval")
    approver_role: str | None = None
    resolution: str | None = Field(None, description="Action applied on auto-resolve (taxonomy action name)")

    @model_validator(mode="after")
    def _known_names(self) -> PolicyRule:
        if self.code != "*":
            try:
                exception_type(self.code)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
        if self.resolution is not None and self.resolution not in ACTIONS:
            raise ValueError(f"unknown resolution {self.resolution!r}")
        if self.auto_below is not None and self.approval_below is not None \
                and self.approval_below < self.auto_below:
            raise ValueError("approval_below must not be lower than auto_below")
        return self

    def specificity(self, code: str, partner: str | None) -> int | None:
        """How specifically the rule matches (higher wins); ``None`` when it does not."""
        if self.code not in ("*", code) or (self.partner is not None and self.partner != partner):
            return None
        return (2 if self.partner is not None else 0) + (1 if self.code != "*" else 0)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    action: PolicyAction
    reason: str
    approver_role: str | None = None
    resolution: str | None = None
    rule: PolicyRule | None = None


_RULES = TypeAdapter(list[PolicyRule])


def parse_policies(data: Sequence[dict[str, Any]]) -> tuple[PolicyRule, ...]:
    """Policy rules from plain data (a partner profile, a YAML file); pydantic errors name the row.

    Usage:
        >>> parse_policies([{"code": "credit_hold", "mode": "never"}])[0].mode
        'never'
    """
    return tuple(_RULES.validate_python(list(data)))


def _metric(found: Detection, name: str) -> Decimal | None:
    raw = found.amount_at_risk if name == "amount_at_risk" else found.evidence.get(name)
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return abs(Decimal(str(raw)))
    except InvalidOperation:
        return None


def decide(found: Detection, policies: Sequence[PolicyRule], partner: str | None) -> PolicyDecision:
    """What to do with ``found`` for ``partner`` under ``policies``; deterministic and explained.

    Usage:
        decision = decide(detection, parse_policies(profile["policies"]), "ACME")
        decision.action, decision.reason, decision.approver_role
    """
    matches = [(s, -i, r) for i, r in enumerate(policies) if (s := r.specificity(found.code, partner)) is not None]
    if not matches:
        return PolicyDecision(PolicyAction.MANUAL, f"no policy for {found.code} (partner {partner})")
    rule = max(matches, key=lambda m: (m[0], m[1]))[2]
    scope = f"{rule.code} policy for {rule.partner or 'every partner'}"
    if rule.mode == "never":
        return PolicyDecision(PolicyAction.MANUAL, f"{scope} never automates", rule=rule)
    value = _metric(found, rule.metric)
    if value is None:
        return PolicyDecision(PolicyAction.MANUAL, f"{scope}: {rule.metric} not in the detection", rule=rule)
    shown = f"{rule.metric} {value}"
    if rule.auto_below is not None and value < rule.auto_below:
        if found.severity is not Severity.CRITICAL:
            resolution = rule.resolution or exception_type(found.code).action_names[0]
            return PolicyDecision(PolicyAction.AUTO_RESOLVE, f"{scope}: {shown} < {rule.auto_below}",
                                  resolution=resolution, rule=rule)
        if rule.approver_role:
            return PolicyDecision(PolicyAction.NEEDS_APPROVAL, f"{scope}: {shown} < {rule.auto_below} "
                                  "but critical detections are never auto-resolved",
                                  approver_role=rule.approver_role, rule=rule)
        return PolicyDecision(PolicyAction.MANUAL, f"{scope}: critical detections are never auto-resolved",
                              rule=rule)
    if rule.approver_role and (rule.approval_below is None or value < rule.approval_below):
        limit = f" < {rule.approval_below}" if rule.approval_below is not None else ""
        return PolicyDecision(PolicyAction.NEEDS_APPROVAL, f"{scope}: {shown}{limit} needs {rule.approver_role}",
                              approver_role=rule.approver_role, rule=rule)
    limit = f" ≥ {rule.approval_below}" if rule.approval_below is not None else ""
    return PolicyDecision(PolicyAction.MANUAL, f"{scope}: {shown}{limit} is beyond automation", rule=rule)
