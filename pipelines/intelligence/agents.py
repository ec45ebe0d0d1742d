"""Resolution agents: small, named automations that propose an action for a routine case, and
the policies that decide whether a proposal is executed, sent for approval or refused.

An agent reads a case (its type, partner and the detection's evidence as stored on the case)
and proposes one action from the taxonomy with a confidence and a rationale, or nothing when
the case is not routine for it. It never acts: the hub executes a proposal only when the
policy says ``auto`` and the proposal is within the policy's limits; otherwise a person
approves it, or it is refused. Policies are data, per partner and case type:

    agents:
      - {agent: price_within_tolerance, mode: auto, min_confidence: 0.8, max_amount: "250"}
      - {agent: "*", case_type: credit_hold, mode: never}

The most specific rule wins (partner, then agent, then case type; first listed on a tie).
With no rule a proposal waits for approval: nothing runs on its own unless a policy says so.
``never`` refuses, whatever the confidence. ``auto`` needs ``confidence >= min_confidence``
and ``amount <= max_amount`` (when set); a proposal that misses either limit goes to approval
instead, with the reason. A critical case is never executed automatically.

Usage:
    >>> case = CaseView(1, "price_discrepancy", "ACME", "low", "open",
    ...                 {"difference_percent": "0.4", "tolerance_percent": "1"}, Decimal("4.80"))
    >>> p = propose(case)[0]
    >>> p.action, decide_proposal(p, parse_agent_policies([{"agent": "*", "mode": "auto"}])).mode
    ('accept_price_difference', 'auto')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from pipelines.exceptions.taxonomy import ACTIONS, exception_type

__all__ = [
    "AGENTS",
    "AgentPolicy",
    "AgentSpec",
    "CaseView",
    "PolicyVerdict",
    "Proposal",
    "decide_proposal",
    "parse_agent_policies",
    "propose",
]

Mode = Literal["auto", "approval", "never"]


@dataclass(frozen=True, slots=True)
class CaseView:
    """What an agent may read of a case: the detection's evidence as stored (strings for
    decimals), the amount at risk, and hub facts such as the partner's fallback carrier."""

    id: int
    type: str
    partner: str | None
    severity: str
    status: str
    evidence: Mapping[str, Any]
    amount_at_risk: Decimal | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Proposal:
    agent: str
    case_id: int
    action: str
    confidence: float
    rationale: str
    amount: Decimal | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "case_id": self.case_id, "action": self.action,
                "confidence": round(self.confidence, 4), "rationale": self.rationale,
                "amount": None if self.amount is None else str(self.amount),
                "params": dict(self.params), "inputs": dict(self.inputs)}


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


# --- the agents -------------------------------------------------------------------------------


def _price_within_tolerance(case: CaseView) -> Proposal | None:
    """Accept a price difference inside the contract tolerance: the smaller the difference
    against the tolerance, the higher the confidence (0.95 at no difference, 0.6 at the limit)."""
    diff, tolerance = _dec(case.evidence.get("difference_percent")), _dec(case.evidence.get("tolerance_percent"))
    if diff is None:
        return None
    limit = tolerance if tolerance is not None and tolerance > 0 else Decimal("1")
    if abs(diff) > limit:
        return None
    confidence = _clamp(0.95 - 0.35 * float(abs(diff) / limit))
    return Proposal("price_within_tolerance", case.id, "accept_price_difference", confidence,
                    f"price differs by {diff}% and the tolerance is {limit}%", case.amount_at_risk,
                    inputs={"difference_percent": str(diff), "tolerance_percent": str(limit)})


