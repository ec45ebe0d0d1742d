"""Exception intelligence benchmark: flow anomaly detection over simulated months.

Simulates seeded partner traffic with labelled problems (``intel_sim.simulate``), then runs
the detectors of ``pipelines.intelligence.anomaly`` as the hub does: every hour the flow
checks and the failing-lane check, every ``--drift-every`` hours the lateness drift check,
opening one case per ``alert_key``. Each case is matched to an injected problem of the same
partner (and document type, or lane) whose kind the case's metric can reveal, raised between
the problem's start and its end plus a grace period. Reports precision, recall and
time-to-detect per kind and overall, runtime and peak memory, as one JSON document.

Reproduce:
    .venv/bin/python benchmarks/bench_intelligence.py --seeds 1 2 3 --weeks 16 --partners 12
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import sys
import time
import tracemalloc
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intel_sim import FLOW_KINDS, KINDS, InjectedProblem, Simulation, simulate

from pipelines.exceptions.model import Detection
from pipelines.intelligence.anomaly import (
    AnomalyConfig,
    FlowHistory,
    LaneHistory,
    SendHistory,
    detect_failing_lanes,
    detect_failing_sends,
    detect_flow_anomalies,
    detect_late_drift,
)

# which problems a case can reveal, by its metric and direction
REVEALS: dict[tuple[str, str], tuple[str, ...]] = {
    ("volume", "drop"): ("outage", "volume_drop"),
    ("volume", "missing"): ("outage", "volume_drop"),
    ("volume", "spike"): ("duplicate_storm", "outage"),  # an outage's backlog arriving at once
    ("error_rate", "spike"): ("error_spike",),
    ("dead_letter_rate", "spike"): ("error_spike",),
    ("ack_latency", "spike"): ("ack_delay",),
    ("lateness_hours", "late_drift"): ("late_supplier",),
    ("failure_rate", "failing"): ("carrier_failing",),
    # the hub's sends to a partner failing: its whole system down (document type "sends", so
    # it matches only a problem of every document type of the partner, as an outage is)
    ("send_failure_rate", "failing"): ("outage",),
}
HISTORY_WEEKS = 3  # the detectors say nothing before three weeks of history
# a problem that changes fewer documents (or carrier calls) than this is reported apart: a
# 4-hour outage of a partner that sends 8 orders a day removes about one order
DETECTABLE = 10.0


@dataclass(frozen=True, slots=True)
class Case:
    """A case the hub would open: the first detection of its ``alert_key``."""

    at: datetime
    detection: Detection

    @property
    def family(self) -> tuple[str, str]:
        metric = str(self.detection.evidence["metric"])
        return ("volume" if metric.startswith("volume") else metric, str(self.detection.evidence["direction"]))

    @property
    def document_type(self) -> str:
        return str(self.detection.evidence["alert_key"]).split("|")[1]


GRACE = timedelta(hours=6)


def run_detectors(sim: Simulation, config: AnomalyConfig = AnomalyConfig(), *,
                  drift_every: int = 6, with_sends: bool = True) -> list[Case]:
    """Step ``now`` hour by hour over the simulation as the hub's scheduler would."""
    history = FlowHistory(sim.points)
    lateness = sorted(sim.lateness, key=lambda o: o.at)
    late_at = [o.at for o in lateness]
    lanes = LaneHistory(sim.attempts)
    sends = SendHistory(sim.sends if with_sends else ())
    late_span = timedelta(days=config.lateness_recent_days + config.lateness_baseline_days)
    seen: set[str] = set()
    cases = []
    now = sim.start + timedelta(weeks=HISTORY_WEEKS, hours=1)
    step = 0
    while now <= sim.end:
        found = detect_flow_anomalies(history, now=now, config=config)
        found += detect_failing_lanes(lanes, now=now, config=config)
        found += detect_failing_sends(sends, now=now, config=config)
        if step % drift_every == 0:
            a = bisect_left(late_at, now - late_span)
            found += detect_late_drift(lateness[a:bisect_left(late_at, now)], now=now, config=config)
        for d in found:
            key = str(d.evidence["alert_key"])
            if key not in seen:
                seen.add(key)
                cases.append(Case(now, d))
        now += timedelta(hours=1)
        step += 1
    return cases


def matches(case: Case, problem: InjectedProblem) -> bool:
    """Same partner (and document type, or lane), a metric that can reveal the problem, raised
    after the problem began, over a window that overlaps it or the ``GRACE`` hours after it."""
    if problem.kind not in REVEALS.get(case.family, ()):
        return False
    window_start = datetime.fromisoformat(case.detection.evidence["window"]["start"])
    if not (problem.start < case.at and window_start < problem.end + GRACE):
        return False
    d = case.detection
    if problem.kind == "carrier_failing":
        return d.partner == problem.partner and d.evidence.get("lane") == problem.lane
    return d.partner == problem.partner and problem.document_type in (case.document_type, "*")


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


