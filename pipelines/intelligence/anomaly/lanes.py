"""Lanes and lateness: a carrier failing on a lane (``detect_failing_lanes``) and a supplier
whose ship notices drift late (``detect_late_drift``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from statistics import median

from pipelines.exceptions.model import Detection
from pipelines.intelligence.anomaly.model import (
    _DEFAULT,
    _HOUR,
    AnomalyConfig,
    CarrierAttempt,
    LatenessObservation,
    _dense_hours,
    _emit,
    _Finding,
    _fmt,
    _hour,
    _noun,
    _pct,
)
from pipelines.intelligence.anomaly.stats import (
    Baseline,
    _between,
    _prefix,
    poisson_tail,
    robust_baseline,
)

__all__ = ["LaneHistory", "detect_failing_lanes", "detect_late_drift"]


def detect_late_drift(observations: Iterable[LatenessObservation], *, now: datetime,
                      config: AnomalyConfig = _DEFAULT) -> list[Detection]:
    """Partners whose documents arrive later than they used to: the median lateness of the
    last ``lateness_recent_days`` against the ``lateness_baseline_days`` before.

    ``robust_z`` is the shift of the recent median in units of its standard error
    (``1.2533 × spread / √n``), so a few late notices among many do not fire, a steady drift does.

    Usage:
        detect_late_drift(ship_notice_lateness, now=now)
    """
    end = now.astimezone(UTC)
    split = end - timedelta(days=config.lateness_recent_days)
    begin = split - timedelta(days=config.lateness_baseline_days)
    recent: dict[tuple[str, str], list[float]] = defaultdict(list)
    earlier: dict[tuple[str, str], list[float]] = defaultdict(list)
    for o in observations:
        if begin <= o.at < split:
            earlier[(o.partner, o.document_type)].append(o.hours_late)
        elif split <= o.at < end:
            recent[(o.partner, o.document_type)].append(o.hours_late)
    out = []
    for (partner, document_type), late in sorted(recent.items()):
        before = earlier.get((partner, document_type), [])
        if len(late) < config.min_recent_observations or len(before) < config.min_baseline_observations:
            continue
        base = robust_baseline(before, counts=False, floor=config.lateness_floor_hours)
        observed = median(late)
        shift = observed - base.median
        z = shift / (1.2533 * base.spread / math.sqrt(len(late)))
        if shift < config.min_lateness_shift_hours or z < config.z_threshold:
            continue
        noun = _noun(document_type)
        finding = _Finding(
            "lateness_hours", "late_drift", observed, base, z, split, end,
            f"{partner}'s {noun} arrived a median {observed:.1f} h late over the last "
            f"{_fmt(config.lateness_recent_days)} days ({len(late)} {noun}); before that "
            f"{base.median:.1f} h ± {base.spread:.1f} h",
            shift >= 24, {"recent_observations": len(late), "baseline_observations": len(before),
                          "shift_hours": round(shift, 2)})
        out.append(_emit(finding, partner=partner, document_type=document_type,
                         subject=f"{document_type} from {partner}", day=end.date()))
    return out


class LaneHistory:
    """``CarrierAttempt`` rows counted per lane × carrier × hour (UTC). Build it once and call
    ``detect_failing_lanes`` for many ``now`` values: only hours before ``now`` are read.

    Usage:
        lanes = LaneHistory(carrier_calls)
    """

    __slots__ = ("_origin", "_series")

    def __init__(self, attempts: Iterable[CarrierAttempt]) -> None:
        hourly: dict[tuple[str, str], dict[datetime, list[int]]] = defaultdict(dict)
        for a in attempts:
            counts = hourly[(a.lane, a.carrier)].setdefault(_hour(a.at), [0, 0])
            counts[0] += 1
            counts[1] += not a.ok
        self._origin, dense = _dense_hours(hourly)
        # per lane × carrier: prefix sums of attempts and failures, and failures per hour
        self._series: dict[tuple[str, str], tuple[list[int], list[int], list[int]]] = {
            key: (_prefix(tried), _prefix(failed), failed) for key, (tried, failed) in dense.items()}


def detect_failing_lanes(attempts: LaneHistory | Iterable[CarrierAttempt], *, now: datetime,
                         config: AnomalyConfig = _DEFAULT) -> list[Detection]:
    """Carriers failing on a lane: failures in the last ``carrier_window_hours``, or the
    shortest longer window up to ``carrier_max_window_hours`` holding ``min_carrier_attempts``
    (a quiet lane is judged over more hours), and in the last ``carrier_long_window_hours`` (a
    carrier failing 40 % of its calls for a day), the most improbable window reported; in at
    least ``min_failing_hours`` different hours (one bad hour is a blip), against the failure
    rates of the ``carrier_baseline_days`` 24-hour blocks before: their median plus spread, or
    their pooled rate where that is higher (a quiet lane's median day has no failure at all).
    The detection's partner is the carrier.

    Usage:
        detect_failing_lanes(LaneHistory(carrier_calls), now=now)
    """
    hist = attempts if isinstance(attempts, LaneHistory) else LaneHistory(attempts)
    end = _hour(now)
    t = int((end - hist._origin) / _HOUR)
    out = []
    for (lane, carrier), (tried, failures, per_hour) in sorted(hist._series.items()):
        longest = max(config.carrier_max_window_hours, *config.carrier_long_window_hours)
        if _between(failures, t - longest, t) < config.min_carrier_failures:
            continue  # too few failures in any window: nothing to judge
        first = next((h for h in range(config.carrier_window_hours, config.carrier_max_window_hours + 1)
                      if _between(tried, t - h, t) >= config.min_carrier_attempts), config.carrier_window_hours)
        best: _Finding | None = None
        for w in (first, *sorted(h for h in config.carrier_long_window_hours if h > first)):
            finding = _failing_lane(lane, carrier, tried, failures, per_hour, t, w, end, config)
            if finding and (best is None or finding.extra["p_value"] < best.extra["p_value"]):
                best = finding
        if best:
            out.append(_emit(best, partner=carrier, document_type=f"lane {lane}",
                             subject=f"lane {lane} via {carrier}", day=end.date()))
    return out


def _failing_lane(lane: str, carrier: str, tried: list[int], failures: list[int], per_hour: list[int],
                  t: int, w: int, end: datetime, config: AnomalyConfig) -> _Finding | None:
    """The failures of the last ``w`` hours against the 24-hour blocks before them."""
    n, failed = _between(tried, t - w, t), _between(failures, t - w, t)
    if n < config.min_carrier_attempts or failed < config.min_carrier_failures:
        return None
    hours = sum(1 for i in range(max(t - w, 0), min(t, len(per_hour))) if per_hour[i])
    if hours < config.min_failing_hours:
        return None
    rates = []
    for j in range(config.carrier_baseline_days):
        a, b = t - w - 24 * (j + 1), t - w - 24 * j
        if a < 0:
            break
        d = _between(tried, a, b)
        if d >= config.min_carrier_attempts:
            rates.append(_between(failures, a, b) / d)
    if len(rates) < config.min_weeks:  # days here: too few judged days to know the lane
        return None
    base = robust_baseline(rates, counts=False, floor=config.rate_floor)
    rate = failed / n
    if rate - base.median < config.min_failure_increase:
        return None
    # the usual rate: the median day plus the spread, or the days' pooled rate if higher (on a
    # quiet lane most days have no failure, so the median day says 0 % where 2 % fail)
    a = max(t - w - 24 * config.carrier_baseline_days, 0)
    pooled = _between(failures, a, t - w) / max(_between(tried, a, t - w), 1)
    p_value = poisson_tail(failed, n * max(base.median + base.spread, pooled))
    if p_value > config.carrier_alpha:
        return None
    spread = max(base.spread, math.sqrt(max(base.median, config.rate_floor) / n))
    z = (rate - base.median) / spread
    overall = f" a day, {pooled * 100:.1f}% of all its calls" if pooled > base.median + base.spread else ""
    return _Finding(
        "failure_rate", "failing", rate, Baseline(base.median, round(spread, 4), base.samples),
        z, end - w * _HOUR, end,
        f"{carrier} failed {failed} of {n} attempts on lane {lane} in the last "
        f"{w} h ({_pct(rate)}); normally {_pct(base.median)} ± "
        f"{_pct(base.spread)}{overall}",
        rate >= 0.5, {"lane": lane, "carrier": carrier, "attempts": n, "count": failed,
                      "p_value": float(f"{p_value:.3g}"), "days": len(rates), "window_hours": w,
                      "usual_rate": round(max(base.median + base.spread, pooled), 4)})
