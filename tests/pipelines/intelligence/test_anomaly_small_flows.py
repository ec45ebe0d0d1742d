"""The checks for what small flows and quiet lanes hide, on golden scenarios: a carrier failing
a good part of its calls for a day on a quiet lane, a small invoice batch that mostly fails, the
acknowledgments of a small flow or of one batch slowing down, and resends that go on hour after
hour (over a window of the storm's own length) or come where the flow normally has nothing fire
with a message naming the partner, the document type and the baseline; a quiet lane's ordinary
failures, a burst of bad documents, resent documents failing at the usual rate, a single slow
hour of a few documents, timeouts' bursts, a partner that often resends and a busy flow's
background resends do not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from pipelines.intelligence.anomaly import (
    AnomalyConfig,
    CarrierAttempt,
    FlowHistory,
    FlowPoint,
    detect_failing_lanes,
    detect_flow_anomalies,
)
from tests.pipelines.intelligence.test_anomaly import MONDAY, H, Rate, business


def batch(size: float) -> Rate:
    """An evening invoice batch: 70 % at 17:00, 30 % at 18:00 on weekdays."""
    return lambda at: {17: 0.7 * size, 18: 0.3 * size}.get(at.hour, 0.0) if at.weekday() < 5 else 0.0


def flow(rate: Rate, *, weeks: int = 6, until: datetime = MONDAY, partner: str = "FARMCO", doc: str = "850",
         seed: int = 1, errors: float = 0.01, latency: float | None = 400.0, resend_share: float = 0.0,
         bursts_per_week: float = 0.0) -> list[FlowPoint]:
    """Poisson traffic up to ``until`` (hours without documents have no row): each document
    failing at ``errors``; acknowledgments taking ``latency`` seconds (twice as long at night,
    lognormal noise σ 0.3 an hour); a ``resend_share`` of the documents resent, and now and then
    a timeout resending 1–5 documents on top of an hour's traffic."""
    rng = np.random.default_rng(seed)
    out, at = [], until - timedelta(weeks=weeks)
    active_hours = 45.0  # about as many hours a week with documents as a small flow has
    while at < until:
        n = int(rng.poisson(rate(at)))
        if n:
            night = not 7 <= at.hour < 19
            lat = None if latency is None else float(latency * (2 if night else 1) * np.exp(rng.normal(0, 0.3)))
            dups = int(rng.binomial(n, resend_share))
            if rng.random() < bursts_per_week / active_hours:
                dups += int(rng.integers(1, 6))
            out.append(FlowPoint(partner, doc, at, n, int(rng.binomial(n, errors)), 0, lat, dups))
        at += H
    return out


def found_over(points: list[FlowPoint], hours: range, *, day: datetime = MONDAY) -> list:  # type: ignore[type-arg]
    """Every detection of the hourly passes at ``day`` + each of ``hours``."""
    history = FlowHistory(points)
    return [d for h in hours for d in detect_flow_anomalies(history, now=day + h * H)]


def metrics(found: list) -> set[str]:  # type: ignore[type-arg]
    return {d.evidence["metric"] for d in found}


# --- a carrier failing for a day on a quiet lane -------------------------------------------

def lane(rate_per_hour: float, fail: Callable[[int], float], *, days: int = 15, seed: int = 3) -> list[CarrierAttempt]:
    """``rate_per_hour`` calls an hour by day (a tenth at night) on DAL-LAX over ``days`` days up
    to ``MONDAY`` + 17 h, each failing at ``fail(hours before the end)``."""
    rng = np.random.default_rng(seed)
    end = MONDAY + 17 * H
    out = []
    for h in range(days * 24):
        at = end - timedelta(days=days) + h * H
        back = days * 24 - h
        calls = int(rng.poisson(rate_per_hour * (1.0 if 8 <= at.hour < 20 else 0.1)))
        out += [CarrierAttempt("DAL-LAX", "UPSN", at + timedelta(minutes=int(rng.integers(60))),
                               bool(rng.random() >= fail(back))) for _ in range(calls)]
    return out


def test_a_carrier_failing_two_in_five_calls_for_a_day_is_found_over_the_day() -> None:
    """3 calls an hour, 2 % failing; for the last 25 hours 40 %: no 3 or 5 hours hold enough to
    be sure, the day does."""
    attempts = lane(3.0, lambda back: 0.4 if back <= 25 else 0.02)
    found = detect_failing_lanes(attempts, now=MONDAY + 17 * H)
    assert [d.evidence["metric"] for d in found] == ["failure_rate"], [d.message for d in found]
    ev = found[0].evidence
    assert ev["window_hours"] > 5 and ev["p_value"] <= 1e-6
    assert found[0].partner == "UPSN" and ev["lane"] == "DAL-LAX"
    assert found[0].message.startswith(f"lane DAL-LAX via UPSN: UPSN failed {ev['count']} of {ev['attempts']} "
                                       f"attempts on lane DAL-LAX in the last {ev['window_hours']} h (")
    assert "; normally " in found[0].message


