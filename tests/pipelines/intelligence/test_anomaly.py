"""Flow anomaly detectors on golden scenarios: each fires with a message that names what is
unusual against what baseline, and ordinary traffic does not fire."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
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
    binomial_tail,
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
         seed: int = 1, errors: float = 0.0, latency: float | None = None,
         day_noise: float = 0.0) -> list[FlowPoint]:
    """Poisson traffic from ``weeks`` weeks before ``until`` up to it (hours with no documents
    have no row); ``day_noise``: each day busier or quieter by a lognormal factor."""
    rng = np.random.default_rng(seed)
    out, at = [], until - timedelta(weeks=weeks)
    factor = 1.0
    while at < until:
        if day_noise and at.hour == 0:
            factor = float(np.exp(rng.normal(0, day_noise)))
        n = int(rng.poisson(rate(at) * factor))
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


def test_an_outage_in_the_afternoon_is_a_silence_since_the_last_order() -> None:
    points = [p for p in flow(business(30), until=MONDAY + 17 * H) if p.hour < MONDAY + 13 * H]
    found = detect_flow_anomalies(points, now=MONDAY + 16 * H)
    ev = only(found, "volume_silence")
    assert found[0].message.startswith("850 from ACME: ACME has sent no orders since 13:00 (3 h); "
                                       "the same hours of a normal week have 90 ± ")
    assert (ev["direction"], ev["observed"], ev["window_hours"]) == ("missing", 0, 3)
    assert ev["window"] == {"start": "2026-03-02T13:00:00+00:00", "end": "2026-03-02T16:00:00+00:00"}
    assert ev["alert_key"] == "ACME|850|volume|drop|2026-03-02"  # the same case as a drop that day
    assert ev["p_value"] < 1e-6 and found[0].severity.rank > Severity.MEDIUM.rank


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


# --- resends: "ACME resent 45 orders it had already sent between 09:00 and 12:00" ----------

def resending(points: list[FlowPoint], *, share: float, bursts: int = 0, seed: int = 2) -> list[FlowPoint]:
    """``points`` with a ``share`` of each hour's documents resent, and ``bursts`` hours (before
    today) with 5 resends more, as a timeout's retry would."""
    rng = np.random.default_rng(seed)
    earlier = [i for i, p in enumerate(points) if p.hour < MONDAY]
    burst_at = set(rng.choice(earlier, size=bursts, replace=False).tolist()) if bursts else set()
    return [replace(p, duplicates=int(rng.binomial(p.received, share)) + 5 * (i in burst_at))
            for i, p in enumerate(points)]


def test_a_duplicate_storm_is_a_binomial_count_of_resends() -> None:
    points = resending(flow(business(20), until=MONDAY + 9 * H), share=0.005) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 20, duplicates=15) for h in (9, 10, 11)]
    found = detect_flow_anomalies(points, now=MONDAY + 12 * H)
    ev = only(found, "volume_duplicates")  # it replaces the volume spike the resends make
    assert found[0].message.startswith("850 from ACME: ACME resent 45 orders it had already sent between "
                                       "09:00 and 12:00 (45 of 105); normally 1 in ")
    assert found[0].message.endswith(" orders is a resend")
    assert (ev["direction"], ev["count"], ev["documents"], ev["window_hours"]) == ("spike", 45, 105, 3)
    assert ev["p_value"] < 1e-30 and ev["usual_burst"] == 1.0
    assert ev["alert_key"] == "ACME|850|volume|spike|2026-03-02"  # the key of a volume spike: one case


def test_resends_where_a_flow_never_had_any() -> None:
    points = flow(business(20), until=MONDAY + 9 * H) + [
        FlowPoint("ACME", "850", MONDAY + 9 * H, 3, duplicates=9)]
    found = detect_flow_anomalies(points, now=MONDAY + 10 * H)
    only(found, "volume_duplicates")
    assert found[0].message.startswith("850 from ACME: ACME resent 9 orders it had already sent between "
                                       "09:00 and 10:00 (9 of 12); none of its ")
    assert found[0].message.endswith(" orders of the 6 weeks before was a resend")


def test_a_timeout_resending_a_batch_is_no_storm_where_the_partner_does_that() -> None:
    # 5 resends now and then in its history, and today a burst of 5 plus one more
    history = resending(flow(business(20), until=MONDAY + 9 * H), share=0.005, bursts=12)
    points = history + [FlowPoint("ACME", "850", MONDAY + 9 * H, 20, duplicates=6)]
    assert detect_flow_anomalies(points, now=MONDAY + 10 * H) == []


