"""How often the resolution agents resolve routine cases correctly, and whether a policy that
forbids an action is ever overridden: a seeded stream of cases with the action an experienced
operator would take (the label), run through the agents and a set of policies.

The label is not the agent's own rule: each case type has situations the agent cannot see in
the case's evidence and that make its proposal wrong, at realistic rates —

* price within tolerance, but the partner's prices have been creeping up for weeks (price drift:
  the operator rejects it and calls the buyer);
* a shortage another warehouse could cover, but that stock is reserved for a key account;
* a small credit overrun, but the customer has invoices overdue;
* a missing 855, but the supplier already phoned in the confirmation.

Agents cannot be right on those; the figures show how often policy limits (confidence, amount)
route them to a person instead of executing them.

Usage:
    python benchmarks/intel_agents_eval.py --cases 5000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.intelligence.agents import (
    CaseView,
    decide_proposal,
    parse_agent_policies,
    propose,
)

POLICIES = [
    {"agent": "price_within_tolerance", "mode": "auto", "min_confidence": 0.8, "max_amount": "250"},
    {"agent": "split_ship_alternate", "mode": "auto", "min_confidence": 0.8},
    {"agent": "rerequest_855", "mode": "auto", "min_confidence": 0.85},
    {"agent": "credit_release", "mode": "approval", "approver_role": "credit-manager"},
    {"agent": "credit_release", "partner": "P03", "mode": "auto", "min_confidence": 0.7, "max_amount": "500"},
    {"agent": "*", "partner": "P07", "mode": "never"},
    {"agent": "fallback_carrier", "mode": "auto"},
]


@dataclass(frozen=True, slots=True)
class Labelled:
    case: CaseView
    correct_action: str | None  # what the operator would do; None = leave it / escalate


def _case(rng: random.Random, i: int) -> Labelled:
    partner = f"P{rng.randrange(10):02d}"
    kind = rng.choice(("price_discrepancy", "inventory_shortage", "credit_hold", "missing_855"))
    if kind == "price_discrepancy":
        tolerance = Decimal(rng.choice(("1", "2", "3")))
        diff = (Decimal(rng.uniform(0, float(tolerance) * 1.6))).quantize(Decimal("0.01"))
        qty = rng.randint(1, 400)
        amount = (diff / 100 * Decimal(rng.uniform(2, 60)) * qty).quantize(Decimal("0.01"))
        drift = rng.random() < 0.08
        right = "accept_price_difference" if diff <= tolerance and not drift else "reject_price"
        return Labelled(CaseView(i, kind, partner, "low" if diff <= tolerance else "medium", "open",
                                 {"difference_percent": str(diff), "tolerance_percent": str(tolerance)}, amount), right)
    if kind == "inventory_shortage":
        shortfall = rng.randint(1, 200)
        other = rng.randint(0, 400)
        reserved = rng.random() < 0.10
        right = "split_ship_from_alternate_warehouse" if other >= shortfall and not reserved else "backorder_remaining"
        return Labelled(CaseView(i, kind, partner, "high", "open",
                                 {"shortfall": str(shortfall), "serving_warehouse": "EAST",
                                  "available_by_warehouse": {"EAST": "0", "WEST": str(other)}}), right)
    if kind == "credit_hold":
        limit = Decimal(rng.choice((5000, 20000, 50000)))
        overrun = (limit * Decimal(rng.uniform(0.001, 0.2))).quantize(Decimal("0.01"))
        overdue = rng.random() < 0.15
        blocked = rng.random() < 0.05
        right = "release_credit_hold" if overrun <= limit * Decimal("0.1") and not overdue and not blocked \
            else "hold_for_credit_review"
        return Labelled(CaseView(i, kind, partner, "high", "open",
                                 {"credit_status": "hold" if blocked else "ok", "credit_limit": str(limit),
                                  "exposure_after": str(limit + overrun)}, overrun), right)
    asked = rng.choice((0, 0, 0, 1, 2))
    phoned = rng.random() < 0.05
    right = "request_855_again" if asked < 2 and not phoned else "contact_partner"
    return Labelled(CaseView(i, kind, partner, "medium", "open", {"hours_overdue": "6"}, None,
                             {"times_requested": asked}), right)


def evaluate(cases: int = 5000, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    policies = parse_agent_policies(POLICIES)
    forbidden = {(p["partner"]) for p in POLICIES if p.get("mode") == "never" and p.get("agent") == "*"}
    counts: Counter[str] = Counter()
    per_agent: dict[str, Counter[str]] = {}
    violations = 0
    started = time.perf_counter()
    for i in range(cases):
        item = _case(rng, i)
        proposals = propose(item.case)
        if not proposals:
            counts["no_proposal"] += 1
            counts["no_proposal_where_routine" if item.correct_action in (
                "accept_price_difference", "split_ship_from_alternate_warehouse", "release_credit_hold",
                "request_855_again") else "no_proposal_correctly"] += 1
            continue
        for p in proposals:
            verdict = decide_proposal(p, policies, case_type=item.case.type, partner=item.case.partner,
                                      severity=item.case.severity)
            tally = per_agent.setdefault(p.agent, Counter())
            right = p.action == item.correct_action
            tally["proposed"] += 1
            tally["proposed_correct" if right else "proposed_wrong"] += 1
            tally[verdict.mode] += 1
            if verdict.mode == "auto":
                tally["executed_correct" if right else "executed_wrong"] += 1
                counts["executed_correct" if right else "executed_wrong"] += 1
                if item.case.partner in forbidden:
                    violations += 1
            elif verdict.mode == "approval":
                tally["approval_would_reject" if not right else "approval_would_approve"] += 1
                counts["to_approval"] += 1
            else:
                counts["refused"] += 1
            counts["proposed"] += 1
    executed = counts["executed_correct"] + counts["executed_wrong"]
    return {
        "cases": cases, "seed": seed, "proposals": counts["proposed"],
        "executed": executed,
        "executed_correct_share": round(counts["executed_correct"] / executed, 4) if executed else None,
        "executed_wrong_share": round(counts["executed_wrong"] / executed, 4) if executed else None,
        "cases_resolved_automatically_share": round(executed / cases, 4),
        "sent_to_approval": counts["to_approval"], "refused_by_policy": counts["refused"],
        "no_proposal": counts["no_proposal"],
        "forbidden_actions_executed": violations,
        "per_agent": {a: dict(sorted(c.items())) for a, c in sorted(per_agent.items())},
        "seconds": round(time.perf_counter() - started, 3),
        "policies": POLICIES,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = evaluate(args.cases, args.seed)
    out["command"] = f"python benchmarks/intel_agents_eval.py --cases {args.cases} --seed {args.seed}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