def test_a_quiet_lanes_ordinary_failures_are_judged_against_all_its_calls() -> None:
    """20 calls a day (2 an hour, 10:00–19:00), 1 failing on two days in five: 2 % of its
    calls fail, yet the median day has none. Five failures in 10 calls over four evening hours
    (as seed 2's ODFL) are a chance of 2·10⁻⁶ at 2 %, not beyond chance; at the 1 % the median
    day and its floor say they would be (8·10⁻⁸). One bad hour after one failure is a blip."""
    def quiet(today: dict[int, int]) -> list[CarrierAttempt]:
        out = []
        for d in range(15):
            day = MONDAY - timedelta(days=14 - d)
            for h in range(10, 20):
                failed = today.get(h, 0) if d == 14 else int(h == 12 and d % 5 < 2)
                calls = 2 if d < 14 else max(2, failed)
                out += [CarrierAttempt("DAL-LAX", "ODFL", day + h * H + timedelta(minutes=20 * i), i >= failed)
                        for i in range(calls)]
        return out
    assert detect_failing_lanes(quiet({15: 1, 16: 1, 17: 1, 18: 2}), now=MONDAY + 20 * H) == []
    blip = quiet({12: 1, 16: 3})
    assert [d for h in range(12, 24) for d in detect_failing_lanes(blip, now=MONDAY + h * H)] == []


# --- errors of a small batch -----------------------------------------------------------------

def test_a_small_invoice_batch_that_mostly_fails_is_an_error_spike() -> None:
    """12 invoices an evening, 1 % failing; today 12 of 14 fail. Too few for the 30 documents
    the rate check wanted; a binomial count of 12 in 14 needs no more."""
    points = flow(batch(12), doc="810", partner="NORTHFAB") + [
        FlowPoint("NORTHFAB", "810", MONDAY + 17 * H, 10, errors=9, dead_letters=4),
        FlowPoint("NORTHFAB", "810", MONDAY + 18 * H, 4, errors=3, dead_letters=3)]
    found = detect_flow_anomalies(points, now=MONDAY + 19 * H)
    assert metrics(found) == {"error_rate", "dead_letter_rate"}, [d.message for d in found]
    error = next(d for d in found if d.evidence["metric"] == "error_rate")
    assert error.message.startswith("810 from NORTHFAB: 86% of NORTHFAB's invoices failed between 17:00 and "
                                    "19:00 (12 of 14); normally ")
    assert error.evidence["alert_key"] == "NORTHFAB|810|error_rate|spike|2026-03-02"


def test_a_burst_of_three_bad_invoices_in_a_small_batch_is_no_error_spike() -> None:
    points = flow(batch(12), doc="810", partner="NORTHFAB") + [
        FlowPoint("NORTHFAB", "810", MONDAY + 17 * H, 9, errors=3),
        FlowPoint("NORTHFAB", "810", MONDAY + 18 * H, 4)]
    assert found_over(points, range(17, 24)) == []


def test_resent_documents_failing_count_against_all_the_documents_received() -> None:
    """A storm of 60 resends among 12 new orders, 3 documents an hour failing where 1 in 20
    usually fails: 9 of 72 (13 %) is within chance, 9 of 12 would not be."""
    points = flow(business(4), errors=0.05) + [
        FlowPoint("FARMCO", "850", MONDAY + h * H, 4, errors=3, duplicates=20) for h in (9, 10, 11)]
    assert "error_rate" not in metrics(found_over(points, range(10, 13)))


# --- acknowledgment latency of small flows and single batches ---------------------------------

def test_a_small_flows_acknowledgments_slowing_down_are_a_delay() -> None:
    """8 orders a day scattered over the afternoon: the same hour of earlier weeks seldom had
    an acknowledgment, the same hour of the days before often did. Three hours at 5× usual."""
    points = [p for p in flow(business(0.9)) if p.hour < MONDAY] + [
        FlowPoint("FARMCO", "850", MONDAY + h * H, 1, ack_latency_seconds=2000.0) for h in (14, 15, 16)]
    found = detect_flow_anomalies(points, now=MONDAY + 17 * H)
    assert metrics(found) == {"ack_latency"}, [d.message for d in found]
    assert found[0].message.startswith("850 from FARMCO: acknowledgments of FARMCO's orders took a median 33 min "
                                       "between 11:00 and 17:00 (")
    assert "a normal Monday at these hours 5 min ± " in found[0].message
    assert found[0].evidence["hours_with_acks"] == 3


