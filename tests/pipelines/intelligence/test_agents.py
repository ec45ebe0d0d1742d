"""Resolution agents and their policies: golden cases, the ones that must not propose, and
policy decisions (auto, approval, never) with their reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from pipelines.intelligence.agents import CaseView, decide_proposal, parse_agent_policies, propose


def case(kind: str, evidence: dict[str, Any], *, amount: str | None = None, partner: str = "ACME",
         severity: str = "medium", **facts: Any) -> CaseView:
    return CaseView(1, kind, partner, severity, "open", evidence, Decimal(amount) if amount else None, facts)


@pytest.mark.parametrize(("found", "action", "low", "high"), [
    (case("price_discrepancy", {"difference_percent": "0", "tolerance_percent": "2"}), "accept_price_difference",
     0.95, 0.95),
    (case("invoice_price_mismatch", {"difference_percent": "-2", "tolerance_percent": "2"}),
     "accept_price_difference", 0.6, 0.6),
    (case("inventory_shortage", {"shortfall": "10", "serving_warehouse": "EAST",
                                 "available_by_warehouse": {"EAST": "2", "WEST": "40", "NORTH": "12"}}),
     "split_ship_from_alternate_warehouse", 0.9, 0.95),
    (case("missing_855", {"hours_overdue": "3"}), "request_855_again", 0.9, 0.9),
    (case("missing_855", {}, times_requested=1), "request_855_again", 0.7, 0.7),
    (case("carrier_api_failure", {"carrier": "UPSN", "fallback_carrier": "FDEG", "consecutive_failures": 3}),
     "switch_to_fallback_carrier", 0.9, 0.9),
    (case("credit_hold", {"credit_status": "ok", "credit_limit": "10000", "exposure_after": "10300"}),
     "release_credit_hold", 0.8, 0.82),
])
def test_golden_proposals(found: CaseView, action: str, low: float, high: float) -> None:
    [p] = propose(found)
    assert p.action == action and low <= round(p.confidence, 4) <= high and p.rationale


def test_the_split_names_the_warehouse_and_quantity() -> None:
    [p] = propose(case("inventory_shortage", {"shortfall": "10", "serving_warehouse": "EAST", "item_number": "W-1",
                                              "available_by_warehouse": {"EAST": "2", "WEST": "40"}}))
    assert dict(p.params) == {"warehouse": "WEST", "quantity": "10", "item_number": "W-1"}
    assert p.rationale == "warehouse WEST has 40 available against a shortfall of 10"


@pytest.mark.parametrize("found", [
    case("price_discrepancy", {"difference_percent": "2.5", "tolerance_percent": "2"}),  # beyond tolerance
    case("price_discrepancy", {"tolerance_percent": "2"}),  # no difference known
    case("inventory_shortage", {"shortfall": "50", "serving_warehouse": "EAST",
                                "available_by_warehouse": {"EAST": "0", "WEST": "49"}}),  # not covered
    case("inventory_shortage", {"shortfall": "5", "serving_warehouse": "EAST",
                                "available_by_warehouse": {"EAST": "3"}}),  # no other warehouse
    case("missing_855", {}, times_requested=2),  # asked twice: a person calls
    case("carrier_api_failure", {"carrier": "UPSN", "fallback_carrier": None}),
    case("carrier_api_failure", {"carrier": "UPSN", "fallback_carrier": "UPSN"}),
    case("credit_hold", {"credit_status": "hold", "credit_limit": "10000", "exposure_after": "10100"}),  # blocked
    case("credit_hold", {"credit_status": "ok", "credit_limit": "10000", "exposure_after": "12000"}),  # 20 % over
    case("credit_hold", {"credit_status": "ok", "credit_limit": None, "exposure_after": "100"}),
    case("duplicate_order", {"rule": "same_content_new_number"}),  # no agent for it
])
def test_must_not_propose(found: CaseView) -> None:
    assert propose(found) == []


PRICE = case("price_discrepancy", {"difference_percent": "0.2", "tolerance_percent": "1"}, amount="40")


def test_no_policy_means_a_person_approves() -> None:
    [p] = propose(PRICE)
    verdict = decide_proposal(p, (), case_type="price_discrepancy", partner="ACME")
    assert verdict.mode == "approval" and "no agent policy" in verdict.reason


def test_the_most_specific_rule_wins() -> None:
    [p] = propose(PRICE)
    rules = parse_agent_policies([
        {"agent": "*", "mode": "never"},
        {"agent": "price_within_tolerance", "mode": "auto"},
        {"agent": "price_within_tolerance", "partner": "ACME", "mode": "approval", "approver_role": "pricing"},
    ])
    acme = decide_proposal(p, rules, case_type="price_discrepancy", partner="ACME")
    beta = decide_proposal(p, rules, case_type="price_discrepancy", partner="BETA")
    other = decide_proposal(propose(case("missing_855", {}))[0], rules, case_type="missing_855", partner="BETA")
    assert (acme.mode, acme.approver_role, beta.mode, other.mode) == ("approval", "pricing", "auto", "never")


@pytest.mark.parametrize(("rule", "severity", "mode", "reason"), [
    ({"mode": "auto", "max_amount": "50"}, "low", "auto", "confidence 0.88 ≥ 0.80, amount 40 ≤ 50"),
    ({"mode": "auto", "max_amount": "39.99"}, "low", "approval", "amount 40 > 39.99"),
    ({"mode": "auto", "min_confidence": 0.9}, "low", "approval", "confidence 0.88 < 0.90"),
    ({"mode": "auto"}, "critical", "approval", "a critical case is never executed automatically"),
    ({"mode": "never", "min_confidence": 0}, "low", "never", "never lets price_within_tolerance act"),
])
def test_limits(rule: dict[str, Any], severity: str, mode: str, reason: str) -> None:
    [p] = propose(PRICE)
    verdict = decide_proposal(p, parse_agent_policies([{"agent": "price_within_tolerance", **rule}]),
                              case_type="price_discrepancy", partner="ACME", severity=severity)
    assert verdict.mode == mode and reason in verdict.reason


def test_policies_name_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="unknown agent 'price_bot'"):
        parse_agent_policies([{"agent": "price_bot", "mode": "auto"}])
    with pytest.raises(ValidationError, match="unknown exception code 'price'"):
        parse_agent_policies([{"case_type": "price"}])
    with pytest.raises(ValidationError, match="mode"):
        parse_agent_policies([{"mode": "sometimes"}])


def test_the_evaluation_never_executes_what_a_policy_forbids() -> None:
    import benchmarks.intel_agents_eval as ev

    out = ev.evaluate(cases=800, seed=3)
    assert out["forbidden_actions_executed"] == 0 and out["refused_by_policy"] > 0
    assert out["executed"] > 0 and out["executed_correct_share"] > out["executed_wrong_share"]