def test_a_partner_that_often_resends_is_judged_against_its_own_share() -> None:
    # 3 resends an hour this morning (12 of 92): twice its usual 5 %, for a partner that resends
    points = [replace(p, duplicates=3) if p.hour >= MONDAY else p
              for p in resending(flow(business(20), until=MONDAY + 12 * H), share=0.05)]
    assert detect_flow_anomalies(points, now=MONDAY + 12 * H) == []
    # the same resends today are a storm for a partner that hardly ever resends
    rare = [replace(p, duplicates=0) if p.hour < MONDAY else p for p in points]
    assert [d.evidence["metric"] for d in detect_flow_anomalies(rare, now=MONDAY + 12 * H)] == ["volume_duplicates"]


# --- small flows, longer windows, silence ----------------------------------------------------

def steady(per_hour: dict[int, int], *, weeks: int = 6, until: datetime = MONDAY, doc: str = "850",
           days: range = range(5)) -> list[FlowPoint]:
    """The same counts at the same UTC hours every weekday (``days``) for ``weeks`` weeks."""
    out = []
    for d in range(weeks * 7):
        day = until - timedelta(weeks=weeks) + timedelta(days=d)
        if day.weekday() in days:
            out += [FlowPoint("ACME", doc, day + h * H, n) for h, n in per_hour.items()]
    return out


EIGHT_A_DAY = {h: 1 for h in range(8, 16)}  # a small customer: one order an hour, 08:00-15:00