def test_one_batch_hour_acknowledged_eight_times_slower_is_a_delay() -> None:
    """The evening batch's first hour (22 invoices) took 80 min to acknowledge instead of 10;
    the delay ended before the second hour: one hour with acknowledgments is all there is."""
    points = flow(batch(30), doc="810", partner="TRIMAX", latency=600.0, weeks=7) + [
        FlowPoint("TRIMAX", "810", MONDAY + 17 * H, 22, ack_latency_seconds=4800.0)]
    found = detect_flow_anomalies(points, now=MONDAY + 18 * H)
    assert metrics(found) == {"ack_latency"}, [d.message for d in found]
    assert "acknowledgments of TRIMAX's invoices took a median 80 min between 12:00 and 18:00 (8.0× usual)" \
        in found[0].message
    assert found[0].evidence["hours_with_acks"] == 1


def test_one_slow_hour_of_a_few_documents_or_a_batch_at_three_times_is_no_delay() -> None:
    few = [p for p in flow(business(0.9)) if p.hour < MONDAY] + [
        FlowPoint("FARMCO", "850", MONDAY + 14 * H, 2, ack_latency_seconds=2400.0)]
    assert "ack_latency" not in metrics(found_over(few, range(15, 21)))
    slower = flow(batch(30), doc="810", partner="TRIMAX", latency=600.0, weeks=7) + [
        FlowPoint("TRIMAX", "810", MONDAY + 17 * H, 22, ack_latency_seconds=1800.0)]
    assert detect_flow_anomalies(slower, now=MONDAY + 18 * H) == []


def test_ordinary_weeks_of_a_small_flow_with_noisy_acknowledgments_do_not_fire() -> None:
    """Orders at 0.9 an hour by day, acknowledgments noisy (σ 0.3) and twice as slow at night,
    the odd resend and timeout burst: a week of hourly passes stays quiet."""
    week_end = MONDAY + timedelta(weeks=1)
    for seed in (1, 2, 3):
        points = flow(business(0.9), weeks=7, until=week_end, seed=seed, resend_share=0.01, bursts_per_week=1.5)
        found = found_over(points, range(0, 168))
        assert found == [], [d.message for d in found]


# --- resends that go on, and resends where nothing normally comes ------------------------------

def test_a_small_flow_resending_hour_after_hour_is_a_storm() -> None:
    """One order an hour by day, a resend in about one of its hours in 20; this morning 1–3
    resends in each of five hours (10 in all). Divided by its usual burst of 3 they are three
    bursts; five hours in a row with resends are not bursts."""
    history = flow(business(1.0), resend_share=0.01, bursts_per_week=2.0, seed=4)
    points = [p for p in history if p.hour < MONDAY] + [
        FlowPoint("FARMCO", "850", MONDAY + h * H, 1, duplicates=d)
        for h, d in zip(range(9, 14), (2, 1, 3, 2, 2), strict=True)]
    found = detect_flow_anomalies(points, now=MONDAY + 14 * H)
    assert metrics(found) == {"volume_duplicates"}, [d.message for d in found]
    ev = found[0].evidence
    assert found[0].message.startswith("850 from FARMCO: FARMCO resent orders it had already sent in 5 of its 5 "
                                       "hours with orders since 09:00 (10 of 15); normally 1 hour in ")
    assert found[0].message.endswith(" has a resend")
    assert ev["hours_with_resends"] == 5 and ev["p_value"] <= 1e-5
    assert ev["alert_key"] == "FARMCO|850|volume|spike|2026-03-02"  # the key of a volume spike: one case


def test_two_timeouts_in_one_afternoon_are_no_storm() -> None:
    history = flow(business(1.0), resend_share=0.01, bursts_per_week=2.0, seed=4)
    points = [p for p in history if p.hour < MONDAY] + [
        FlowPoint("FARMCO", "850", MONDAY + h * H, 1, duplicates={10: 5, 12: 4}.get(h, 0)) for h in range(9, 15)]
    assert "volume_duplicates" not in metrics(found_over(points, range(10, 20)))


def test_a_busy_flows_background_resends_are_no_storm() -> None:
    """20 orders an hour by day and one or two at night, 1 % resent: a day hour has a resend
    about one time in five, a night hour hardly ever, one hour in nine all told. A resend in 9
    of today's 10 day hours (9 of 209, seed 2's ACME) is no storm: resends must be a good part
    of what the flow sends."""
    def rate(at: datetime) -> float:
        return 20.0 if 8 <= at.hour < 18 else 0.7
    history = [p for p in flow(rate, resend_share=0.01, seed=7) if p.hour < MONDAY]
    points = history + [FlowPoint("FARMCO", "850", MONDAY + h * H, 20, duplicates=int(h != 12))
                        for h in range(8, 18)]
    found = found_over(points, range(9, 19))
    assert "volume_duplicates" not in metrics(found), [d.message for d in found]


