"""The seeded traffic simulator and the benchmark's scoring, on small runs."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import intel_sim
import pytest
from bench_intelligence import evaluate_anomalies, run_detectors
from intel_sim import KINDS, InjectedProblem, PartnerProfile, Simulation, simulate

from pipelines.intelligence.anomaly import FlowPoint


def test_same_seed_same_simulation_and_every_kind_labelled() -> None:
    a, b = simulate(3, weeks=6, partners=6), simulate(3, weeks=6, partners=6)
    assert a == b
    assert a != simulate(4, weeks=6, partners=6)
    assert {p.kind for p in a.problems} == set(KINDS)
    assert all(a.start + timedelta(weeks=3) < p.start < p.end <= a.end for p in a.problems)
    assert a.points and a.lateness and a.attempts and a.orders
    assert {p.role for p in a.partners} == {"customer", "supplier"}


def test_no_problems_no_precision_and_no_recall() -> None:
    sim = replace(simulate(5, weeks=6, partners=4), problems=())
    report = evaluate_anomalies(sim, [])
    assert (report["cases"], report["precision"], report["recall"], report["problems"]) == (0, None, None, 0)


def steady(weeks: int) -> list[FlowPoint]:
    sim = simulate(1, weeks=4, partners=2)
    start = sim.start
    return [FlowPoint("ACME", "850", start + timedelta(hours=h), 20)
            for h in range(weeks * 168) if (h // 24) % 7 < 5 and 8 <= h % 24 < 17]


def test_an_obvious_outage_is_found_and_scored() -> None:
    weeks = 5
    points = steady(weeks)
    start = points[0].hour.replace(hour=0)
    down_from, down_to = start + timedelta(weeks=4, hours=10), start + timedelta(weeks=4, hours=20)
    outage = InjectedProblem("outage", "ACME", "*", down_from, down_to, affected=140.0)
    partner = PartnerProfile("ACME", "customer", "big", 180.0, 0, 0.0, 300.0, 0.0, 0.0)
    sim = Simulation(1, start, weeks, (partner,), tuple(p for p in points if not down_from <= p.hour < down_to),
                     (), (), (outage,), ())
    cases = run_detectors(sim)
    report = evaluate_anomalies(sim, cases)
    assert report["recall"] == 1.0 and report["precision"] == 1.0, report
    assert report["per_kind"]["outage"]["ttd_median_hours"] <= 3
    assert cases[0].detection.evidence["direction"] in ("drop", "missing")


def test_partners_resend_now_and_then_and_a_storm_is_resends() -> None:
    sim = simulate(1, weeks=16, partners=12)
    storms = [p for p in sim.problems if p.kind == "duplicate_storm"]
    inside = [x for x in sim.points for p in storms
              if (x.partner, x.document_type) == (p.partner, p.document_type) and p.start <= x.hour < p.end]
    outside = [x for x in sim.points if all(not (x.partner == p.partner and p.start <= x.hour < p.end + timedelta(days=1))
                                            for p in storms)]
    resent, received = sum(x.duplicates for x in outside), sum(x.received + x.duplicates for x in outside)
    assert 0.002 < resent / received < 0.03  # ordinary days: a share, and small bursts
    assert max(x.duplicates for x in outside) <= 10  # a burst of at most 5 and the usual share
    assert sum(x.duplicates for x in inside) > sum(p.affected for p in storms) * 0.8


def test_the_hubs_sends_follow_the_traffic_and_fail_in_half_the_outages() -> None:
    sim = simulate(1, weeks=16, partners=12)
    outages = [p for p in sim.problems if p.kind == "outage"]
    assert set(sim.systems_down) <= set(outages) and 0 < len(sim.systems_down) < len(outages)
    down = [x for x in sim.sends for p in sim.systems_down if x.partner == p.partner and p.start <= x.hour < p.end]
    assert down and all(x.failed == x.sent for x in down)  # the whole system down: every send fails
    elsewhere = [x for x in sim.sends if all(not (x.partner == p.partner and p.start <= x.hour < p.end)
                                             for p in sim.systems_down)]
    failed, sent = sum(x.failed for x in elsewhere), sum(x.sent for x in elsewhere)
    assert 0.001 < failed / sent < 0.02  # a small rate, and the odd blip
    # to a customer: about an 855, an 856 and an 810 per order, and a 997 per hour with orders
    for prof in (p for p in sim.partners if p.role == "customer"):
        orders = sum(x.received for x in sim.points if x.partner == prof.id)
        out = sum(x.sent for x in sim.sends if x.partner == prof.id)
        assert 3.0 * orders < out < 4.1 * orders, prof.id


def test_the_hubs_sends_leave_the_rest_of_the_simulation_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = simulate(2, weeks=6, partners=6)
    assert sim.sends
    # traffic, problems, lateness, carriers and orders are drawn as without the sends
    monkeypatch.setattr(intel_sim, "_sends", lambda *args: ([], []))
    assert replace(sim, sends=(), systems_down=()) == simulate(2, weeks=6, partners=6)