@dataclass
class Tally:
    problems: int = 0
    detected: int = 0
    ttd_hours: list[float] = field(default_factory=list)


def evaluate_anomalies(sim: Simulation, cases: Sequence[Case],
                       config: AnomalyConfig = AnomalyConfig()) -> dict[str, Any]:
    """Precision (over cases), recall (over the flow problems) and time-to-detect."""
    problems = [p for p in sim.problems if p.kind in FLOW_KINDS]
    true_by_family: Counter[str] = Counter()
    all_by_family: Counter[str] = Counter()
    false_cases = []
    for c in cases:
        name = "/".join(c.family)
        all_by_family[name] += 1
        if any(matches(c, p) for p in problems):
            true_by_family[name] += 1
        else:
            false_cases.append(c)
    tallies = {k: Tally() for k in FLOW_KINDS}
    missed = []
    for p in problems:
        tally = tallies[p.kind]
        tally.problems += 1
        first = next((c for c in cases if matches(c, p)), None)
        if first is None:
            missed.append(p)
            continue
        tally.detected += 1
        tally.ttd_hours.append((first.at - p.start) / timedelta(hours=1))
    per_kind = {k: _rates(t) for k, t in tallies.items() if t.problems}
    # outages whose sends all failed (the simulator's choice, not a label): found at all, and
    # found only by the check of the hub's sends
    down = [p for p in problems if p in sim.systems_down]
    sends = ("send_failure_rate", "failing")
    by_sends = [p for p in down if p not in missed and all(c.family == sends for c in cases if matches(c, p))]
    # hours to the first case of any check, and of any check but the sends' (None: none)
    ttd = [[(c.at - p.start) / timedelta(hours=1) for c in cases if matches(c, p) and (c.family != sends or every)]
           for p in down for every in (True, False)]
    ttd_down = [min(hours, default=None) for hours in ttd]
    big = [p for p in problems if p.affected >= DETECTABLE]
    big_hit = [p for p in big if p not in missed]
    total = Tally(sum(t.problems for t in tallies.values()), sum(t.detected for t in tallies.values()),
                  [h for t in tallies.values() for h in t.ttd_hours])
    true = sum(true_by_family.values())
    flows = len({(p.partner, p.document_type) for p in sim.points})
    return {
        "cases": len(cases), "true_cases": true,
        "precision": round(true / len(cases), 3) if cases else None,
        **{k: v for k, v in _rates(total).items() if k != "problems"}, "problems": total.problems,
        "recall_detectable": round(len(big_hit) / len(big), 3) if big else None,
        "detectable_problems": len(big), "detectable_detected": len(big_hit),
        "false_cases_per_flow_week": round(len(false_cases) / (flows * (sim.weeks - HISTORY_WEEKS)), 4),
        "per_kind": per_kind,
        "outages_system_down": {"problems": len(down), "detected": sum(p not in missed for p in down),
                                "detected_only_by_sends": len(by_sends),
                                "ttd_hours": ttd_down[0::2], "ttd_hours_other_checks": ttd_down[1::2]},
        "precision_per_alert": {k: {"cases": n, "true": true_by_family[k],
                                    "precision": round(true_by_family[k] / n, 3)}
                                for k, n in sorted(all_by_family.items())},
        "not_counted": sorted({p.kind for p in sim.problems} - set(FLOW_KINDS)),
        "missed": [f"{p.kind} {p.partner} {p.document_type}{' ' + p.lane if p.lane else ''} "
                   f"{p.start:%Y-%m-%d %H}:00 +{(p.end - p.start) / timedelta(hours=1):.0f} h "
                   f"(magnitude {p.magnitude}, affects {p.affected})" for p in missed],
        "false_alerts": [f"{c.at:%Y-%m-%d %H}:00 {c.detection.message}" for c in false_cases],
    }


def _rates(t: Tally) -> dict[str, Any]:
    return {"problems": t.problems, "detected": t.detected,
            "recall": round(t.detected / t.problems, 3) if t.problems else None,
            "ttd_median_hours": _quantile(t.ttd_hours, 0.5), "ttd_p90_hours": _quantile(t.ttd_hours, 0.9)}


