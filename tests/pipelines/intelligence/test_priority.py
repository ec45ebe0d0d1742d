"""Learned priority: the label, a model that learns which case types operators act on, a
bounded adjustment with its confidence and factors, and the rule score standing otherwise."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.intelligence.learned import LinearModel, NotEnoughData
from pipelines.intelligence.priority import CaseOutcome, adjust, mattered, train_priority

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = START + timedelta(days=100)
# how often operators act quickly on each case type; credit holds always
MATTERS = {"credit_hold": 1.0, "price_discrepancy": 0.05, "inventory_shortage": 0.6, "missing_855": 0.15}
SLA = {"credit_hold": 8, "price_discrepancy": 24, "inventory_shortage": 4, "missing_855": 24}
SEVERITY = {"credit_hold": "high", "price_discrepancy": "medium", "inventory_shortage": "high",
            "missing_855": "medium"}


def case(kind: str, *, created: datetime, status: str = "open", first_action_hours: float | None = None,
         resolution: str | None = None, rule_score: float = 50.0, partner: str | None = "ACME") -> CaseOutcome:
    first = None if first_action_hours is None else created + timedelta(hours=first_action_hours)
    return CaseOutcome(kind, partner, SEVERITY.get(kind, "medium"), rule_score, 250.0, 4000.0, 2, created,
                       first, status, resolution)


def outcomes(n: int, *, seed: int, signal: bool = True) -> list[CaseOutcome]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.choice(list(MATTERS))
        created = START + timedelta(minutes=rng.randrange(90 * 24 * 60))
        sla = SLA[kind]
        did = rng.random() < (MATTERS[kind] if signal else 0.45)
        if did:
            how = {"status": rng.choice(("resolved", "approved")), "first_action_hours": rng.uniform(0.1, sla),
                   "resolution": "contact_partner"}
        else:
            how = rng.choice((
                {"status": "rejected", "first_action_hours": rng.uniform(0.1, 3 * sla)},
                {"status": "resolved", "first_action_hours": rng.uniform(1.1 * sla, 5 * sla),
                 "resolution": "contact_partner"},
                {"status": "open"},  # untouched past its SLA: left to expire
            ))
        out.append(case(kind, created=created, rule_score=rng.uniform(20, 80),
                        partner=rng.choice(("ACME", "BOLT", "CRANE", None)), **how))
    # cases that teach nothing: a policy closed them, or they are open within their SLA
    out += [case("credit_hold", created=NOW - timedelta(days=3), status="auto_resolved", resolution="x"),
            case("missing_855", created=NOW - timedelta(hours=1))]
    return out


@pytest.fixture(scope="module")
def model() -> LinearModel:
    return train_priority(outcomes(1000, seed=11), version=1, now=NOW)


def fresh(kind: str) -> CaseOutcome:
    return case(kind, created=NOW)


T = START


@pytest.mark.parametrize(("outcome", "label"), [
    (case("credit_hold", created=T, status="resolved", first_action_hours=2, resolution="release_credit_hold"), True),
    (case("credit_hold", created=T, status="approved", first_action_hours=8, resolution="request_prepayment"), True),
    (case("credit_hold", created=T, status="resolved", first_action_hours=9, resolution="release_credit_hold"), False),
    (case("credit_hold", created=T, status="approved", first_action_hours=1, resolution=None), False),
    (case("credit_hold", created=T, status="rejected", first_action_hours=1), False),
    (case("credit_hold", created=T, status="open"), False),  # untouched past its 8 hours
    (case("credit_hold", created=NOW - timedelta(hours=2), status="open"), None),  # still within them
    (case("credit_hold", created=T, status="assigned", first_action_hours=1), None),
    (case("credit_hold", created=T, status="assigned", first_action_hours=20), False),
    (case("credit_hold", created=T, status="auto_resolved", resolution="release_credit_hold"), None),
    (case("credit_hold", created=T, status="resolved", resolution="release_credit_hold"), None),  # no first action
    (case("not_in_taxonomy", created=T, status="resolved", first_action_hours=23, resolution="x"), True),  # 24 h
])
def test_the_label_is_a_quick_substantive_resolution(outcome: CaseOutcome, label: bool | None) -> None:
    assert mattered(outcome, now=NOW) is label


def test_a_case_type_operators_always_act_on_is_raised_within_max_adjust(model: LinearModel) -> None:
    m = model.metrics
    assert m["n_train"] + m["n_calibration"] + m["n_test"] == 1000  # the two unlabelled cases left out
    assert m["auc"] > 0.75 and m["brier"] < m["brier_of_base_rate"], m
    result = adjust(50, fresh("credit_hold"), model)
    assert result.source == "model" and result.model_version == 1 and result.warning is None
    assert 50 < result.score <= 70 and result.rule_score == 50
    assert result.confidence >= 0.6 and result.learned_probability is not None and result.learned_probability > 0.9
    assert result.top_factors[0][0] == "case_type=credit_hold" and result.top_factors[0][1] > 0
    assert result.reason.startswith("priority v1: ") and "≥ 0.60: +" in result.reason
    assert adjust(50, fresh("credit_hold"), model, max_adjust=5).score <= 55


def test_a_case_type_operators_seldom_act_on_is_never_raised(model: LinearModel) -> None:
    result = adjust(50, fresh("price_discrepancy"), model)
    assert result.score <= 50 and result.learned_probability is not None
    assert result.learned_probability < float(model.metrics["base_rate"])
    assert dict(result.top_factors)["case_type=price_discrepancy"] < 0


def test_below_the_confidence_threshold_the_rule_score_stands(model: LinearModel) -> None:
    strict = adjust(50, fresh("credit_hold"), model, confidence_threshold=0.99)
    assert strict.score == 50 and strict.source == "rules" and strict.model_version == 1
    assert strict.reason == f"confidence {strict.confidence:.2f} < 0.99: rule score stands"
    assert strict.top_factors  # still explained, for the audit trail


def test_a_model_no_better_than_chance_has_no_confidence() -> None:
    noise = train_priority(outcomes(800, seed=12, signal=False), version=1, now=NOW)
    assert noise.metrics["auc_lower"] < 0.5
    for kind in MATTERS:
        result = adjust(37, fresh(kind), noise)
        assert (result.score, result.confidence, result.source) == (37, 0.0, "rules")
        assert result.reason == "confidence 0.00 < 0.60: rule score stands"


def test_without_a_model_or_with_a_broken_one_the_rule_score_stands(model: LinearModel, caplog) -> None:
    none = adjust(42, fresh("credit_hold"), None)
    assert (none.score, none.source, none.learned_probability) == (42, "rules", None)
    assert none.reason == "no priority model trained yet: rule score stands"
    broken = LinearModel.from_json(model.to_json())
    object.__setattr__(broken, "means", ())
    with caplog.at_level(logging.WARNING, logger="pipelines.intelligence.priority"):
        result = adjust(42, fresh("credit_hold"), broken)
    assert (result.score, result.source) == (42, "rules") and result.warning and "priority v1 failed" in caplog.text
    foreign = LinearModel.from_json({**model.to_json(), "name": "sla_risk"})
    assert adjust(42, fresh("credit_hold"), foreign).warning == "sla_risk v1 is not a priority model: rule score stands"


def test_retraining_carries_the_version_and_round_trips(model: LinearModel) -> None:
    v2 = train_priority(outcomes(900, seed=13), version=model.version + 1, now=NOW + timedelta(days=1))
    back = LinearModel.from_json(v2.to_json())
    assert back == v2 and back.name == "priority" and back.version == 2
    assert adjust(50, fresh("credit_hold"), back).model_version == 2
    assert adjust(50, fresh("credit_hold"), back).score == adjust(50, fresh("credit_hold"), v2).score


def test_refuses_to_learn_when_every_case_mattered() -> None:
    every = [replace(o, status="resolved", first_action_at=o.created_at, resolution="contact_partner")
             for o in outcomes(200, seed=14)]
    with pytest.raises(NotEnoughData, match="only positive outcomes"):
        train_priority(every, version=1, now=NOW)
    with pytest.raises(NotEnoughData, match="at least 60"):
        train_priority(outcomes(30, seed=15), version=1, now=NOW)
