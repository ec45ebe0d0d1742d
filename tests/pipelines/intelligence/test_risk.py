"""SLA risk: trained on a synthetic history with a real signal, calibrated, versioned, stored
as JSON, and falling back to the rule estimate — with a warning — whenever the model cannot answer."""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.intelligence.learned import LinearModel, ModelError, NotEnoughData
from pipelines.intelligence.risk import (
    RiskExample,
    assess,
    features,
    recent_late_rate,
    rule_risk,
    should_raise_case,
    train_sla_risk,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = START + timedelta(days=130)
LATE_RATE = {"LATECO": 0.7, "STEADY": 0.05, "MIDDLE": 0.2}
SLA = {"855": 24, "856": 48, "810": 120, "997": 4}


def history(n: int, *, seed: int, start: datetime = START, days: int = 120,
            mix: dict[str, float] | None = None, value_scale: float = 1.0) -> list[RiskExample]:
    """Orders spread over ``days``; each partner misses at its own rate, after-hours and
    large orders a little more often; a few rare partners and unknown late rates."""
    rng = random.Random(seed)
    partners = mix or {"LATECO": 0.3, "STEADY": 0.4, "MIDDLE": 0.25, "RARE1": 0.02, "RARE2": 0.03}
    names, weights = list(partners), list(partners.values())
    out = []
    for _ in range(n):
        partner = rng.choices(names, weights)[0]
        doc = rng.choice(("855", "856", "810", "997"))
        opened = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        value = rng.lognormvariate(7, 1) * value_scale
        rate = LATE_RATE.get(partner, 0.3)
        logit = math.log(rate / (1 - rate)) + (0.6 if opened.hour >= 18 else 0.0) + 0.2 * (math.log(value) - 7)
        missed = rng.random() < 1 / (1 + math.exp(-logit))
        seen = None if rng.random() < 0.1 else min(1.0, max(0.0, rate + rng.gauss(0, 0.08)))
        out.append(RiskExample(partner, doc, rng.choice(("east", "west")), opened,
                               opened + timedelta(hours=SLA[doc]), rng.randint(1, 40), value, seen, missed))
    return out


@pytest.fixture(scope="module")
def examples() -> list[RiskExample]:
    return history(1500, seed=7)


@pytest.fixture(scope="module")
def model(examples: list[RiskExample]) -> LinearModel:
    return train_sla_risk(examples, version=1, now=NOW)


def open_order(partner: str, *, rate: float | None) -> RiskExample:
    opened = NOW - timedelta(hours=2)
    return RiskExample(partner, "855", "east", opened, opened + timedelta(hours=24), 5, 1500.0, rate)


def test_training_gives_calibrated_probabilities_that_beat_the_base_rate(model: LinearModel) -> None:
    m = model.metrics
    assert m["n_train"] + m["n_calibration"] + m["n_test"] == 1500
    assert m["brier"] < 0.85 * m["brier_of_base_rate"], m
    assert m["auc"] > 0.8 and m["auc_lower"] < m["auc"]
    assert sum(b["count"] for b in m["reliability"]) == m["n_test"] and len(m["reliability"]) == 10
    for b in m["reliability"]:  # calibrated: in each well-filled bin, predicted ≈ observed
        if b["count"] >= 40:
            assert abs(b["mean_predicted"] - b["observed"]) < 0.15, b
    assert model.window[0] >= START and model.window[1] <= NOW and model.trained_at == NOW


def test_the_late_partner_is_riskier_and_the_factors_say_why(model: LinearModel) -> None:
    late = assess(open_order("LATECO", rate=0.7), model, now=NOW)
    steady = assess(open_order("STEADY", rate=0.05), model, now=NOW)
    assert late.probability > 0.5 > 0.15 > steady.probability
    assert late.source == "model" and late.warning is None and late.model_version == 1
    assert 0 < late.confidence <= 1
    names = [name for name, _ in late.top_factors]
    assert names[0] in ("partner=LATECO", "recent_late_rate"), late.top_factors
    assert "partner=LATECO" in names and all(n != "partner=STEADY" for n in names)
    assert late.features["partner=LATECO"] == 1.0 and late.as_dict()["model_version"] == 1


def test_a_partner_unseen_in_training_scores_in_the_other_bucket(model: LinearModel) -> None:
    p = assess(open_order("NEWCO", rate=None), model, now=NOW)
    assert p.source == "model" and 0 < p.probability < 1
    assert "partner=other" in [n for n, _ in model.contributions(p.features)]


def test_json_round_trip_gives_the_same_probabilities(model: LinearModel, examples: list[RiskExample]) -> None:
    text = json.dumps(model.to_json())
    back = LinearModel.from_json(text)
    assert back == model
    prior = model.params["late_rate_prior"]
    for e in examples[:50]:
        f = features(e, prior=prior)
        assert back.probability(f) == model.probability(f)


def test_retraining_increments_the_version_and_predictions_name_it(examples: list[RiskExample]) -> None:
    later = examples + history(300, seed=8, start=START + timedelta(days=120), days=9)
    v1 = train_sla_risk(examples, version=1, now=NOW)
    v2 = train_sla_risk(later, version=v1.version + 1, now=NOW + timedelta(days=10))
    assert (v1.version, v2.version) == (1, 2) and v2.window[1] > v1.window[1]
    assert v2.metrics["n_train"] > v1.metrics["n_train"]
    assert LinearModel.from_json(v2.to_json()).version == 2
    assert assess(open_order("LATECO", rate=0.7), v2, now=NOW).model_version == 2


def test_only_closed_expectations_train(examples: list[RiskExample]) -> None:
    still_open = [replace(e, missed=None) for e in examples[:100]]
    not_due = [replace(e, due_at=NOW + timedelta(days=1)) for e in examples[100:200]]
    model = train_sla_risk([*still_open, *not_due, *examples[200:]], version=1, now=NOW)
    assert model.metrics["n_train"] + model.metrics["n_calibration"] + model.metrics["n_test"] == 1300


@pytest.mark.parametrize(("examples_of", "message"), [
    (lambda ex: ex[:20], "20 labelled examples"),
    (lambda ex: [replace(e, missed=False) for e in ex[:300]], "only negative outcomes"),
    (lambda ex: [replace(e, missed=True) for e in ex[:300]], "only positive outcomes"),
])
def test_refuses_to_train_on_too_little_or_one_sided_history(examples, examples_of, message) -> None:
    with pytest.raises(NotEnoughData, match=message):
        train_sla_risk(examples_of(examples), version=1, now=NOW)


def _corrupt(model: LinearModel, change):
    artifact = model.to_json()
    change(artifact)
    return artifact


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a.pop("coef"), "missing coef"),
    (lambda a: a.update(coef=a["coef"][:-1]), "coef has"),
    (lambda a: a.update(intercept=float("nan")), "intercept"),
    (lambda a: a["means"].__setitem__(0, float("inf")), "means has a value that is not a finite number"),
    (lambda a: a.update(name="churn"), "unknown model name 'churn'"),
    (lambda a: a.update(version=0), "version must be a positive integer"),
    (lambda a: a.update(version=True), "version must be a positive integer"),
    (lambda a: a.update(scales=[0.0] * len(a["scales"])), "scales must be positive"),
    (lambda a: a.update(cal_y=[1.5] * len(a["cal_y"])), "probabilities in \\[0, 1\\]"),
    (lambda a: a.update(cal_x=list(reversed(a["cal_x"]))), "must not decrease"),
    (lambda a: a.update(trained_at="yesterday"), "corrupt"),
    (lambda a: a.update(window=[a["window"][0]]), "window must be"),
    (lambda a: a.update(coef="0.1,0.2"), "corrupt"),
    (lambda a: a["metrics"].pop("auc"), "metrics missing auc"),
    (lambda a: a["feature_stats"].popitem(), "feature_stats"),
    (lambda a: a.update(format=2), "format 2"),
])
def test_from_json_rejects_a_corrupt_artifact(model: LinearModel, change, message) -> None:
    with pytest.raises(ModelError, match=message):
        LinearModel.from_json(_corrupt(model, change))


