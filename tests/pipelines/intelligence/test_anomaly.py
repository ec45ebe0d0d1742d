"""Flow anomaly detectors on golden scenarios: each fires with a message that names what is
unusual against what baseline, and ordinary traffic does not fire."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from pipelines.exceptions.taxonomy import Severity
from pipelines.intelligence.anomaly import (
    AnomalyConfig,
    CarrierAttempt,
    FlowHistory,
    FlowPoint,
    LatenessObservation,
    detect_failing_lanes,
    detect_flow_anomalies,
    detect_late_drift,
    robust_baseline,
)

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # "today" in every scenario
H = timedelta(hours=1)
Rate = Callable[[datetime], float]


def business(peak: float) -> Rate:
    """``peak`` documents an hour 08:00–17:00 on weekdays, nothing at night or at weekends."""
    return lambda at: peak if at.weekday() < 5 and 8 <= at.hour < 17 else 0.0


def flow(rate: Rate, *, weeks: int = 6, until: datetime = MONDAY, partner: str = "ACME", doc: str = "850",
         seed: int = 1, errors: float = 0.0, latency: float | None = None) -> list[FlowPoint]:
    """Poisson traffic from ``weeks`` weeks before ``until`` up to it (hours with no documents
    have no row)."""
    rng = np.random.default_rng(seed)
    out, at = [], until - timedelta(weeks=weeks)
    while at < until:
        n = int(rng.poisson(rate(at)))
        if n:
            lat = None if latency is None else float(latency * np.exp(rng.normal(0, 0.2)))
            out.append(FlowPoint(partner, doc, at, n, int(rng.binomial(n, errors)), 0, lat))
        at += H
    return out


def today(points: list[FlowPoint], hours: range, received: int) -> list[FlowPoint]:
    return points + [FlowPoint(points[0].partner, points[0].document_type, MONDAY + h * H, received)
                     for h in hours]


def only(found: list, metric: str) -> dict:  # type: ignore[type-arg]
    assert [d.evidence["metric"] for d in found] == [metric], [d.message for d in found]
    return dict(found[0].evidence)


# --- the day so far: "ACME sent 3 orders by 11:00; a normal Monday has 182 ± 14" ------------

def mondays(totals: list[int]) -> list[FlowPoint]:
    """Earlier Mondays whose orders arrive 08:00–11:00, ``totals[k]`` each, oldest first (the
    oldest only starts the history: a baseline week must lie wholly after the first row)."""
    out = []
    for k, total in enumerate(totals):
        day = MONDAY - timedelta(weeks=len(totals) - k)
        out += [FlowPoint("ACME", "850", day + h * H, n)
                for h, n in zip((8, 9, 10), (total - 120, 60, 60), strict=True)]
    return out


NORMAL_MONDAYS = [170, 160, 180, 200, 175, 185, 190]


def test_day_so_far_drop_names_the_weekday_hour_and_baseline() -> None:
    points = mondays(NORMAL_MONDAYS) + [FlowPoint("ACME", "850", MONDAY + 9 * H, 3)]
    found = detect_flow_anomalies(points, now=MONDAY + 11 * H + timedelta(minutes=20))
    ev = only(found, "volume_day")
    assert found[0].message == "850 from ACME: ACME sent 3 orders by 11:00; a normal Monday has 182 ± 14"
    assert found[0].code == "flow_anomaly" and found[0].partner == "ACME"
    assert found[0].recommended_action == "investigate_flow"
    assert (ev["direction"], ev["observed"], ev["baseline_median"], ev["spread"]) == ("drop", 3, 182.5, 13.5093)
    assert ev["robust_z"] < -10 and ev["weeks"] == 6
    assert ev["window"] == {"start": "2026-03-02T00:00:00+00:00", "end": "2026-03-02T11:00:00+00:00"}
    assert ev["alert_key"] == "ACME|850|volume|drop|2026-03-02"
    json.dumps(found[0].as_dict())  # JSON-safe for the case


def test_missing_traffic_is_an_anomaly_and_more_severe() -> None:
    found = detect_flow_anomalies(mondays(NORMAL_MONDAYS), now=MONDAY + 11 * H)
    ev = only(found, "volume_day")
    assert found[0].message.endswith("ACME sent no orders by 11:00; a normal Monday has 182 ± 14")
    assert ev["direction"] == "missing"
    assert ev["alert_key"] == "ACME|850|volume|drop|2026-03-02"  # one case whether it began as a drop or not
    assert found[0].severity.rank > Severity.MEDIUM.rank


def test_an_outage_in_the_afternoon_is_seen_in_the_trailing_window() -> None:
    points = [p for p in flow(business(30), until=MONDAY + 17 * H) if p.hour < MONDAY + 13 * H]
    found = detect_flow_anomalies(points, now=MONDAY + 16 * H)
    assert found and found[0].evidence["direction"] == "missing"
    assert "ACME sent no orders between 13:00 and 16:00; a normal Monday has" in found[0].message


def test_volume_drop_of_most_traffic() -> None:
    points = flow(business(30), until=MONDAY + 8 * H) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 6) for h in range(8, 14)]
    found = detect_flow_anomalies(points, now=MONDAY + 14 * H)
    assert found and found[0].evidence["direction"] == "drop"
    assert found[0].evidence["observed"] < 0.5 * found[0].evidence["baseline_median"]


# --- spikes, rates, latency ---------------------------------------------------------------

def test_duplicate_storm_is_a_spike_against_the_hour_of_week() -> None:
    points = today(flow(business(20), until=MONDAY), range(8, 9), 20) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 65) for h in (9, 10, 11)]
    ev = only(detect_flow_anomalies(points, now=MONDAY + 12 * H), "volume_window")
    assert ev["direction"] == "spike" and ev["observed"] == 195 and ev["window_hours"] == 3
    found = detect_flow_anomalies(points, now=MONDAY + 12 * H)[0]
    assert found.message.startswith("850 from ACME: ACME sent 195 orders between 09:00 and 12:00; "
                                    "a normal Monday has 60 ± ")
    assert found.message.endswith("(3.2×)")


def test_error_spike() -> None:
    points = flow(business(20), until=MONDAY, errors=0.01) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 20, errors=10) for h in (8, 9, 10)]
    found = detect_flow_anomalies(points, now=MONDAY + 11 * H)
    assert {d.evidence["metric"] for d in found} == {"error_rate"}
    assert "50% of ACME's orders failed between 08:00 and 11:00 (30 of 60); normally 1% ± " in found[0].message
    assert found[0].evidence["alert_key"] == "ACME|850|error_rate|spike|2026-03-02"


def test_dead_letter_spike() -> None:
    points = flow(business(20), until=MONDAY) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 20, errors=8, dead_letters=8) for h in (8, 9, 10)]
    metrics = {d.evidence["metric"] for d in detect_flow_anomalies(points, now=MONDAY + 11 * H)}
    assert metrics == {"error_rate", "dead_letter_rate"}


def test_ack_latency_rise() -> None:
    points = flow(business(20), until=MONDAY, latency=300) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 20, ack_latency_seconds=2400) for h in range(8, 12)]
    ev = only(detect_flow_anomalies(points, now=MONDAY + 12 * H), "ack_latency")
    assert ev["direction"] == "spike" and ev["ratio"] > 6 and ev["hours_with_acks"] == 4
    msg = detect_flow_anomalies(points, now=MONDAY + 12 * H)[0].message
    assert "acknowledgments of ACME's orders took a median 40 min between 06:00 and 12:00" in msg
    assert "a normal Monday at these hours 5 min ± " in msg


# --- must not fire ------------------------------------------------------------------------

@pytest.mark.parametrize(("peak", "seed"), [(25.0, 1), (25.0, 2), (2.0, 3), (2.0, 4), (0.5, 5)])
def test_ordinary_weeks_with_poisson_noise_do_not_fire(peak: float, seed: int) -> None:
    """Weekly seasonality, silent nights and weekends, big and small flows: a whole week of
    hourly passes stays quiet."""
    week_end = MONDAY + timedelta(weeks=1)
    points = flow(business(peak), weeks=7, until=week_end, seed=seed, errors=0.01, latency=300)
    history = FlowHistory(points)
    found = [d for h in range(0, 168) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_two_weeks_of_history_say_nothing() -> None:
    points = flow(business(30), weeks=2, until=MONDAY)  # and then nothing today
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H) == []


def test_a_holiday_is_no_drop_and_no_baseline() -> None:
    points = flow(business(30), until=MONDAY)  # nothing at all on the Monday
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H)  # may fire without a calendar
    quiet = AnomalyConfig(holidays=frozenset({date(2026, 3, 2)}))
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H, config=quiet) == []


def test_a_batch_an_hour_late_is_not_an_anomaly() -> None:
    """Invoices come in one evening batch (18:00 and 19:00); today it runs at 19:00 and 20:00."""
    def batch(at: datetime) -> float:
        return {18: 140.0, 19: 60.0}.get(at.hour, 0.0) if at.weekday() < 5 else 0.0
    points = flow(batch, until=MONDAY, doc="810") + [
        FlowPoint("ACME", "810", MONDAY + 19 * H, 140), FlowPoint("ACME", "810", MONDAY + 20 * H, 60)]
    history = FlowHistory(points)
    found = [d for h in range(17, 24) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


# --- lateness drift and failing lanes -------------------------------------------------------

def lateness(recent_hours: float, *, late_share: float = 1.0) -> list[LatenessObservation]:
    rng = np.random.default_rng(7)
    out = [LatenessObservation("SUPCO", MONDAY - timedelta(days=45) + i * 6 * H, float(rng.normal(1, 3)))
           for i in range(4 * 42)]
    for i in range(12):  # two a day over the last 3 days... and then some
        late = recent_hours if i < late_share * 12 else float(rng.normal(1, 3))
        out.append(LatenessObservation("SUPCO", MONDAY - timedelta(days=3) + i * 6 * H, late))
    return out


def test_ship_notices_drifting_late() -> None:
    found = detect_late_drift(lateness(30.0), now=MONDAY)
    ev = only(found, "lateness_hours")
    assert ev["direction"] == "late_drift" and ev["recent_observations"] == 12
    assert found[0].message.startswith("856 from SUPCO: SUPCO's ship notices arrived a median 30.0 h late "
                                       "over the last 3 days (12 ship notices); before that ")
    assert ev["alert_key"] == "SUPCO|856|lateness_hours|late_drift|2026-03-02"


def test_a_few_late_notices_are_no_drift() -> None:
    assert detect_late_drift(lateness(40.0, late_share=0.25), now=MONDAY) == []


def attempts(failures_per_hour: dict[int, int]) -> list[CarrierAttempt]:
    """10 calls an hour on CHI-NYC over 14 days, one failure a day; then ``failures_per_hour``
    among the 10 calls of the given hours before ``MONDAY``."""
    out = []
    for h in range(14 * 24):
        at = MONDAY - timedelta(days=14) + h * H
        back = 14 * 24 - h
        failed = failures_per_hour.get(back, 1 if h % 24 == 12 else 0)
        out += [CarrierAttempt("CHI-NYC", "UPSN", at + timedelta(minutes=5 * i), i >= failed) for i in range(10)]
    return out


def test_a_lane_whose_carrier_keeps_failing() -> None:
    found = detect_failing_lanes(attempts({1: 7, 2: 6, 3: 6}), now=MONDAY)
    ev = only(found, "failure_rate")
    assert found[0].message == ("lane CHI-NYC via UPSN: UPSN failed 19 of 30 attempts on lane CHI-NYC in the "
                                "last 3 h (63%); normally 0% ± 1%")
    assert (ev["direction"], found[0].partner, ev["lane"]) == ("failing", "UPSN", "CHI-NYC")
    assert found[0].severity.rank > Severity.MEDIUM.rank


def test_one_bad_hour_is_a_blip() -> None:
    assert detect_failing_lanes(attempts({2: 8}), now=MONDAY) == []


def test_robust_baseline_floors_the_spread() -> None:
    assert robust_baseline([2, 2, 2, 2]).spread == pytest.approx(1.4142, abs=1e-4)  # √median, not 0
    assert robust_baseline([0, 0, 0]).spread == 1
    assert robust_baseline([0.01, 0.01, 0.01], counts=False, floor=0.01).spread == 0.01
