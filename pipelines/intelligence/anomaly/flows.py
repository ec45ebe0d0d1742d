"""``detect_flow_anomalies``: every check of every flow at ``now``; the error, dead-letter
and acknowledgment-latency checks live here, the volume checks in ``volume``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from statistics import median

from pipelines.exceptions.model import Detection
from pipelines.intelligence.anomaly.history import FlowHistory, _lags, _Series
from pipelines.intelligence.anomaly.model import (
    _DEFAULT,
    _HOUR,
    _WEEK,
    _WEEKDAYS,
    AnomalyConfig,
    FlowPoint,
    _duration,
    _emit,
    _Finding,
    _hour,
    _noun,
    _pct,
)
from pipelines.intelligence.anomaly.stats import (
    _MAD_SCALE,
    Baseline,
    binomial_tail,
    robust_baseline,
)
from pipelines.intelligence.anomaly.volume import _duplicates, _volume

__all__ = ["detect_flow_anomalies"]


def detect_flow_anomalies(history: FlowHistory | Iterable[FlowPoint], *, now: datetime,
                          config: AnomalyConfig = _DEFAULT) -> list[Detection]:
    """Volume, error-rate, dead-letter-rate and ack-latency anomalies of every flow at ``now``.

    Usage:
        detect_flow_anomalies(FlowHistory(points), now=datetime.now(UTC))
    """
    hist = history if isinstance(history, FlowHistory) else FlowHistory(history)
    end = _hour(now)
    out: list[Detection] = []
    for (partner, document_type), series in sorted(hist._series.items()):
        t = int((end - series.origin) / _HOUR)
        if t < config.min_weeks * _WEEK:
            continue  # too little history to know what normal is
        found = _volume(series, partner, document_type, t, end, config)
        found += _rates(series, partner, document_type, t, end, config)
        latency = _latency(series, partner, document_type, t, end, config)
        found += [latency] if latency else []
        resent = _duplicates(series, partner, document_type, t, end, config)
        if resent:  # the resends explain a volume spike: one finding, with the same alert key
            found = [f for f in found if not (f.metric.startswith("volume") and f.direction == "spike")]
            found.append(resent)
        subject = f"{document_type} from {partner}"
        out += [_emit(f, partner=partner, document_type=document_type, subject=subject, day=end.date())
                for f in found]
    return out


def _rates(series: _Series, partner: str, document_type: str, t: int, end: datetime,
           config: AnomalyConfig) -> list[_Finding]:
    """Error and dead-letter rates over the shortest trailing window (from
    ``rate_window_hours``) holding ``rate_min_documents`` and over the last
    ``rate_long_window_hours`` that hold as many, each against the same hours of each earlier
    week; the most improbable window is reported. Documents are those received, new or resent
    (a resent document fails or not like any other). The failures are judged as a binomial count:
    the chance of this many failures among these documents at the baseline rate plus its
    spread, so 3 bad documents in 30 are no spike where 7 are, and a small flow's batch of 15
    invoices with 13 failed is one."""
    first = next((h for h in range(config.rate_window_hours, config.rate_max_window_hours + 1)
                  if series.total(series.sent, t - h, t) >= config.rate_min_documents), None)
    if first is None:
        return []
    windows = (first, *sorted(h for h in config.rate_long_window_hours if first < h <= config.rate_max_window_hours))
    out = []
    for metric, prefix, what in (("error_rate", series.errors, "failed"),
                                 ("dead_letter_rate", series.dead, "went to dead letters")):
        best: _Finding | None = None
        for w in windows:
            found = _rate(series, partner, document_type, t, w, end, metric, prefix, what, config)
            if found and (best is None or found.extra["p_value"] < best.extra["p_value"]):
                best = found
        out += [best] if best else []
    return out


def _rate(series: _Series, partner: str, document_type: str, t: int, w: int, end: datetime,
          metric: str, prefix: list[int], what: str, config: AnomalyConfig) -> _Finding | None:
    n = series.total(series.sent, t - w, t)
    bad = series.total(prefix, t - w, t)
    if n < config.rate_min_documents or bad < config.min_rate_increase * n:
        return None
    rate = bad / n
    weekly = []
    for k in range(1, config.baseline_weeks + 1):
        a, b = t - w - k * _WEEK, t - w - (k - 1) * _WEEK
        if a < 0:
            break
        docs = series.total(series.sent, a, b)
        if docs >= config.rate_min_documents:
            weekly.append(series.total(prefix, a, b) / docs)
    if len(weekly) < config.min_weeks:
        return None
    base = robust_baseline(weekly, counts=False, floor=config.rate_floor)
    if rate - base.median < config.min_rate_increase:
        return None
    # the count of failures against what the baseline rate (plus its spread) allows
    p_value = binomial_tail(bad, n, min(base.median + base.spread, 1.0))
    if p_value > config.rate_alpha:
        return None
    spread = max(base.spread, math.sqrt(max(base.median, config.rate_floor) / n))
    z = (rate - base.median) / spread
    # the window as the message gives it: from its first hour with documents
    first = next(i for i in range(t - w, t) if series.total(series.sent, i, i + 1))
    start = end - (t - first) * _HOUR
    return _Finding(
        metric, "spike", rate, Baseline(base.median, round(spread, 4), base.samples), z, start, end,
        f"{_pct(rate)} of {partner}'s {_noun(document_type)} {what} between {start:%H}:00 and {end:%H}:00 "
        f"({bad} of {n}); normally {_pct(base.median)} ± {_pct(base.spread)}",
        rate >= 0.5, {"documents": n, "count": bad, "p_value": float(f"{p_value:.3g}"),
                      "weeks": len(weekly), "window_hours": w})


def _latency(series: _Series, partner: str, document_type: str, t: int, end: datetime,
             config: AnomalyConfig) -> _Finding | None:
    """Each hour's latency against the same hour of earlier weeks, in log space so that
    night and day hours (often very different) compare like with like; where fewer than
    ``min_weeks`` of those weeks had acknowledgments in that hour (a small flow's hours are
    often empty), against the same hour of each of the ``latency_baseline_days`` days before.
    ``robust_z`` is the median log ratio in units of its standard error. At least
    ``min_latency_points`` hours with acknowledgments are needed, or a single hour of at least
    ``latency_single_documents`` documents (a batch) at ``latency_single_ratio`` × usual."""
    w = config.latency_window_hours
    lags = _lags(series, t - w, t, config)
    recent: list[float] = []
    usual: list[float] = []
    ratios: list[float] = []
    deviations: list[float] = []
    documents = 0
    for i in range(max(t - w, 0), t):
        v = series.latency_at(i)
        same = [u for k in lags if (u := series.latency_at(i - k * _WEEK)) is not None]
        if len(same) < config.min_weeks:
            if v is None:
                continue
            same = [u for d in range(1, config.latency_baseline_days + 1)
                    if (u := series.latency_at(i - 24 * d)) is not None
                    and not (config.holidays and series.day(i - 24 * d) in config.holidays)]
            if len(same) < config.min_weeks:
                continue
        b = median(same)
        deviations += [math.log(u / b) for u in same]
        if v is not None:
            recent.append(v)
            usual.append(b)
            ratios.append(math.log(v / b))
            documents = series.total(series.received, i, i + 1)
    if not ratios:
        return None
    spread = max(_MAD_SCALE * median(abs(d) for d in deviations), 0.1)
    ratio = median(ratios)
    z = ratio / (1.2533 * spread / math.sqrt(len(ratios)))
    if len(ratios) < config.min_latency_points and (
            documents < config.latency_single_documents or ratio < math.log(config.latency_single_ratio)):
        return None
    if z < config.z_threshold or ratio < math.log(config.latency_ratio):
        return None
    observed, typical = median(recent), median(usual)
    base = Baseline(typical, round(max(typical * (math.exp(spread) - 1), config.latency_floor_seconds), 1),
                    len(deviations))
    start = end - w * _HOUR
    return _Finding(
        "ack_latency", "spike", observed, base, z, start, end,
        f"acknowledgments of {partner}'s {_noun(document_type)} took a median "
        f"{_duration(observed)} between {start:%H}:00 and {end:%H}:00 ({math.exp(ratio):.1f}× usual); "
        f"a normal {_WEEKDAYS[end.weekday()]} at these hours {_duration(typical)} ± "
        f"{_duration(base.spread)}",
        z >= 2 * config.z_threshold, {"hours_with_acks": len(ratios), "weeks": len(lags),
                                      "ratio": round(math.exp(ratio), 2)})
