"""The records the anomaly checks read, their thresholds, and how a finding becomes a
``flow_anomaly`` detection (its message helpers and ``alert_key``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

from pipelines.exceptions.model import Detection, detection
from pipelines.exceptions.taxonomy import exception_type
from pipelines.intelligence.anomaly.stats import Baseline

__all__ = ["AnomalyConfig", "CarrierAttempt", "FlowPoint", "LatenessObservation"]


Direction = Literal["drop", "spike", "missing", "late_drift", "failing"]

_HOUR = timedelta(hours=1)


_WEEK = 168


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
    # (at least rate_min_documents), and the last 6, 12 and 24 hours: the most improbable
    rate_window_hours: int = 3
    rate_min_documents: int = 10
    rate_max_window_hours: int = 24
    rate_long_window_hours: tuple[int, ...] = (6, 12, 24)
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
    # or resends that go on: resends in at least min_duplicate_hours of the hours with
    # documents of a trailing window of duplicate_hours_windows (at least min_duplicates
    # resends in all), at a binomial chance of at most duplicate_hours_alpha against the share
    # of the flow's hours with documents that had a resend in the baseline_weeks before (at
    # least duplicate_hours_floor), the resends at least min_duplicate_hours_share of the
    # window's documents; a timeout's burst is one hour, however many it resends. Every length
    # from 3 to 12 hours: with only 3, 6 and 12 a storm of 7 or 8 hours is cut short by the
    # 6-hour window and watered down by the quiet hours the 12-hour one adds
    duplicate_hours_windows: tuple[int, ...] = tuple(range(3, 13))
    min_duplicate_hours: int = 3
    min_duplicate_hours_share: float = 0.25
    duplicate_hours_floor: float = 0.02
    duplicate_hours_alpha: float = 1e-5
    # acknowledgment latency
    latency_window_hours: int = 6
    latency_ratio: float = 2.5
    min_latency_points: int = 2
    # an hour that few earlier weeks had acknowledgments in: the same hour of these days before
    latency_baseline_days: int = 28
    # a single hour with acknowledgments is enough for a batch this big this much slower
    latency_single_documents: int = 10
    latency_single_ratio: float = 4.0
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
    # and the last 6, 12 and 24 hours, the most improbable window reported: a carrier failing
    # 40 % of its calls for a day shows over the day more than over any 3 hours
    carrier_long_window_hours: tuple[int, ...] = (6, 12, 24)
    carrier_baseline_days: int = 14
    min_carrier_attempts: int = 10
    min_carrier_failures: int = 5
    min_failure_increase: float = 0.2
    carrier_alpha: float = 1e-6  # Poisson chance of this many failures at the usual rate
    min_failing_hours: int = 2  # "keeps failing": failures in this many clock hours of the window
    # the hub's sends to a partner failing (its system down): over the trailing window within
    # send_max_window_hours that makes them most improbable, at least min_send_failures failed
    # sends, min_send_failure_share of the window's sends, mostly failing in
    # min_send_failing_hours clock hours (a blip of an hour or two is no outage), at a binomial
    # chance of send_alpha against the partner's usual rate (see detect_failing_sends)
    send_max_window_hours: int = 24
    send_baseline_days: int = 14
    min_send_block: int = 10
    min_send_failures: int = 5
    min_send_failure_share: float = 0.5
    min_send_failing_hours: int = 3
    send_rate_floor: float = 0.01
    send_alpha: float = 1e-8
    # days with no business (public holidays): no drop is reported, none is used as baseline
    holidays: frozenset[date] = frozenset()


_DEFAULT = AnomalyConfig()


def _hour(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone; flows are judged in UTC")
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


K = TypeVar("K")


def _dense_hours(hourly: Mapping[K, Mapping[datetime, list[int]]]
                 ) -> tuple[datetime, dict[K, tuple[list[int], list[int]]]]:
    """Two counts per key and hour (attempts and failures, sends and failures) as one list per
    count and key, indexed by hours since the earliest hour of any key (that hour, returned)."""
    origin = min((h for rows in hourly.values() for h in rows), default=datetime(1970, 1, 1, tzinfo=UTC))
    out: dict[K, tuple[list[int], list[int]]] = {}
    for key, rows in hourly.items():
        size = int((max(rows) - origin) / _HOUR) + 1
        first, second = [0] * size, [0] * size
        for h, (a, b) in rows.items():
            i = int((h - origin) / _HOUR)
            first[i], second[i] = a, b
        out[key] = (first, second)
    return origin, out


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