def recent_late_rates(sim: Simulation, days: int = 30) -> dict[tuple[str, date], float | None]:
    """Each supplier's share of late orders among those opened in the ``days`` before each
    day whose outcome was known by the start of that day (on time once the ship notice
    arrived, late once the due time passed): what the hub knows when an order opens."""
    out: dict[tuple[str, date], float | None] = {}
    by_partner: dict[str, list[tuple[datetime, datetime, bool]]] = {}
    for o in sim.orders:
        missed = sim.order_missed(o)
        if missed is None:
            continue
        known = o.due_at if missed else o.done_at
        assert known is not None
        by_partner.setdefault(o.partner, []).append((o.opened_at, known, missed))
    for partner, rows in by_partner.items():
        day = sim.start
        while day < sim.end:
            seen = [m for opened, known, m in rows
                    if day - timedelta(days=days) <= opened < day and known <= day]
            out[(partner, day.date())] = round(sum(seen) / len(seen), 4) if seen else None
            day += timedelta(days=1)
    return out


def evaluate_sla_risk(sim: Simulation, *, test_weeks: int = 4) -> dict[str, Any]:
    """Train ``sla_risk`` on the orders due before the last ``test_weeks`` weeks, predict at
    opening the orders opened in those weeks whose outcome is known; Brier score (against
    always predicting the training late share, and against ``rule_risk`` at opening),
    reliability in 10 bins and AUC."""
    try:
        from pipelines.intelligence.risk import RiskExample, assess, rule_risk, train_sla_risk
    except ImportError:
        return {"status": "not available"}
    rates = recent_late_rates(sim)
    cutoff = sim.end - timedelta(weeks=test_weeks)
    examples = [RiskExample(o.partner, "856", o.lane, o.opened_at, o.due_at, o.line_count, o.order_value,
                            rates.get((o.partner, o.opened_at.date())), sim.order_missed(o))
                for o in sim.orders]
    # training sees only what was known at the cutoff
    train = [replace(e, missed=e.missed if e.due_at <= cutoff else None) for e in examples if e.opened_at < cutoff]
    test = [e for e in examples if e.opened_at >= cutoff and e.missed is not None]
    t0 = time.process_time()
    model = train_sla_risk(train, version=1, now=cutoff)
    fit_seconds = time.process_time() - t0
    predicted = [assess(e, model, now=e.opened_at).probability for e in test]
    actual = [1.0 if e.missed else 0.0 for e in test]
    closed = [e for e in train if e.missed is not None]
    base_rate = sum(bool(e.missed) for e in closed) / len(closed)
    rule = [rule_risk(e, now=e.opened_at) for e in test]
    return {
        "train_orders": len(closed), "test_orders": len(test), "test_late_share": round(sum(actual) / len(actual), 3),
        "brier": _brier(predicted, actual), "brier_base_rate": _brier([base_rate] * len(actual), actual),
        "brier_rule_risk": _brier(rule, actual), "auc": _auc(predicted, actual),
        "auc_rule_risk": _auc(rule, actual), "reliability": _reliability(predicted, actual),
        "fit_seconds": round(fit_seconds, 2),
    }


def _brier(predicted: Sequence[float], actual: Sequence[float]) -> float:
    return round(sum((p - a) ** 2 for p, a in zip(predicted, actual, strict=True)) / len(actual), 4)


def _auc(predicted: Sequence[float], actual: Sequence[float]) -> float | None:
    """Probability that a late order scores above an on-time one (ties count half)."""
    ranked = sorted(zip(predicted, actual, strict=True))
    positives = sum(actual)
    negatives = len(actual) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(a for _, a in ranked[i:j]) * (i + j + 1) / 2
        i = j
    return round((rank_sum - positives * (positives + 1) / 2) / (positives * negatives), 4)


def _reliability(predicted: Sequence[float], actual: Sequence[float], bins: int = 10) -> list[dict[str, Any]]:
    rows = []
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        inside = [(p, a) for p, a in zip(predicted, actual, strict=True)
                  if lo <= p < hi or (k == bins - 1 and p == 1.0)]
        if inside:
            rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(inside),
                         "mean_predicted": round(sum(p for p, _ in inside) / len(inside), 3),
                         "observed": round(sum(a for _, a in inside) / len(inside), 3)})
    return rows


def evaluate_agents(sim: Simulation, *, cases: int = 5000) -> dict[str, Any]:
    """Share of routine cases the agents resolve correctly and wrongly under a set of policies,
    and how many actions a policy forbids were executed (must be zero): see
    ``benchmarks/intel_agents_eval.py``, seeded with the simulation's seed."""
    from intel_agents_eval import evaluate

    out = evaluate(cases, sim.seed)
    return {k: v for k, v in out.items() if k != "policies"}