def _split_ship(case: CaseView) -> Proposal | None:
    """Ship a shortage from the warehouse that has the most stock when, with the serving
    warehouse, it covers the order; confidence falls as the cover gets thin."""
    shortfall = _dec(case.evidence.get("shortfall"))
    by_wh = case.evidence.get("available_by_warehouse") or {}
    serving = case.evidence.get("serving_warehouse")
    if shortfall is None or shortfall <= 0 or not isinstance(by_wh, Mapping):
        return None
    others = {str(w): q for w, v in by_wh.items() if w != serving and (q := _dec(v)) is not None and q > 0}
    if not others:
        return None
    best = max(others, key=lambda w: (others[w], w))
    if others[best] < shortfall:
        return None
    cover = float(others[best] / shortfall)
    confidence = _clamp(0.7 + 0.25 * min(1.0, (cover - 1.0) / 1.0))
    return Proposal("split_ship_alternate", case.id, "split_ship_from_alternate_warehouse", confidence,
                    f"warehouse {best} has {others[best]} available against a shortfall of {shortfall}",
                    case.amount_at_risk, params={"warehouse": best, "quantity": str(shortfall),
                                                 "item_number": case.evidence.get("item_number")},
                    inputs={"shortfall": str(shortfall), "available_by_warehouse": {k: str(v) for k, v in
                                                                                   others.items()},
                            "serving_warehouse": serving})


def _rerequest_855(case: CaseView) -> Proposal | None:
    """Ask the supplier again for a missing 855 (resend the order): routine the first time."""
    asked = int(case.facts.get("times_requested", 0) or 0)
    if asked >= 2:
        return None  # twice without an answer: a person should call
    confidence = 0.9 if asked == 0 else 0.7
    return Proposal("rerequest_855", case.id, "request_855_again", confidence,
                    "no order acknowledgment within the SLA; resend the order to the supplier"
                    + (" (second request)" if asked else ""), case.amount_at_risk,
                    params={"document": case.evidence.get("document") or case.facts.get("document")},
                    inputs={"times_requested": asked, "hours_overdue": case.evidence.get("hours_overdue")})


def _fallback_carrier(case: CaseView) -> Proposal | None:
    """Book with the partner's fallback carrier when its carrier's API keeps failing."""
    fallback = case.evidence.get("fallback_carrier") or case.facts.get("fallback_carrier")
    carrier = case.evidence.get("carrier")
    if not fallback or fallback == carrier:
        return None
    failures = int(case.evidence.get("consecutive_failures") or 1)
    confidence = _clamp(0.6 + 0.1 * min(failures, 3))
    return Proposal("fallback_carrier", case.id, "switch_to_fallback_carrier", confidence,
                    f"{carrier} failed {failures}x; {fallback} is the partner's fallback carrier", None,
                    params={"carrier": carrier, "fallback_carrier": fallback},
                    inputs={"consecutive_failures": failures})


def _credit_release(case: CaseView) -> Proposal | None:
    """Release an order held only for its credit limit when the overrun is small (≤ 10 % of
    the limit) and the customer is not blocked or under review; the amount is the overrun."""
    if case.evidence.get("credit_status", "ok") != "ok":
        return None
    limit, after = _dec(case.evidence.get("credit_limit")), _dec(case.evidence.get("exposure_after"))
    if limit is None or after is None or limit <= 0:
        return None
    overrun = after - limit
    if overrun <= 0 or overrun > limit * Decimal("0.10"):
        return None
    confidence = _clamp(0.9 - 3.0 * float(overrun / limit))
    return Proposal("credit_release", case.id, "release_credit_hold", confidence,
                    f"exposure after the order {after} exceeds the limit {limit} by {overrun} "
                    f"({(overrun / limit * 100).quantize(Decimal('0.1'))}%)", overrun,
                    inputs={"credit_limit": str(limit), "exposure_after": str(after), "overrun": str(overrun)})


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    case_types: tuple[str, ...]
    description: str
    run: Callable[[CaseView], Proposal | None]


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("price_within_tolerance", ("price_discrepancy", "invoice_price_mismatch"),
              "Accept a price difference within the contract tolerance", _price_within_tolerance),
    AgentSpec("split_ship_alternate", ("inventory_shortage",),
              "Ship a shortage from an alternate warehouse that has the stock", _split_ship),
    AgentSpec("rerequest_855", ("missing_855",), "Ask the supplier again for a missing 855", _rerequest_855),
    AgentSpec("fallback_carrier", ("carrier_api_failure",),
              "Switch a failed carrier booking to the partner's fallback carrier", _fallback_carrier),
    AgentSpec("credit_release", ("credit_hold",),
              "Release a credit hold when the overrun is small and the customer is in good standing",
              _credit_release),
)
_BY_NAME = {a.name: a for a in AGENTS}