def test_a_small_flow_that_stops_is_a_silence_since_its_last_order() -> None:
    """Six orders a weekday; after Friday nothing. One empty Monday is within noise for so
    small a flow; by Tuesday 11:00 (eight orders due) it is not."""
    points = steady({h: 1 for h in range(9, 15)}, until=MONDAY - timedelta(days=2))
    history = FlowHistory(points)
    monday = [d for h in range(1, 24) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert monday == [], [d.message for d in monday]
    tuesday = MONDAY + timedelta(days=1)
    first = next(h for h in range(24) if detect_flow_anomalies(history, now=tuesday + h * H))
    found = detect_flow_anomalies(history, now=tuesday + first * H)
    ev = only(found, "volume_silence")
    assert first == 11
    assert found[0].message == ("850 from ACME: ACME has sent no orders since Friday 15:00 (92 h); "
                                "the same hours of a normal week have 8 ± 2.8")
    assert (ev["direction"], ev["window_hours"], ev["baseline_median"]) == ("missing", 92, 8)
    assert ev["alert_key"] == "ACME|850|volume|drop|2026-03-03"
    assert ev["p_value"] <= AnomalyConfig().silence_alpha


def test_a_batch_often_late_is_no_silence_when_it_comes_on_time() -> None:
    """Invoices in one evening batch, an hour late every other week; today on time. The hours
    after the batch held 60 invoices in half the earlier weeks and none in the others: their
    spread says an empty evening is ordinary."""
    on_time, late = {18: 140, 19: 60}, {19: 140, 20: 60}
    points = [p for k in range(6) for p in steady(on_time if k % 2 else late, weeks=1, doc="810",
                                                  until=MONDAY - timedelta(weeks=5 - k))]
    points += [FlowPoint("ACME", "810", MONDAY + h * H, n) for h, n in on_time.items()]
    history = FlowHistory(points)
    found = [d for h in range(18, 24) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_a_small_flow_at_a_quarter_for_three_days_is_a_drop_over_72_hours() -> None:
    """Two orders a day where eight are normal: no single day is beyond noise for so small a
    flow, three days are."""
    points = steady(EIGHT_A_DAY) + [FlowPoint("ACME", "850", MONDAY + timedelta(days=d) + h * H, 1)
                                    for d in range(3) for h in (10, 14)]
    found = detect_flow_anomalies(points, now=MONDAY + timedelta(days=2, hours=18))
    ev = only(found, "volume_window")
    assert found[0].message == ("850 from ACME: ACME sent 6 orders in the 72 h since Sunday 18:00; "
                                "the same hours of a normal week have 24 ± 4.9")
    assert (ev["direction"], ev["window_hours"], ev["observed"]) == ("drop", 72, 6)
    assert ev["window"]["start"] == "2026-03-01T18:00:00+00:00"
    assert ev["alert_key"] == "ACME|850|volume|drop|2026-03-04"


def test_a_small_flow_at_three_quarters_is_no_drop() -> None:
    points = steady(EIGHT_A_DAY) + [FlowPoint("ACME", "850", MONDAY + timedelta(days=d) + h * H, 1)
                                    for d in range(3) for h in range(8, 14)]
    history = FlowHistory(points)
    found = [d for h in range(72) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_documents_where_there_are_normally_none_are_a_spike_even_when_few() -> None:
    """Invoices come in the evening batch; eight in the morning are a storm although fewer
    than the 12 extra documents a busy flow needs (the baseline is steady at nothing)."""
    batch = {18: 140, 19: 60}
    points = steady(batch, doc="810") + [FlowPoint("ACME", "810", MONDAY + h * H, n)
                                         for h, n in ((9, 3), (10, 3), (11, 2))]
    ev = only(detect_flow_anomalies(points, now=MONDAY + 12 * H), "volume_window")
    assert (ev["direction"], ev["observed"], ev["baseline_median"]) == ("spike", 8, 0)
    msg = detect_flow_anomalies(points, now=MONDAY + 12 * H)[0].message
    assert msg == "810 from ACME: ACME sent 8 invoices between 09:00 and 12:00; a normal Monday has 0 ± 1"


def test_a_few_stray_documents_are_no_spike() -> None:
    points = steady({18: 140, 19: 60}, doc="810") + [FlowPoint("ACME", "810", MONDAY + h * H, 1)
                                                     for h in (9, 10, 11)]
    history = FlowHistory(points)
    found = [d for h in range(9, 18) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_an_error_spike_on_a_small_flow_is_a_binomial_count() -> None:
    """7 of 30 orders failing where 1 % fail is far beyond chance (p ≈ 2e-6)."""
    points = flow(business(3), until=MONDAY, errors=0.01) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 3, errors=e) for h, e in zip(range(8, 18), (0, 1, 1, 0, 2, 1, 1, 0, 1, 0), strict=True)]
    found = detect_flow_anomalies(points, now=MONDAY + 18 * H)
    ev = only(found, "error_rate")
    assert (ev["count"], ev["documents"]) == (7, 30) and ev["p_value"] < 1e-5
    assert "23% of ACME's orders failed between 08:00 and 18:00 (7 of 30); normally " in found[0].message


def test_a_burst_of_three_bad_orders_is_no_error_spike() -> None:
    points = flow(business(3), until=MONDAY, errors=0.01) + [
        FlowPoint("ACME", "850", MONDAY + h * H, 3, errors=3 if h == 9 else 0) for h in range(8, 18)]
    history = FlowHistory(points)
    found = [d for h in range(9, 19) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_slow_acknowledgments_of_a_batch_seen_in_its_two_hours() -> None:
    """Acknowledgments come only for the evening batch (two hours a day); two hours at four
    times the usual latency are enough."""
    def batch(at: datetime) -> float:
        return {18: 140.0, 19: 60.0}.get(at.hour, 0.0) if at.weekday() < 5 else 0.0
    points = flow(batch, until=MONDAY, doc="810", latency=600) + [
        FlowPoint("ACME", "810", MONDAY + h * H, n, ack_latency_seconds=2400) for h, n in ((18, 140), (19, 60))]
    ev = only(detect_flow_anomalies(points, now=MONDAY + 20 * H), "ack_latency")
    assert ev["hours_with_acks"] == 2 and ev["ratio"] > 3
    slower = points[:-2] + [FlowPoint("ACME", "810", MONDAY + h * H, n, ack_latency_seconds=900)
                            for h, n in ((18, 140), (19, 60))]
    assert detect_flow_anomalies(slower, now=MONDAY + 20 * H) == []  # 1.5× is no delay


def test_day_so_far_leaves_out_an_earlier_holiday() -> None:
    points = mondays(NORMAL_MONDAYS) + [FlowPoint("ACME", "850", MONDAY + 9 * H, 3)]
    holiday = AnomalyConfig(holidays=frozenset({(MONDAY - timedelta(weeks=2)).date()}))
    found = detect_flow_anomalies(points, now=MONDAY + 11 * H, config=holiday)
    assert only(found, "volume_day")["weeks"] == 5


# --- must not fire ------------------------------------------------------------------------

@pytest.mark.parametrize(("peak", "seed", "day_noise"), [
    (25.0, 1, 0.0), (25.0, 2, 0.0), (2.0, 3, 0.0), (2.0, 4, 0.0), (0.5, 5, 0.0),
    (25.0, 6, 0.12), (2.0, 7, 0.12), (1.0, 8, 0.12), (1.0, 9, 0.12)])
def test_ordinary_weeks_with_poisson_noise_do_not_fire(peak: float, seed: int, day_noise: float) -> None:
    """Weekly seasonality, silent nights and weekends, big and small flows, days a little
    busier or quieter than others: a whole week of hourly passes stays quiet (every detector,
    the silence and the 72-hour windows included)."""
    week_end = MONDAY + timedelta(weeks=1)
    points = flow(business(peak), weeks=7, until=week_end, seed=seed, errors=0.01, latency=300,
                  day_noise=day_noise)
    history = FlowHistory(points)
    found = [d for h in range(0, 168) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_an_evening_batch_that_sometimes_runs_late_does_not_fire() -> None:
    """Invoices in one evening batch (70 % at 18:00, 30 % at 19:00), an hour late on about one
    evening in five, a few stray invoices by day: two weeks of hourly passes stay quiet."""
    rng = np.random.default_rng(11)
    points, day = [], MONDAY - timedelta(weeks=6)
    while day < MONDAY + timedelta(weeks=2):
        if day.weekday() < 5:
            late = int(rng.random() < 0.2)
            batch = {18 + late: int(rng.poisson(140)), 19 + late: int(rng.poisson(60))}
            batch |= {h: 1 for h in range(8, 17) if rng.random() < 0.05}
            points += [FlowPoint("ACME", "810", day + h * H, n, ack_latency_seconds=600.0) for h, n in batch.items() if n]
        day += timedelta(days=1)
    history = FlowHistory(points)
    found = [d for h in range(0, 2 * 168) for d in detect_flow_anomalies(history, now=MONDAY + h * H)]
    assert found == [], [d.message for d in found]


def test_two_weeks_of_history_say_nothing() -> None:
    points = flow(business(30), weeks=2, until=MONDAY)  # and then nothing today
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H) == []


def test_a_holiday_is_no_drop_and_no_baseline() -> None:
    points = flow(business(30), until=MONDAY)  # nothing at all on the Monday
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H)  # may fire without a calendar
    quiet = AnomalyConfig(holidays=frozenset({date(2026, 3, 2)}))
    assert detect_flow_anomalies(points, now=MONDAY + 15 * H, config=quiet) == []


def test_the_day_after_a_holiday_is_no_silence() -> None:
    """Monday is a holiday (no orders); Tuesday's orders come as usual from 08:00. Silence is
    judged from the end of the holiday, so neither the empty Monday nor Tuesday's quiet night
    is one."""
    tuesday = MONDAY + timedelta(days=1)
    points = [p for p in flow(business(30), until=tuesday + 12 * H) if not MONDAY <= p.hour < tuesday]
    history = FlowHistory(points)
    assert detect_flow_anomalies(history, now=tuesday + 8 * H)  # without a calendar: a silent Monday
    quiet = AnomalyConfig(holidays=frozenset({MONDAY.date()}))
    found = [d for h in range(0, 12) for d in detect_flow_anomalies(history, now=tuesday + h * H, config=quiet)]
    assert found == [], [d.message for d in found]


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


def quiet_lane(failing_hours: range) -> list[CarrierAttempt]:
    """2 calls an hour on ATL-MIA over 14 days, one failure every other day; both calls fail
    in ``failing_hours`` (hours before ``MONDAY``)."""
    out = []
    for h in range(14 * 24):
        at = MONDAY - timedelta(days=14) + h * H
        back = 14 * 24 - h
        out += [CarrierAttempt("ATL-MIA", "ODFL", at + timedelta(minutes=20 * i),
                               not (back in failing_hours or (i == 0 and h % 48 == 12))) for i in range(2)]
    return out


def test_a_quiet_lane_is_judged_over_enough_calls() -> None:
    """Two calls an hour: three hours hold too few to judge, so the window widens to five."""
    found = detect_failing_lanes(quiet_lane(range(1, 4)), now=MONDAY)
    ev = only(found, "failure_rate")
    assert (ev["window_hours"], ev["attempts"], ev["count"]) == (5, 10, 6)
    assert found[0].message.startswith("lane ATL-MIA via ODFL: ODFL failed 6 of 10 attempts on lane ATL-MIA "
                                       "in the last 5 h (60%); normally ")


def test_one_bad_hour_on_a_quiet_lane_is_a_blip() -> None:
    assert detect_failing_lanes(quiet_lane(range(2, 3)), now=MONDAY) == []


def test_robust_baseline_floors_the_spread() -> None:
    assert robust_baseline([2, 2, 2, 2]).spread == pytest.approx(1.4142, abs=1e-4)  # √median, not 0
    assert robust_baseline([0, 0, 0]).spread == 1
    assert robust_baseline([0.01, 0.01, 0.01], counts=False, floor=0.01).spread == 0.01


def test_binomial_tail_is_exact_in_both_tails() -> None:
    assert binomial_tail(0, 10, 0.3) == 1.0
    assert binomial_tail(11, 10, 0.3) == 0.0
    assert binomial_tail(3, 10, 0.1) == pytest.approx(0.0701908264)
    assert binomial_tail(7, 30, 0.02) == pytest.approx(1.7384380286e-06)
    assert binomial_tail(40, 100, 0.3) == pytest.approx(0.0209885760)
    assert binomial_tail(5, 5, 0.01) == pytest.approx(1e-10)