def storm_of_seven_hours(*, resend_share: float = 0.01) -> list[FlowPoint]:
    """One order an hour by day, ``resend_share`` of them resent and two timeouts a week; today
    an order in every hour from 06:00 to 21:00 and, from 10:00 to 17:00, two resends in five of
    the seven hours (seed 9's FARMCO)."""
    history = [p for p in flow(business(1.0), resend_share=resend_share, bursts_per_week=2.0, seed=2)
               if p.hour < MONDAY]
    resent = {10: 2, 11: 2, 13: 2, 15: 2, 16: 2}
    return history + [FlowPoint("FARMCO", "850", MONDAY + h * H, 1, duplicates=resent.get(h, 0))
                      for h in range(6, 22)]


def test_a_storm_of_seven_hours_is_judged_over_seven_hours() -> None:
    """Resends in 5 of the 7 hours since the storm began, where one hour in 22 has one: the
    6-hour window leaves out its first hour (4 of 6) and the 12-hour one adds the hours before
    it, with orders and no resends (5 of 11), and neither is improbable enough; every window from
    3 to 12 hours is judged, so one starts where the storm did."""
    points = storm_of_seven_hours()
    found = [d for d in found_over(points, range(10, 30)) if d.evidence["metric"] == "volume_duplicates"]
    assert found, "no storm"
    assert found[0].message == ("850 from FARMCO: FARMCO resent orders it had already sent in 5 of its 7 "
                                "hours with orders since 10:00 (10 of 17); normally 1 hour in 22 has a resend")
    assert found[0].evidence["window_hours"] == 7 and found[0].evidence["p_value"] <= 1e-5
    assert found[0].evidence["alert_key"] == "FARMCO|850|volume|spike|2026-03-02"
    # the windows of 3, 6 and 12 hours alone never saw it
    fixed = AnomalyConfig(duplicate_hours_windows=(3, 6, 12))
    history = FlowHistory(points)
    assert [d.message for h in range(10, 30)
            for d in detect_flow_anomalies(history, now=MONDAY + h * H, config=fixed)] == []


def test_the_same_hours_of_a_partner_that_often_resends_are_no_storm_over_any_window() -> None:
    """The same five hours of two resends, from a partner that resends a tenth of its orders
    (a resend in one hour of its five or six with orders): 5 of 7 is a chance of 10⁻³–10⁻², over
    every window."""
    assert "volume_duplicates" not in metrics(found_over(storm_of_seven_hours(resend_share=0.1), range(10, 30)))


def test_three_timeouts_in_a_long_day_are_no_storm_over_any_window() -> None:
    """Three timeouts resending 4–5 orders each, in 3 of the day's 10 hours with orders: a burst
    is one hour, however many it resends (3 of 8 hours since 09:00, a chance of 5·10⁻³)."""
    history = [p for p in flow(business(1.0), resend_share=0.01, bursts_per_week=2.0, seed=2) if p.hour < MONDAY]
    points = history + [FlowPoint("FARMCO", "850", MONDAY + h * H, 1, duplicates={9: 5, 13: 4, 16: 5}.get(h, 0))
                        for h in range(8, 18)]
    assert "volume_duplicates" not in metrics(found_over(points, range(9, 30)))


def bursty_batch() -> list[FlowPoint]:
    """12 invoices an evening; on one evening in four a timeout resends 1–5 of them."""
    rng = np.random.default_rng(9)
    return [replace(p, duplicates=int(rng.integers(1, 6))) if p.hour.day % 4 == 0 and p.hour.hour == 17 else p
            for p in flow(batch(12), doc="810", partner="NORTHFAB", seed=8)]


def test_invoices_resent_all_morning_where_the_batch_comes_in_the_evening_are_a_storm() -> None:
    """The invoice batch resends a few invoices now and then (a usual burst of 3 or so); this
    morning, when no invoice ever comes, 9 resends over four hours."""
    points = bursty_batch() + [FlowPoint("NORTHFAB", "810", MONDAY + h * H, 0, duplicates=d)
                        for h, d in zip(range(11, 15), (5, 2, 1, 1), strict=True)]
    found = found_over(points, range(12, 16))
    assert metrics(found) == {"volume_duplicates"}, [d.message for d in found]
    assert found[0].message.startswith("810 from NORTHFAB: NORTHFAB resent 8 invoices it had already sent "
                                       "between 11:00 and 14:00 (8 of 8); a normal Monday has 0 ± 1 invoices "
                                       "at these hours, new or resent")


def test_a_burst_of_resends_with_a_stray_invoice_in_the_morning_is_no_storm() -> None:
    points = bursty_batch() + [FlowPoint("NORTHFAB", "810", MONDAY + 10 * H, 1, duplicates=5),
                        FlowPoint("NORTHFAB", "810", MONDAY + 12 * H, 1, duplicates=2)]
    assert found_over(points, range(10, 17)) == []