def propose(case: CaseView) -> list[Proposal]:
    """Every agent's proposal for ``case`` (usually none or one)."""
    out = []
    for spec in AGENTS:
        if case.type in spec.case_types:
            found = spec.run(case)
            if found is not None:
                assert found.action in ACTIONS, found.action
                out.append(found)
    return out


# --- policies ---------------------------------------------------------------------------------


class AgentPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field("*", description="Agent name, or * for every agent")
    case_type: str = Field("*", description="Exception code, or * for every case type")
    partner: str | None = Field(None, description="Partner id; absent for every partner")
    mode: Mode = Field("approval", description="auto: execute within limits; approval: ask; never: refuse")
    min_confidence: float = Field(0.8, ge=0, le=1, description="auto only at or above this confidence")
    max_amount: Decimal | None = Field(None, ge=0, description="auto only up to this amount (case currency)")
    approver_role: str | None = Field(None, description="Who approves; any operator when absent")

    @model_validator(mode="after")
    def _known(self) -> AgentPolicy:
        if self.agent != "*" and self.agent not in _BY_NAME:
            raise ValueError(f"unknown agent {self.agent!r} (known: {', '.join(sorted(_BY_NAME))})")
        if self.case_type != "*":
            try:
                exception_type(self.case_type)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
        return self

    def specificity(self, agent: str, case_type: str, partner: str | None) -> int | None:
        if self.agent not in ("*", agent) or self.case_type not in ("*", case_type):
            return None
        if self.partner is not None and self.partner != partner:
            return None
        return (4 if self.partner is not None else 0) + (2 if self.agent != "*" else 0) + \
            (1 if self.case_type != "*" else 0)


_POLICIES = TypeAdapter(list[AgentPolicy])


def parse_agent_policies(data: Sequence[Mapping[str, Any]]) -> tuple[AgentPolicy, ...]:
    """Policies from plain data; pydantic's errors name the row and field."""
    return tuple(_POLICIES.validate_python([dict(d) for d in data]))


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    mode: Mode
    reason: str
    rule: AgentPolicy | None = None
    approver_role: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "reason": self.reason, "approver_role": self.approver_role,
                "rule": None if self.rule is None else self.rule.model_dump(mode="json", exclude_none=True)}


def decide_proposal(proposal: Proposal, policies: Sequence[AgentPolicy], *, case_type: str = "*",
                    partner: str | None = None, severity: str = "medium") -> PolicyVerdict:
    """``auto``, ``approval`` or ``never`` for ``proposal``, with the reason and the rule."""
    matches = [(sp, -i, r) for i, r in enumerate(policies)
               if (sp := r.specificity(proposal.agent, case_type, partner)) is not None]
    if not matches:
        return PolicyVerdict("approval", f"no agent policy for {proposal.agent} on {case_type} "
                             f"(partner {partner}): a person approves")
    rule = max(matches, key=lambda m: (m[0], m[1]))[2]
    scope = f"policy {rule.agent}/{rule.case_type} for {rule.partner or 'every partner'}"
    if rule.mode == "never":
        return PolicyVerdict("never", f"{scope} never lets {proposal.agent} act", rule)
    if rule.mode == "approval":
        return PolicyVerdict("approval", f"{scope} asks for approval", rule, rule.approver_role)
    if severity == "critical":
        return PolicyVerdict("approval", f"{scope}: a critical case is never executed automatically", rule,
                             rule.approver_role)
    if proposal.confidence < rule.min_confidence:
        return PolicyVerdict("approval", f"{scope}: confidence {proposal.confidence:.2f} < "
                             f"{rule.min_confidence:.2f}", rule, rule.approver_role)
    if rule.max_amount is not None and (proposal.amount or Decimal(0)) > rule.max_amount:
        return PolicyVerdict("approval", f"{scope}: amount {proposal.amount} > {rule.max_amount}", rule,
                             rule.approver_role)
    limits = f"confidence {proposal.confidence:.2f} ≥ {rule.min_confidence:.2f}"
    if rule.max_amount is not None:
        limits += f", amount {proposal.amount or 0} ≤ {rule.max_amount}"
    return PolicyVerdict("auto", f"{scope}: {limits}", rule)
