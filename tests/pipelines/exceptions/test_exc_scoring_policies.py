"""Scores order cases by business impact and explain themselves; policies decide deterministically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from exc_support import context, golden, refdata
from pydantic import ValidationError

from pipelines.exceptions import (
    PolicyAction,
    ScoreInputs,
    Severity,
    decide,
    inputs_for,
    parse_policies,
    score,
)
from pipelines.exceptions.detectors import detect_credit_hold, detect_order_price
from pipelines.exceptions.model import detection

D = Decimal
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)

# Expected rank: first = highest business impact.
CASES = [
    ("key customer, big money, overdue", ScoreInputs(Severity.HIGH, 1, D("12000"), D("60000"), D("-2"), D("3000"))),
    ("key customer, mid money, due soon", ScoreInputs(Severity.MEDIUM, 1, D("1500"), D("8000"), D("3"), D("400"))),
    ("standard customer, mid money", ScoreInputs(Severity.MEDIUM, 3, D("1500"), D("8000"), D("20"), D("100"))),
    ("small customer, small money", ScoreInputs(Severity.LOW, 4, D("40"), D("200"), D("60"), D("0"))),
    ("no money at all", ScoreInputs(Severity.LOW, None, D("0"), D("0"), None, D("0"))),
]


def test_higher_business_impact_scores_higher():
    scores = [score(inputs).total for _, inputs in CASES]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)


@pytest.mark.parametrize(("label", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_score_explains_itself(label, inputs):
    s = score(inputs)
    assert s.total == sum(c.points for c in s.contributions)
    assert [c.rule for c in s.contributions] == ["severity", "customer_tier", "amount_at_risk", "order_value",
                                                 "sla_risk", "margin_at_risk"]
    assert s.inputs is inputs
    assert len(s.explain()) == sum(1 for c in s.contributions if c.points)


def test_score_breakdown_for_the_top_case():
    s = score(CASES[0][1])
    assert {c.rule: c.points for c in s.contributions} == {
        "severity": 15, "customer_tier": 30, "amount_at_risk": 30, "order_value": 15, "sla_risk": 25,
        "margin_at_risk": 10}
    assert "sla_risk: -2 ≤ 0 → +25" in s.explain()


def test_inputs_from_a_detection():
    (found,) = detect_credit_hold(golden("po_credit_hold"), context())
    customer = refdata().customer("BOLT")
    inputs = inputs_for(found, now=NOW, opened_at=NOW - timedelta(hours=10), customer=customer,
                        order_value=D("5.00"))
    assert (inputs.priority_tier, inputs.amount_at_risk, inputs.hours_to_due) == (3, D("5.00"), D("-2.0"))
    assert {c.rule: c.points for c in score(inputs).contributions}["sla_risk"] == 25


POLICIES = parse_policies([
    {"code": "price_discrepancy", "metric": "difference_percent", "auto_below": "0.5", "approval_below": "5",
     "approver_role": "pricing-manager", "resolution": "accept_price_difference"},
    {"code": "price_discrepancy", "partner": "BOLT", "mode": "never"},
    {"code": "invoice_totals_mismatch", "auto_below": "1.00", "resolution": "recalculate_invoice"},
    {"code": "duplicate_order", "approver_role": "cs-lead"},
    {"code": "credit_hold", "mode": "never"},
    {"partner": "CRAM", "auto_below": "10", "approver_role": "cram-account-manager"},
])


def price(pct: str, severity: Severity | None = None):
    return detection("price_discrepancy", "purchase_order ACME/PO-1 rev 0", "price differs",
                     severity=severity, evidence={"difference_percent": D(pct)}, amount_at_risk=D("3"))


@pytest.mark.parametrize(("found", "partner", "action", "role", "reason_part"), [
    (price("0.4"), "ACME", PolicyAction.AUTO_RESOLVE, None, "difference_percent 0.4 < 0.5"),
    (price("-0.4"), "ACME", PolicyAction.AUTO_RESOLVE, None, "difference_percent 0.4 < 0.5"),
    (price("2"), "ACME", PolicyAction.NEEDS_APPROVAL, "pricing-manager", "needs pricing-manager"),
    (price("8"), "ACME", PolicyAction.MANUAL, None, "≥ 5 is beyond automation"),
    (price("0.1"), "BOLT", PolicyAction.MANUAL, None, "price_discrepancy policy for BOLT never automates"),
    (price("0.1", Severity.CRITICAL), "ACME", PolicyAction.NEEDS_APPROVAL, "pricing-manager", "critical"),
    (detection("price_discrepancy", "x", "no evidence"), "ACME", PolicyAction.MANUAL, None, "not in the detection"),
    (detection("duplicate_order", "x", "dup", amount_at_risk=D("900")), "ACME", PolicyAction.NEEDS_APPROVAL,
     "cs-lead", "needs cs-lead"),
    (detection("credit_hold", "x", "hold", amount_at_risk=D("1")), "ACME", PolicyAction.MANUAL, None, "never"),
    (detection("duplicate_order", "x", "dup", amount_at_risk=D("1")), "CRAM", PolicyAction.AUTO_RESOLVE, None,
     "* policy for CRAM"),
    (detection("asn_over_shipment", "x", "over"), "ACME", PolicyAction.MANUAL, None, "no policy"),
    (detection("invoice_totals_mismatch", "x", "off", amount_at_risk=D("0.50")), "SUPPLY",
     PolicyAction.AUTO_RESOLVE, None, "amount_at_risk 0.50 < 1.00"),
    (detection("invoice_totals_mismatch", "x", "off", amount_at_risk=D("5")), "SUPPLY", PolicyAction.MANUAL,
     None, "beyond automation"),
])
def test_decide(found, partner, action, role, reason_part):
    decision = decide(found, POLICIES, partner)
    assert (decision.action, decision.approver_role) == (action, role)
    assert reason_part in decision.reason
    assert decide(found, POLICIES, partner) == decision  # deterministic


def test_auto_resolution_names_the_action():
    assert decide(price("0.2"), POLICIES, "ACME").resolution == "accept_price_difference"
    cram = decide(detection("duplicate_order", "x", "d", amount_at_risk=D("1")), POLICIES, "CRAM")
    assert cram.resolution == "confirm_with_partner"  # the taxonomy's preferred action


def test_policies_decide_on_real_detections():
    within, beyond = detect_order_price(golden("po_price"), context())
    assert decide(within, POLICIES, "ACME").action is PolicyAction.AUTO_RESOLVE
    assert decide(beyond, POLICIES, "ACME").action is PolicyAction.MANUAL  # 8.33% ≥ 5


@pytest.mark.parametrize(("row", "message"), [
    ({"code": "no_such_code"}, "unknown exception code"),
    ({"code": "price_discrepancy", "resolution": "do_magic"}, "unknown resolution"),
    ({"auto_below": "5", "approval_below": "1"}, "approval_below"),
    ({"mode": "sometimes"}, "mode"),
])
def test_invalid_policies_are_rejected(row, message):
    with pytest.raises(ValidationError, match=message):
        parse_policies([row])
