"""Crossdock's own sends to a partner (``SendPoint``: sends judged and sends that failed, per
partner × hour) and ``detect_failing_sends``: a partner refusing nearly everything the hub
sends it, over several hours, far above its usual failure rate — its system looks down.

A partner whose whole EDI system is down sends nothing, which for a partner of a few documents
a day is a silence the volume checks cannot tell from a quiet morning; but what the hub sends it
(acknowledgments, ship notices, invoices, purchase orders) fails outright: connection refused,
timeouts, 5xx, negative MDNs. A blip of an hour or two (an AS2 server restarting) is not an
outage: the failures must be the larger share of the sends in at least
``min_send_failing_hours`` clock hours, and the latest hour with sends must still be failing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipelines.exceptions.model import Detection
from pipelines.intelligence.anomaly.model import (
    _DEFAULT,
    _HOUR,
    _WEEKDAYS,
    AnomalyConfig,
    _dense_hours,
    _emit,
    _Finding,
    _hour,
)
from pipelines.intelligence.anomaly.stats import (
    Baseline,
    _between,
    _prefix,
    binomial_tail,
    robust_baseline,
)

__all__ = ["SendHistory", "SendPoint", "detect_failing_sends"]


@dataclass(frozen=True, slots=True)
class SendPoint:
    """Crossdock's sends to one partner in one hour (UTC, truncated): ``sent`` sends whose
    outcome is known (taken, or failed after the hub's retries) and how many of them ``failed``."""

    partner: str
    hour: datetime
    sent: int
    failed: int = 0


class SendHistory:
    """``SendPoint`` rows per partner as prefix sums. Build it once and call
    ``detect_failing_sends`` for many ``now`` values: only hours before ``now`` are read.

    Usage:
        sends = SendHistory(points)
    """

    __slots__ = ("_origin", "_series")

    def __init__(self, points: Iterable[SendPoint]) -> None:
        hourly: dict[str, dict[datetime, list[int]]] = defaultdict(dict)
        for p in points:
            cell = hourly[p.partner].setdefault(_hour(p.hour), [0, 0])
            cell[0] += p.sent
            cell[1] += p.failed
        self._origin, dense = _dense_hours(hourly)
        # per partner: prefix sums of sends and failures, and sends and failures per hour
        self._series: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {
            partner: (_prefix(sent), _prefix(failed), sent, failed) for partner, (sent, failed) in dense.items()}


def detect_failing_sends(sends: SendHistory | Iterable[SendPoint], *, now: datetime,
                         config: AnomalyConfig = _DEFAULT) -> list[Detection]:
    """Partners refusing the hub's sends: over the trailing window from the start (within
    ``send_max_window_hours``) that makes the failures most improbable, at least
    ``min_send_failures`` failed sends, at least ``min_send_failure_share`` of the window's
    sends, mostly failing in at least ``min_send_failing_hours`` clock hours including the
    latest hour with sends, and a binomial chance of at most ``send_alpha`` against the
    partner's usual failure rate (the median of the ``send_baseline_days`` 24-hour blocks
    before the window with at least ``min_send_block`` sends, plus their spread, at least
    ``send_rate_floor``). One alert key per partner and day (``partner|sends|send_failure_rate|
    failing|day``); the hub keeps one case while it goes on.

    Usage:
        detect_failing_sends(SendHistory(send_points), now=now)
    """
    hist = sends if isinstance(sends, SendHistory) else SendHistory(sends)
    end = _hour(now)
    t = int((end - hist._origin) / _HOUR)
    out = []
    for partner, (sent, failed, per_sent, per_failed) in sorted(hist._series.items()):
        finding = _failing(partner, sent, failed, per_sent, per_failed, t, end, config)
        if finding:
            out.append(_emit(finding, partner=partner, document_type="sends",
                             subject=f"sends to {partner}", day=end.date()))
    return out


def _failing(partner: str, sent: list[int], failed: list[int], per_sent: list[int], per_failed: list[int],
             t: int, end: datetime, config: AnomalyConfig) -> _Finding | None:
    last = min(t, len(per_sent))
    # the latest hour with sends must be failing: a partner taking sends again is back
    latest = next((i for i in range(last - 1, max(t - config.send_max_window_hours, 0) - 1, -1) if per_sent[i]), None)
    if latest is None or 2 * per_failed[latest] < per_sent[latest] or not per_failed[latest]:
        return None
    if _between(failed, t - config.send_max_window_hours, t) < config.min_send_failures:
        return None
    before = t - config.send_max_window_hours  # the usual rate: before the latest day's failures
    rates = _usual(sent, failed, before, config)
    if len(rates) < config.min_weeks:  # days here: too few judged days to know the partner
        return None
    base = robust_baseline(rates, counts=False, floor=config.send_rate_floor)
    usual = min(base.median + base.spread, 1.0)
    best: tuple[float, int, int, int, int] | None = None  # p, start, sends, failures, failing hours
    failing_hours = 0
    for start in range(last - 1, max(before, 0) - 1, -1):
        if per_sent[start] and per_failed[start] and 2 * per_failed[start] >= per_sent[start]:
            failing_hours += 1
        if not per_failed[start]:
            continue  # a window starts with a failure
        n, bad = _between(sent, start, t), _between(failed, start, t)
        if (bad < config.min_send_failures or bad < config.min_send_failure_share * n
                or failing_hours < config.min_send_failing_hours):
            continue
        p_value = binomial_tail(bad, n, usual)
        if p_value <= config.send_alpha and (best is None or p_value < best[0]):
            best = (p_value, start, n, bad, failing_hours)
    if best is None:
        return None
    p_value, start, n, bad, hours = best
    a = before - 24 * config.send_baseline_days
    docs, fails = _between(sent, a, before), _between(failed, a, before)
    normally = (f"normally 1 in {docs / fails:.0f} fails" if fails else
                f"none of its {docs} sends of the {config.send_baseline_days} days before failed")
    rate = bad / n
    spread = max(base.spread, math.sqrt(max(base.median, config.send_rate_floor) / n))
    begin = end - (t - start) * _HOUR
    since = f"since {begin:%H}:00" if begin.date() == end.date() else f"since {_WEEKDAYS[begin.weekday()]} {begin:%H}:00"
    return _Finding(
        "send_failure_rate", "failing", rate, Baseline(base.median, round(spread, 4), base.samples),
        (rate - base.median) / spread, begin, end,
        f"{partner} refused {bad} of {n} of our sends {since} ({normally}): its system looks down",
        rate >= 0.9, {"sends": n, "count": bad, "p_value": float(f"{p_value:.3g}"), "days": len(rates),
                      "window_hours": t - start, "failing_hours": hours, "baseline_sends": docs,
                      "baseline_failures": fails})


def _usual(sent: list[int], failed: list[int], before: int, config: AnomalyConfig) -> list[float]:
    """Failure shares of the 24-hour blocks before ``before`` holding ``min_send_block`` sends."""
    rates = []
    for j in range(config.send_baseline_days):
        a, b = before - 24 * (j + 1), before - 24 * j
        if a < 0:
            break
        n = _between(sent, a, b)
        if n >= config.min_send_block:
            rates.append(_between(failed, a, b) / n)
    return rates