@pytest.mark.parametrize(("stored", "message"), [
    (None, "no model artifact stored"), ("{not json", "not JSON"), ("[1, 2]", "JSON object"),
    ('{"coef": NaN}', "missing"),
])
def test_from_json_rejects_a_missing_artifact(stored, message) -> None:
    with pytest.raises(ModelError, match=message):
        LinearModel.from_json(stored)


def test_nan_written_into_stored_json_is_refused(model: LinearModel) -> None:
    text = json.dumps(model.to_json()).replace(f'"intercept": {json.dumps(model.intercept)}', '"intercept": NaN')
    with pytest.raises(ModelError, match="intercept nan is not a finite number"):
        LinearModel.from_json(text)


def test_without_a_model_the_rule_estimate_answers_with_a_warning() -> None:
    p = assess(open_order("LATECO", rate=0.7), None, now=NOW)
    assert p.source == "rules" and p.model_version is None and p.confidence == 0.0
    assert p.warning and "no SLA risk model" in p.warning
    assert p.probability == rule_risk(open_order("LATECO", rate=0.7), now=NOW)
    assert [n for n, _ in p.top_factors] == ["recent_late_rate", "sla_elapsed_share"]


def test_a_corrupt_model_falls_back_to_rules_and_never_raises(model: LinearModel, caplog) -> None:
    broken = LinearModel.from_json(model.to_json())
    object.__setattr__(broken, "coef", broken.coef[:3])  # as if memory or storage went bad after loading
    with caplog.at_level(logging.WARNING, logger="pipelines.intelligence.risk"):
        p = assess(open_order("LATECO", rate=0.7), broken, now=NOW)
    assert p.source == "rules" and p.model_version is None
    assert p.warning and p.warning.startswith("sla_risk v1 failed (ValueError") and "rule estimate used" in p.warning
    assert "sla_risk v1 failed" in caplog.text


