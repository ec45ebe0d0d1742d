"""Flow anomalies: each partner's traffic against its own recent weeks.

Three detectors, each a pure function of plain records and ``now``, each returning
``flow_anomaly`` detections whose message says what is unusual against what baseline:

- ``detect_flow_anomalies``: hourly ``FlowPoint`` rows per partner × document type. An hour
  without a row is an hour without traffic, which is how a flow that stops is seen. Checks,
  against the same weekday and hours of the previous ``baseline_weeks`` weeks:
  the day's count so far ("ACME sent 3 orders by 11:00; a normal Monday has 180 ± 25");
  silence since the last document ("FARMCO has sent no orders since Friday 15:00 (92 h); the
  same hours of a normal week have 8 ± 2.8"); the last 3, 6, 12, 24, 48 and 72 hours for
  drops ("FARMCO sent 6 orders in the 72 h since Sunday 18:00; the same hours of a normal
  week have 24 ± 4.9"), the last 3 hours also for spikes; resends, the documents the hub
  already had (``FlowPoint.duplicates``, apart from the new ones in ``received``), as a
  binomial count against the flow's usual share, counted in its usual bursts ("ACME resent
  45 orders it had already sent between 09:00 and 12:00 (45 of 105); normally 1 in 200
  orders is a resend"); the error and dead-letter rates over the shortest recent window
  holding enough documents; and the acknowledgment latency hour by hour.
- ``detect_late_drift``: a supplier's ship notices against its own earlier lateness.
- ``detect_failing_lanes``: a carrier's failure rate on a lane against its earlier rate.

Baselines are robust: median and MAD (× 1.4826, so it estimates a standard deviation), with
a floor on the spread (``max(MAD, √median, 1)`` for counts) so quiet flows do not alarm on
Poisson noise. A count fires only when every guard agrees: the robust z, a ratio to the
median (at most half for a drop, 1.8× for a spike), a minimum normal count, and a Poisson
tail (small counts are noisier than a normal curve says). A window with no document at all
is judged on the Poisson chance of zero alone, since a MAD from three weeks can be wide.
Silence since the last document is judged on the chance of nothing at all in those hours,
counting the week-to-week spread (a batch that sometimes runs late has a wide one). Counts
are compared with the baseline moved an hour either way, and a drop must have held an hour
ago too, so a batch that runs an hour late is not an anomaly. A flow with fewer than
``min_weeks`` weeks of history is not judged. Rates are tested as counts (a binomial tail
against the baseline rate), so 2 errors in 10 documents are not an error spike. Every
detection carries ``evidence["alert_key"]`` (partner, document type, metric, direction,
day): the hub opens one case per key, not one per pass; a silence or a long-window drop has
the key of any other drop that day. ``AnomalyConfig.holidays`` lists days with no business:
no drop is reported on them, no window that touches one is used as a baseline, and silence
is judged from the end of the last one.

Days and hours are UTC.

Usage:
    history = FlowHistory(points)                 # rows of the last baseline_weeks + 1 weeks
    for found in detect_flow_anomalies(history, now=now):
        open_case_once(found.evidence["alert_key"], found)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any, Literal

from pipelines.exceptions.model import Detection, detection
from pipelines.exceptions.taxonomy import exception_type

__all__ = [
    "AnomalyConfig",
    "Baseline",
    "CarrierAttempt",
    "FlowHistory",
    "FlowPoint",
    "LaneHistory",
    "LatenessObservation",
    "binomial_tail",
    "detect_failing_lanes",
    "detect_flow_anomalies",
    "detect_late_drift",
    "poisson_cdf",
    "poisson_tail",
    "robust_baseline",
]

Direction = Literal["drop", "spike", "missing", "late_drift", "failing"]

_HOUR = timedelta(hours=1)
_WEEK = 168
_MAD_SCALE = 1.4826
_CODE = "flow_anomaly"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NOUNS = {"850": "orders", "855": "order acknowledgments", "856": "ship notices",
          "810": "invoices", "997": "functional acknowledgments", "860": "order changes"}


@dataclass(frozen=True, slots=True)
class FlowPoint:
    """One partner × document type × hour (UTC, truncated to the hour)."""

    partner: str
    document_type: str
    hour: datetime
    received: int
    errors: int = 0
    dead_letters: int = 0
    ack_latency_seconds: float | None = None
    # besides ``received`` (the new documents), documents the hub already had: the same
    # idempotency key, or the same bytes, sent again
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class LatenessObservation:
    """A ship notice (or other promised document) that arrived ``hours_late`` (< 0: early)."""

    partner: str
    at: datetime
    hours_late: float
    document_type: str = "856"


@dataclass(frozen=True, slots=True)
class CarrierAttempt:
    """One call to a carrier (label, pickup, tracking) for a shipment on ``lane``."""

    lane: str
    carrier: str
    at: datetime
    ok: bool


@dataclass(frozen=True, slots=True)
class AnomalyConfig:
    """Thresholds. A check fires only when every condition holds, so each one guards
    against a different kind of noise: the robust z against ordinary variation, the ratios
    against a baseline whose MAD happens to be tiny, the minimum counts against small flows."""

    baseline_weeks: int = 6
    min_weeks: int = 3
    z_threshold: float = 3.5
    drop_window_hours: tuple[int, ...] = (3, 6, 12, 24, 48, 72)
    timing_slack_hours: int = 1
    # a count must also be this improbable under Poisson noise around the median
    count_alpha: float = 1e-4
    # volume drops: the normal count must be worth judging and the observed a real fall; the
    # 12- to 72-hour windows find small flows' outages and drops that last days
    min_day_expected: float = 8.0
    min_window_expected: float = 8.0
    drop_ratio: float = 0.5
    # silence: nothing since the last document, over hours where the chance of nothing at
    # all is at most silence_alpha (see _chance_of_none); judged over at most 6 days
    silence_alpha: float = 1e-2
    silence_max_hours: int = 144
    # volume spikes, judged on the shorter windows only (a day's count wanders too much):
    # at least min_spike_excess documents over the median at Poisson chance spike_alpha, or,
    # where the baseline is steady enough for that to be rare, small_spike_excess at
    # small_spike_alpha (a few documents where there are normally none); the median is taken
    # as at least spike_min_expected, so an hour that is usually empty is not a certain zero
    spike_window_hours: tuple[int, ...] = (3,)
    spike_ratio: float = 1.8
    min_spike_excess: float = 12.0
    spike_z: float = 3.5
    spike_alpha: float = 1e-4
    small_spike_excess: float = 5.0
    small_spike_alpha: float = 1e-6
    spike_min_expected: float = 0.5
    # error and dead-letter rates over the shortest trailing window with enough documents
    rate_window_hours: int = 3
    rate_min_documents: int = 30
    rate_max_window_hours: int = 24
    min_rate_increase: float = 0.10
    rate_floor: float = 0.01
    rate_alpha: float = 1e-5  # binomial chance of this many failures at the usual rate
    # resends: at least min_duplicates documents already seen in a trailing window, at a
    # binomial chance of at most duplicate_alpha against the flow's usual duplicate share
    # (median of its weekly shares plus their spread, at least duplicate_floor), counted in
    # the flow's usual bursts (see _duplicates)
    duplicate_window_hours: tuple[int, ...] = (1, 3, 6)
    min_duplicates: int = 6
    duplicate_floor: float = 0.005
    duplicate_alpha: float = 1e-8
    # acknowledgment latency
    latency_window_hours: int = 6
    latency_ratio: float = 2.5
    min_latency_points: int = 2
    latency_floor_seconds: float = 60.0
    # lateness drift
    lateness_recent_days: float = 3.0
    lateness_baseline_days: float = 42.0
    min_recent_observations: int = 5
    min_baseline_observations: int = 15
    min_lateness_shift_hours: float = 8.0
    lateness_floor_hours: float = 2.0
    # failing lanes: the last 3 hours, or the shortest window up to 12 h with enough calls
    carrier_window_hours: int = 3
    carrier_max_window_hours: int = 12
    carrier_baseline_days: int = 14
    min_carrier_attempts: int = 10
    min_carrier_failures: int = 5
    min_failure_increase: float = 0.2
    carrier_alpha: float = 1e-6  # Poisson chance of this many failures at the usual rate
    min_failing_hours: int = 2  # "keeps failing": failures in this many clock hours of the window
    # days with no business (public holidays): no drop is reported, none is used as baseline
    holidays: frozenset[date] = frozenset()


_DEFAULT = AnomalyConfig()


@dataclass(frozen=True, slots=True)
class Baseline:
    """Median and robust spread of earlier values, and how many there were."""

    median: float
    spread: float
    samples: int

    def z(self, value: float) -> float:
        return (value - self.median) / self.spread


def robust_baseline(values: Sequence[float], *, counts: bool = True, floor: float = 1.0) -> Baseline:
    """Median and ``max(MAD × 1.4826, floor)``; for counts also at least ``√median``.

    Usage:
        >>> robust_baseline([170, 180, 185, 160, 200, 175])
        Baseline(median=177.5, spread=13.3229, samples=6)
    """
    m = median(values)
    spread = max(_MAD_SCALE * median(abs(v - m) for v in values), floor)
    if counts:
        spread = max(spread, math.sqrt(m))
    return Baseline(m, round(spread, 4), len(values))


def poisson_tail(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summed upward in log space (no cancellation)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        return 1.0 - poisson_cdf(k - 1, lam)
    total, i = 0.0, k
    while True:  # terms fall from the first one on, since k > lam
        term = math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1))
        total += term
        if term <= total * 1e-12 or term == 0.0:
            return min(total, 1.0)
        i += 1


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed in log space.

    Usage:
        >>> round(binomial_tail(3, 10, 0.1), 4)
        0.0702
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)

    def term(i: int) -> float:
        return math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                        + i * log_p + (n - i) * log_q)

    if k <= n * p:  # the upper tail holds most of the mass: one minus the lower part
        return max(0.0, 1.0 - sum(term(i) for i in range(k)))
    total = 0.0
    for i in range(k, n + 1):  # terms fall from the first one on, since k > n·p
        t = term(i)
        total += t
        if t <= total * 1e-12:
            break
    return min(total, 1.0)


def poisson_cdf(k: int, lam: float) -> float:
    """P(X ≤ k) for X ~ Poisson(lam), summed in log space."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    return min(1.0, sum(math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1)) for i in range(k + 1)))