def bench_seed(seed: int, weeks: int, partners: int, config: AnomalyConfig, drift_every: int,
               with_sends: bool = True) -> dict[str, Any]:
    t0 = time.process_time()
    sim = simulate(seed, weeks=weeks, partners=partners)
    t1 = time.process_time()
    cases = run_detectors(sim, config, drift_every=drift_every, with_sends=with_sends)
    t2 = time.process_time()
    return {"seed": seed, "simulate_seconds": round(t1 - t0, 2), "detect_seconds": round(t2 - t1, 2),
            "points": len(sim.points), "lateness_observations": len(sim.lateness),
            "carrier_attempts": len(sim.attempts), "orders": len(sim.orders), "send_points": len(sim.sends),
            "problems": dict(Counter(p.kind for p in sim.problems)),
            "anomalies": evaluate_anomalies(sim, cases, config),
            "sla_risk": evaluate_sla_risk(sim), "agents": evaluate_agents(sim)}


def overall(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pooled over seeds: every case and every problem counts once."""
    cases = sum(r["anomalies"]["cases"] for r in runs)
    true = sum(r["anomalies"]["true_cases"] for r in runs)
    problems = sum(r["anomalies"]["problems"] for r in runs)
    detected = sum(r["anomalies"]["detected"] for r in runs)
    big = sum(r["anomalies"]["detectable_problems"] for r in runs)
    big_hit = sum(r["anomalies"]["detectable_detected"] for r in runs)
    per_kind = {}
    for kind in FLOW_KINDS:
        rows = [r["anomalies"]["per_kind"][kind] for r in runs if kind in r["anomalies"]["per_kind"]]
        n, hit = sum(x["problems"] for x in rows), sum(x["detected"] for x in rows)
        if n:
            per_kind[kind] = {"problems": n, "detected": hit, "recall": round(hit / n, 3)}
    return {"precision": round(true / cases, 3) if cases else None,
            "recall": round(detected / problems, 3) if problems else None,
            "recall_detectable": round(big_hit / big, 3) if big else None,
            "cases": cases, "problems": problems, "detectable_problems": big,
            "per_kind_recall": per_kind,
            "outages_system_down": {k: sum(r["anomalies"]["outages_system_down"][k] for r in runs)
                                    for k in ("problems", "detected", "detected_only_by_sends")}
            | {k: [h for r in runs for h in r["anomalies"]["outages_system_down"][k]]
               for k in ("ttd_hours", "ttd_hours_other_checks")},
            "min_precision_over_seeds": min((r["anomalies"]["precision"] or 0) for r in runs),
            "min_recall_over_seeds": min((r["anomalies"]["recall"] or 0) for r in runs)}


def with_settings(config: AnomalyConfig, settings: Sequence[str]) -> AnomalyConfig:
    """``config`` with each ``NAME=VALUE`` of ``settings`` (a Python literal) replaced."""
    changes: dict[str, Any] = {}
    for item in settings:
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in AnomalyConfig.__dataclass_fields__:
            raise SystemExit(f"--set {item}: AnomalyConfig has no setting {name!r}")
        changes[name] = ast.literal_eval(value.strip())
    return replace(config, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--weeks", type=int, default=16)
    parser.add_argument("--partners", type=int, default=12)
    parser.add_argument("--drift-every", type=int, default=6, help="hours between lateness drift checks")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also the tracemalloc peak (about 3x slower); ru_maxrss is always reported")
    parser.add_argument("--details", action="store_true", help="list missed problems and false cases")
    parser.add_argument("--without-sends", action="store_true",
                        help="leave out the check of the hub's sends (the detectors as before it)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an AnomalyConfig threshold other than its default, e.g. --set z_threshold=3.0 "
                             "(a Python literal; repeatable)")
    args = parser.parse_args()
    config = with_settings(AnomalyConfig(), args.set)
    if args.tracemalloc:
        tracemalloc.start()
    started, load_at_start = time.perf_counter(), os.getloadavg()
    runs = [bench_seed(s, args.weeks, args.partners, config, args.drift_every, not args.without_sends)
            for s in args.seeds]
    result: dict[str, Any] = {
        "command": f".venv/bin/python benchmarks/bench_intelligence.py --seeds {' '.join(map(str, args.seeds))} "
                   f"--weeks {args.weeks} --partners {args.partners} --drift-every {args.drift_every}"
                   + (" --tracemalloc" if args.tracemalloc else "") + (" --without-sends" if args.without_sends else "")
                   + "".join(f" --set {item}" for item in args.set),
        "python": sys.version.split()[0], "cpus": os.cpu_count(), "loadavg_at_start": load_at_start,
        "kinds": list(KINDS), "counted_for_anomaly_recall": list(FLOW_KINDS),
        "overall": overall(runs),
        "runs": runs,
    }
    if not args.details:
        for r in runs:
            for k in ("missed", "false_alerts"):
                r["anomalies"][k] = len(r["anomalies"][k])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["cpu_seconds"] = round(time.process_time(), 1)
    if args.tracemalloc:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    result["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