def test_a_model_of_another_kind_is_not_used(model: LinearModel) -> None:
    other = LinearModel.from_json({**model.to_json(), "name": "priority"})
    p = assess(open_order("LATECO", rate=0.7), other, now=NOW)
    assert p.source == "rules" and p.warning == "priority v1 is not an SLA risk model: rule estimate used"


def test_rule_risk_starts_at_the_late_rate_and_rises_to_certainty_at_the_deadline() -> None:
    e = open_order("ACME", rate=0.2)
    at = [rule_risk(e, now=e.opened_at + timedelta(hours=h)) for h in (-1, 0, 6, 12, 18, 24, 30)]
    assert at[0] == at[1] == 0.2 and at[3] == 0.4 and at[-2] == at[-1] == 1.0
    assert at == sorted(at)
    assert rule_risk(open_order("ACME", rate=None), now=NOW - timedelta(hours=2)) == 0.1


def test_a_case_is_raised_only_before_the_deadline() -> None:
    e = open_order("LATECO", rate=0.9)
    before = assess(e, None, now=e.due_at - timedelta(hours=1))
    assert should_raise_case(before, now=e.due_at - timedelta(hours=1), due_at=e.due_at)
    assert not should_raise_case(before, threshold=0.999, now=e.due_at - timedelta(hours=1), due_at=e.due_at)
    after = assess(e, None, now=e.due_at + timedelta(hours=1))
    assert after.probability == 1.0
    assert not should_raise_case(after, now=e.due_at + timedelta(hours=1), due_at=e.due_at)
    assert not should_raise_case(after, now=e.due_at, due_at=e.due_at)


def test_recent_late_rate_counts_the_partners_closed_documents_in_the_window() -> None:
    t = NOW
    rows = [("ACME", "855", t - timedelta(days=1), True), ("ACME", "856", t - timedelta(days=3), False),
            ("ACME", "855", t - timedelta(days=40), True), ("ACME", "855", t - timedelta(hours=1), None),
            ("ACME", "855", t + timedelta(hours=1), True), ("OTHER", "855", t - timedelta(days=1), True)]
    assert recent_late_rate(rows, "ACME", t) == 0.5
    assert recent_late_rate(rows, "ACME", t, document_type="855") == 1.0
    assert recent_late_rate(rows, "ACME", t, days=60) == round(2 / 3, 4)
    assert recent_late_rate(rows, "NOBODY", t) is None


def test_drift_flags_a_shifted_population_and_not_an_unshifted_one(model: LinearModel) -> None:
    prior = model.params["late_rate_prior"]
    same = [features(e, prior=prior) for e in history(400, seed=99)]
    shifted = [features(e, prior=prior) for e in history(400, seed=99, mix={"LATECO": 0.9, "STEADY": 0.1},
                                                          value_scale=20.0)]
    calm, moved = model.drift(same), model.drift(shifted)
    assert not calm["drifted"] and calm["psi"] < 0.1 and calm["shifted"] == [], calm
    assert moved["drifted"] and moved["psi"] > 0.25
    assert {"partner=LATECO", "log_order_value"} <= set(moved["shifted"])
    assert model.drift([])["drifted"] is False
    card = model.card(shifted)
    assert card["version"] == 1 and card["drift"]["drifted"] and card["metrics"]["auc"] == model.metrics["auc"]
    assert card["window"]["start"] == model.window[0].isoformat() and len(card["top_weights"]) == 10
    json.dumps(card)  # plain JSON for the model card endpoint