class _Series:
    """One flow as hour-indexed arrays from its first row; prefix sums make window counts O(1)."""

    __slots__ = ("dead", "dups", "dups_squared", "errors", "last_seen", "latency", "origin", "received")

    def __init__(self, origin: datetime, rows: Mapping[int, list[FlowPoint]]) -> None:
        self.origin = origin
        size = max(rows) + 1
        received, errors, dead, dups = [0] * size, [0] * size, [0] * size, [0] * size
        self.latency: list[float | None] = [None] * size
        for i, group in rows.items():
            received[i] = sum(p.received for p in group)
            errors[i] = sum(p.errors for p in group)
            dead[i] = sum(p.dead_letters for p in group)
            dups[i] = sum(p.duplicates for p in group)
            timed = [(p.ack_latency_seconds, max(p.received, 1)) for p in group
                     if p.ack_latency_seconds is not None]
            if timed:
                self.latency[i] = sum(s * w for s, w in timed) / sum(w for _, w in timed)
        self.received, self.errors, self.dead = _prefix(received), _prefix(errors), _prefix(dead)
        self.dups, self.dups_squared = _prefix(dups), _prefix([n * n for n in dups])
        # the latest hour at or before each hour that had documents (-1: none yet)
        self.last_seen: list[int] = []
        last = -1
        for i, n in enumerate(received):
            last = i if n else last
            self.last_seen.append(last)

    def latency_at(self, i: int) -> float | None:
        return self.latency[i] if 0 <= i < len(self.latency) else None

    def total(self, prefix: list[int], start: int, end: int) -> int:
        return _between(prefix, start, end)

    def last_before(self, t: int) -> int:
        """The latest hour before ``t`` with documents, -1 if none."""
        if t <= 0:
            return -1
        return self.last_seen[min(t, len(self.last_seen)) - 1]

    def day(self, i: int) -> date:
        return (self.origin + i * _HOUR).date()


def _prefix(values: list[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


def _hour(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone; flows are judged in UTC")
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class FlowHistory:
    """``FlowPoint`` rows indexed per partner × document type. Build it once and call
    ``detect_flow_anomalies`` for many ``now`` values: only hours before ``now`` are read.

    Usage:
        history = FlowHistory(points)
    """

    __slots__ = ("_series",)

    def __init__(self, points: Iterable[FlowPoint]) -> None:
        grouped: dict[tuple[str, str], list[FlowPoint]] = defaultdict(list)
        for p in points:
            grouped[(p.partner, p.document_type)].append(p)
        self._series: dict[tuple[str, str], _Series] = {}
        for key, rows in grouped.items():
            origin = min(_hour(p.hour) for p in rows)
            by_index: dict[int, list[FlowPoint]] = defaultdict(list)
            for p in rows:
                by_index[int((_hour(p.hour) - origin) / _HOUR)].append(p)
            self._series[key] = _Series(origin, by_index)

    def flows(self) -> list[tuple[str, str]]:
        """(partner, document type) pairs, sorted."""
        return sorted(self._series)


def _noun(document_type: str) -> str:
    return _NOUNS.get(document_type, f"{document_type} documents")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class _Finding:
    metric: str
    direction: Direction
    observed: float
    baseline: Baseline
    z: float
    start: datetime
    end: datetime
    message: str
    big: bool
    extra: Mapping[str, Any]


def _emit(f: _Finding, *, partner: str, document_type: str, subject: str, day: date) -> Detection:
    family = "volume" if f.metric.startswith("volume") else f.metric
    direction_key = "drop" if f.direction == "missing" else f.direction  # an outage starts as a drop
    steps = int(f.direction == "missing") + int(f.big)
    severity = exception_type(_CODE).severity.raised(steps) if steps else None
    evidence: dict[str, Any] = {
        "metric": f.metric, "direction": f.direction, "observed": round(f.observed, 4),
        "baseline_median": round(f.baseline.median, 4), "spread": round(f.baseline.spread, 4),
        "robust_z": round(f.z, 2), "baseline_samples": f.baseline.samples,
        "window": {"start": f.start.isoformat(), "end": f.end.isoformat()},
        **f.extra,
        "recommended_action": "investigate_flow",
        "alert_key": f"{partner}|{document_type}|{family}|{direction_key}|{day.isoformat()}",
    }
    return detection(_CODE, subject, f.message, severity=severity, partner=partner, evidence=evidence)


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


def _touches_holiday(series: _Series, start: int, end: int, holidays: frozenset[date]) -> bool:
    """Whether the hours ``[start, end)`` touch a day with no business."""
    if not holidays or end <= start:
        return False
    first, last = series.day(start), series.day(end - 1)
    return any(first + timedelta(days=d) in holidays for d in range((last - first).days + 1))


def _after_holidays(series: _Series, start: int, end: int, holidays: frozenset[date]) -> int:
    """``start``, or the first hour after the last holiday within ``[start, end)``."""
    if not _touches_holiday(series, start, end, holidays):
        return start
    day = series.day(end - 1)
    while day not in holidays:
        day -= timedelta(days=1)
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    return max(start, int((midnight - series.origin) / _HOUR))


def _lags(series: _Series, start: int, end: int, config: AnomalyConfig) -> list[int]:
    """Week lags whose window ``[start, end)`` lies in the flow's history and touches no holiday."""
    weeks = range(1, min(config.baseline_weeks, start // _WEEK) + 1)
    if not config.holidays:
        return list(weeks)
    return [k for k in weeks if not _touches_holiday(series, start - k * _WEEK, end - k * _WEEK, config.holidays)]


def _shifted(series: _Series, start: int, end: int, lags: list[int], shift: int,
             *, end_only: bool) -> list[int]:
    """Counts of ``[start, end)`` in each lag week, moved ``shift`` hours (only the end for
    the day so far, whose start stays at midnight)."""
    a = 0 if end_only else shift
    return [series.total(series.received, start - k * _WEEK + a, end - k * _WEEK + shift) for k in lags]


def _is_drop(observed: int, base: Baseline, min_expected: float, config: AnomalyConfig) -> bool:
    if base.median < min_expected or observed > config.drop_ratio * base.median:
        return False
    if observed == 0:  # silence: improbable enough on its own, however noisy a 3-week MAD is
        return poisson_cdf(0, base.median) <= config.count_alpha
    return base.z(observed) <= -config.z_threshold and poisson_cdf(observed, base.median) <= config.count_alpha


def _is_spike(observed: int, base: Baseline, earlier: list[int], config: AnomalyConfig) -> bool:
    if (observed < config.spike_ratio * base.median or base.z(observed) < config.spike_z
            or observed <= max(earlier)):
        return False
    excess = observed - base.median
    if excess < min(config.min_spike_excess, config.small_spike_excess):
        return False
    p_value = poisson_tail(observed, max(base.median, config.spike_min_expected))
    if excess >= config.min_spike_excess:
        return p_value <= config.spike_alpha
    return p_value <= config.small_spike_alpha


def _low(series: _Series, start: int, end: int, lags: list[int], min_expected: float,
         config: AnomalyConfig, *, end_only: bool) -> bool:
    """A drop now and ``timing_slack_hours`` ago, each against baselines moved as far either
    way: a batch that runs an hour late, cut in two by the window's edge, is no drop."""
    slack = config.timing_slack_hours
    for ago in range(slack + 1):
        a, b = start - (0 if end_only else ago), end - ago
        if b <= a:
            return False
        observed = series.total(series.received, a, b)
        if not all(_is_drop(observed, robust_baseline(_shifted(series, a, b, lags, s, end_only=end_only)),
                            min_expected, config) for s in range(-slack, slack + 1)):
            return False
    return True


def _since(series: _Series, i: int, end: datetime) -> str:
    """When hour ``i`` was: "since 10:00" today, "since Friday 10:00" on an earlier day."""
    at = series.origin + i * _HOUR
    return f"since {at:%H}:00" if at.date() == end.date() else f"since {_WEEKDAYS[at.weekday()]} {at:%H}:00"


def _chance_of_none(base: Baseline) -> float:
    """The chance of no document at all in hours whose earlier weeks had ``base``: the count
    is taken as negative binomial with the baseline's spread as its standard deviation (a
    Poisson count when the spread is no wider than Poisson noise), around the median less its
    standard error (a median of a few weeks can be high by chance)."""
    mean = base.median - base.spread / math.sqrt(base.samples)
    if mean <= 0:
        return 1.0
    variance = base.spread ** 2
    if variance <= mean:
        return math.exp(-mean)
    shape = mean * mean / (variance - mean)
    return math.exp(shape * math.log(mean / variance))


def _silence(series: _Series, partner: str, document_type: str, t: int, end: datetime,
             config: AnomalyConfig) -> _Finding | None:
    """No document since the last one, over hours that normally hold so many that the chance
    of none at all (``_chance_of_none``) is at most ``silence_alpha``, against the baseline
    moved an hour either way (a morning or a batch an hour late is no silence). Holidays are
    skipped: the hours judged start after the last one."""
    start = max(series.last_before(t) + 1, t - config.silence_max_hours)
    start = _after_holidays(series, start, t, config.holidays)
    if start >= t:
        return None
    slack = config.timing_slack_hours
    lags = _lags(series, start - slack, t + slack, config)
    if len(lags) < config.min_weeks:
        return None
    chances = []
    # the end moves an hour either way; the start (the hour after the last document) only
    # later, as if earlier weeks ran that much later than today
    for a in range(slack + 1):
        for s in range(-slack, slack + 1):
            if start + a >= t + s:
                return None  # too short to judge with the baseline moved
            counts = [series.total(series.received, start + a - k * _WEEK, t + s - k * _WEEK) for k in lags]
            chances.append(_chance_of_none(robust_baseline(counts)))
            if chances[-1] > config.silence_alpha:
                return None
    base = robust_baseline(_shifted(series, start, t, lags, 0, end_only=True))
    hours = t - start
    return _Finding(
        "volume_silence", "missing", 0, base, base.z(0), end - hours * _HOUR, end,
        f"{partner} has sent no {_noun(document_type)} {_since(series, start, end)} ({hours} h); "
        f"the same hours of a normal week have {_fmt(base.median)} ± {_fmt(base.spread)}",
        True, {"weeks": len(lags), "window_hours": hours, "p_value": float(f"{max(chances):.3g}")})


def _volume(series: _Series, partner: str, document_type: str, t: int, end: datetime,
            config: AnomalyConfig) -> list[_Finding]:
    """At most one drop (or silence) and one spike. A finding must hold against the baseline
    moved up to ``timing_slack_hours`` either way, so a batch that runs an hour late (or a
    morning that starts an hour early) is not an anomaly; a drop must also have held an hour
    ago."""
    weekday = _WEEKDAYS[end.weekday()]
    noun = _noun(document_type)
    quiet = end.date() in config.holidays
    slack = range(-config.timing_slack_hours, config.timing_slack_hours + 1)
    low: _Finding | None = None
    spike: _Finding | None = None
    # (a) the day so far, against the same weekday's count by the same hour
    day_start = t - end.hour
    lags = _lags(series, day_start - config.timing_slack_hours, t + config.timing_slack_hours, config)
    if end.hour and not quiet and len(lags) >= config.min_weeks:
        observed = series.total(series.received, day_start, t)
        base = robust_baseline(_shifted(series, day_start, t, lags, 0, end_only=True))
        if (_is_drop(observed, base, config.min_day_expected, config)
                and _low(series, day_start, t, lags, config.min_day_expected, config, end_only=True)):
            z = base.z(observed)
            low = _Finding(
                "volume_day", "missing" if observed == 0 else "drop", observed, base, z,
                end - end.hour * _HOUR, end,
                f"{partner} sent {observed or 'no'} {noun} by {end:%H}:00; a normal {weekday} has "
                f"{_fmt(base.median)} ± {_fmt(base.spread)}",
                z <= -2 * config.z_threshold, {"weeks": len(lags)})
    # (b) no document at all since the last one
    if low is None and not quiet:
        low = _silence(series, partner, document_type, t, end, config)
    # (c) trailing windows, against the same hours of the week, both directions; the count
    # against the unmoved baseline first, which rules most windows out cheaply
    for w in sorted(set(config.drop_window_hours) | set(config.spike_window_hours)):
        lags = _lags(series, t - w - config.timing_slack_hours, t + config.timing_slack_hours, config)
        if len(lags) < config.min_weeks:
            continue
        observed = series.total(series.received, t - w, t)
        counts = _shifted(series, t - w, t, lags, 0, end_only=False)
        base = robust_baseline(counts)
        is_low = (low is None and not quiet and w in config.drop_window_hours
                  and _is_drop(observed, base, config.min_window_expected, config)
                  and not _touches_holiday(series, t - w, t, config.holidays)
                  and _low(series, t - w, t, lags, config.min_window_expected, config, end_only=False))
        is_spike = (spike is None and w in config.spike_window_hours
                    and _is_spike(observed, base, counts, config)
                    and all(_is_spike(observed, robust_baseline(moved), moved, config)
                            for moved in (_shifted(series, t - w, t, lags, s, end_only=False)
                                          for s in slack if s)))
        if not (is_low or is_spike):
            continue
        z = base.z(observed)
        start = end - w * _HOUR
        span = (f"between {start:%H}:00 and {end:%H}:00" if w < 24 else
                f"in the {w} h {_since(series, t - w, end)}")
        normal = (f"a normal {weekday} has {_fmt(base.median)} ± {_fmt(base.spread)}" if w < 24 else
                  f"the same hours of a normal week have {_fmt(base.median)} ± {_fmt(base.spread)}")
        extra = {"weeks": len(lags), "window_hours": w}
        if is_low:
            low = _Finding("volume_window", "missing" if observed == 0 else "drop", observed, base, z,
                           start, end, f"{partner} sent {observed or 'no'} {noun} {span}; {normal}",
                           z <= -2 * config.z_threshold, extra)
        if is_spike:
            ratio = f" ({observed / base.median:.1f}×)" if base.median else ""
            spike = _Finding("volume_window", "spike", observed, base, z, start, end,
                             f"{partner} sent {observed} {noun} {span}; {normal}{ratio}",
                             z >= 2 * config.z_threshold, extra)
    return [f for f in (low, spike) if f]


def _rates(series: _Series, partner: str, document_type: str, t: int, end: datetime,
           config: AnomalyConfig) -> list[_Finding]:
    """Error and dead-letter rates over the shortest trailing window (from
    ``rate_window_hours``) holding ``rate_min_documents``, against each earlier week's rate.
    The failures are judged as a binomial count: the chance of this many failures among these
    documents at the baseline rate plus its spread, so 3 bad documents in 30 are no spike
    where 7 are."""
    w = next((h for h in range(config.rate_window_hours, config.rate_max_window_hours + 1)
              if series.total(series.received, t - h, t) >= config.rate_min_documents), None)
    if w is None:
        return []
    n = series.total(series.received, t - w, t)
    start = end - w * _HOUR
    noun = _noun(document_type)
    out = []
    for metric, prefix, what in (("error_rate", series.errors, "failed"),
                                 ("dead_letter_rate", series.dead, "went to dead letters")):
        bad = series.total(prefix, t - w, t)
        rate = bad / n
        if rate < config.min_rate_increase:
            continue
        weekly = []
        for k in range(1, config.baseline_weeks + 1):
            a, b = t - w - k * _WEEK, t - w - (k - 1) * _WEEK
            if a < 0:
                break
            docs = series.total(series.received, a, b)
            if docs >= config.rate_min_documents:
                weekly.append(series.total(prefix, a, b) / docs)
        if len(weekly) < config.min_weeks:
            continue
        base = robust_baseline(weekly, counts=False, floor=config.rate_floor)
        # the count of failures against what the baseline rate (plus its spread) allows
        p_value = binomial_tail(bad, n, min(base.median + base.spread, 1.0))
        spread = max(base.spread, math.sqrt(max(base.median, config.rate_floor) / n))
        z = (rate - base.median) / spread
        if p_value > config.rate_alpha or rate - base.median < config.min_rate_increase:
            continue
        out.append(_Finding(
            metric, "spike", rate, Baseline(base.median, round(spread, 4), base.samples), z, start, end,
            f"{_pct(rate)} of {partner}'s {noun} {what} between {start:%H}:00 and {end:%H}:00 "
            f"({bad} of {n}); normally {_pct(base.median)} ± {_pct(base.spread)}",
            rate >= 0.5, {"documents": n, "count": bad, "p_value": float(f"{p_value:.3g}"),
                          "weeks": len(weekly)}))
    return out


def _duplicates(series: _Series, partner: str, document_type: str, t: int, end: datetime,
                config: AnomalyConfig) -> _Finding | None:
    """Documents sent again: over each trailing window of ``duplicate_window_hours``, the
    duplicates among the documents received as a binomial count against the flow's usual
    share (one share per each of the ``baseline_weeks`` weeks before the window: their median
    plus their spread, at least ``duplicate_floor``). Resends come in bursts (a timeout
    resends a whole batch), so both counts are divided by the usual burst size first: the
    duplicates of an hour that has any, weighted by themselves (their sum of squares over
    their sum), the median over the weeks. The most improbable window is reported.

    Its metric is a volume metric (``volume_duplicates``) with the key of a volume spike: a
    resend storm is a spike whose cause the hub knows, and it replaces the plain spike."""
    best: tuple[float, int, int, int, Baseline, int, int, float] | None = None
    for w in config.duplicate_window_hours:
        bad = series.total(series.dups, t - w, t)
        if bad < config.min_duplicates:
            continue
        n = series.total(series.received, t - w, t) + bad
        shares, bursts, docs, resent = [], [], 0, 0
        for k in range(1, config.baseline_weeks + 1):
            a, b = t - w - k * _WEEK, t - w - (k - 1) * _WEEK
            if a < 0:
                break
            week_dups = series.total(series.dups, a, b)
            week_docs = series.total(series.received, a, b) + week_dups
            if week_docs:
                shares.append(week_dups / week_docs)
                if week_dups:
                    bursts.append(series.total(series.dups_squared, a, b) / week_dups)
                docs, resent = docs + week_docs, resent + week_dups
        if len(shares) < config.min_weeks:
            continue
        base = robust_baseline(shares, counts=False, floor=config.duplicate_floor)
        burst = max(median(bursts), 1.0) if bursts else 1.0
        p_value = binomial_tail(math.floor(bad / burst), math.ceil(n / burst), min(base.median + base.spread, 1.0))
        if p_value <= config.duplicate_alpha and (best is None or p_value < best[0]):
            best = (p_value, w, bad, n, base, docs, resent, burst)
    if best is None:
        return None
    p_value, w, bad, n, base, docs, resent, burst = best
    start = end - w * _HOUR
    noun = _noun(document_type)
    usual = (f"normally 1 in {docs / resent:.0f} {noun} is a resend" if resent else
             f"none of its {docs} {noun} of the {base.samples} weeks before was a resend")
    rate = bad / n
    return _Finding(
        "volume_duplicates", "spike", rate, base, (rate - base.median) / base.spread, start, end,
        f"{partner} resent {bad} {noun} it had already sent between {start:%H}:00 and {end:%H}:00 "
        f"({bad} of {n}); {usual}",
        rate >= 0.5, {"documents": n, "count": bad, "p_value": float(f"{p_value:.3g}"), "weeks": base.samples,
                      "window_hours": w, "usual_burst": round(burst, 2), "baseline_documents": docs,
                      "baseline_duplicates": resent})


def _latency(series: _Series, partner: str, document_type: str, t: int, end: datetime,
             config: AnomalyConfig) -> _Finding | None:
    """Each hour's latency against the same hour of earlier weeks, in log space so that
    night and day hours (often very different) compare like with like. ``robust_z`` is the
    median log ratio in units of its standard error."""
    w = config.latency_window_hours
    lags = _lags(series, t - w, t, config)
    recent: list[float] = []
    usual: list[float] = []
    ratios: list[float] = []
    deviations: list[float] = []
    for i in range(max(t - w, 0), t):
        same = [v for k in lags if (v := series.latency_at(i - k * _WEEK)) is not None]
        if len(same) < config.min_weeks:
            continue
        b = median(same)
        deviations += [math.log(v / b) for v in same]
        v = series.latency_at(i)
        if v is not None:
            recent.append(v)
            usual.append(b)
            ratios.append(math.log(v / b))
    if len(ratios) < config.min_latency_points:
        return None
    spread = max(_MAD_SCALE * median(abs(d) for d in deviations), 0.1)
    ratio = median(ratios)
    z = ratio / (1.2533 * spread / math.sqrt(len(ratios)))
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
        self._origin = min((h for rows in hourly.values() for h in rows), default=datetime(1970, 1, 1, tzinfo=UTC))
        # per lane × carrier: prefix sums of attempts and failures, and failures per hour
        self._series: dict[tuple[str, str], tuple[list[int], list[int], list[int]]] = {}
        for key, rows in hourly.items():
            size = int((max(rows) - self._origin) / _HOUR) + 1
            tried, failed = [0] * size, [0] * size
            for h, (n, f) in rows.items():
                i = int((h - self._origin) / _HOUR)
                tried[i], failed[i] = n, f
            self._series[key] = (_prefix(tried), _prefix(failed), failed)


def _between(prefix: list[int], start: int, end: int) -> int:
    """Sum over hours ``[start, end)`` from prefix sums; hours after the last row are zero."""
    last = len(prefix) - 1
    return prefix[min(max(end, 0), last)] - prefix[min(max(start, 0), last)]


def detect_failing_lanes(attempts: LaneHistory | Iterable[CarrierAttempt], *, now: datetime,
                         config: AnomalyConfig = _DEFAULT) -> list[Detection]:
    """Carriers failing on a lane: failures in the last ``carrier_window_hours``, or the
    shortest longer window up to ``carrier_max_window_hours`` holding ``min_carrier_attempts``
    (a quiet lane is judged over more hours), in at least ``min_failing_hours`` different hours
    (one bad hour is a blip), against the failure rates of the ``carrier_baseline_days``
    24-hour blocks before. The detection's partner is the carrier.

    Usage:
        detect_failing_lanes(LaneHistory(carrier_calls), now=now)
    """
    hist = attempts if isinstance(attempts, LaneHistory) else LaneHistory(attempts)
    end = _hour(now)
    t = int((end - hist._origin) / _HOUR)
    out = []
    for (lane, carrier), (tried, failures, per_hour) in sorted(hist._series.items()):
        w = next((h for h in range(config.carrier_window_hours, config.carrier_max_window_hours + 1)
                  if _between(tried, t - h, t) >= config.min_carrier_attempts), config.carrier_window_hours)
        split = end - w * _HOUR
        n, failed = _between(tried, t - w, t), _between(failures, t - w, t)
        hours = sum(1 for i in range(max(t - w, 0), min(t, len(per_hour))) if per_hour[i])
        if n < config.min_carrier_attempts or failed < config.min_carrier_failures or hours < config.min_failing_hours:
            continue
        rates = []
        for j in range(config.carrier_baseline_days):
            a, b = t - w - 24 * (j + 1), t - w - 24 * j
            if a < 0:
                break
            d = _between(tried, a, b)
            if d >= config.min_carrier_attempts:
                rates.append(_between(failures, a, b) / d)
        if len(rates) < config.min_weeks:  # days here: too few judged days to know the lane
            continue
        base = robust_baseline(rates, counts=False, floor=config.rate_floor)
        rate = failed / n
        p_value = poisson_tail(failed, n * (base.median + base.spread))
        spread = max(base.spread, math.sqrt(max(base.median, config.rate_floor) / n))
        z = (rate - base.median) / spread
        if p_value > config.carrier_alpha or rate - base.median < config.min_failure_increase:
            continue
        finding = _Finding(
            "failure_rate", "failing", rate, Baseline(base.median, round(spread, 4), base.samples),
            z, split, end,
            f"{carrier} failed {failed} of {n} attempts on lane {lane} in the last "
            f"{w} h ({_pct(rate)}); normally {_pct(base.median)} ± "
            f"{_pct(base.spread)}",
            rate >= 0.5, {"lane": lane, "carrier": carrier, "attempts": n, "count": failed,
                          "p_value": float(f"{p_value:.3g}"), "days": len(rates), "window_hours": w})
        out.append(_emit(finding, partner=carrier, document_type=f"lane {lane}",
                         subject=f"lane {lane} via {carrier}", day=end.date()))
    return out
